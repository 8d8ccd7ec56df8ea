"""Terminal chat: type a question, get quoted answers; reads plain lines when piped."""

from __future__ import annotations

from typing import TextIO

from bot.render_text import render_result
from index.engine import Answering
from index.errors import ArticlebotError

_QUIT = {"quit", "exit", ":q", "/quit", "/exit"}


def chat(engine: Answering, stdin: TextIO, stdout: TextIO) -> int:
    interactive = stdin.isatty() and stdout.isatty()
    status = engine.status()
    if interactive:
        stdout.write(
            f"articlebot: {status.articles} articles indexed. Ask a question "
            "(empty line or 'quit' to leave).\n"
        )
    while True:
        if interactive:
            stdout.write("\n? ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        question = line.strip()
        if question.lower() in _QUIT or (interactive and not question):
            break
        if not question:
            continue
        try:
            result = engine.ask(question)
        except ArticlebotError as exc:
            stdout.write(f"articlebot: {exc}\n")
            continue
        if not interactive:
            stdout.write(f"? {question}\n")
        stdout.write(render_result(result, ansi=interactive) + "\n")
        if not interactive:
            stdout.write("\n")
        stdout.flush()
    return 0

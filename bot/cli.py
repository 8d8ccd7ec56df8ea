"""`articlebot`: the command line, the machine-readable face of the engine."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from config import Settings, SettingsError, load_settings
from index.errors import ArticlebotError
from index.models import SHARED_COLLECTION, Progress

log = logging.getLogger("articlebot")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="index folder (default ./data)")
    common.add_argument("--model", help="sentence-transformers model name or path")

    parser = argparse.ArgumentParser(
        prog="articlebot",
        description="Answer questions about articles by quoting the passages that answer them.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build or inspect the index")
    index_sub = index.add_subparsers(dest="index_command", required=True)
    build = index_sub.add_parser("build", parents=[common], help="(re)index articles")
    build.add_argument(
        "sources", nargs="*", help="folders, .jsonl files or URLs (default: settings, seeds/)"
    )
    index_sub.add_parser("status", parents=[common], help="what the index holds")

    search = sub.add_parser("search", parents=[common], help="JSON results for questions")
    search.add_argument("question", nargs="?")
    search.add_argument("-k", type=_results, default=None, help="results per question (1-10)")
    search.add_argument("--json", action="store_true", help="JSON output (always on with --batch)")
    search.add_argument("--batch", type=Path, help="JSONL file of {id, question}")
    search.add_argument(
        "--no-threshold", action="store_true", help="return results even below the match threshold"
    )

    ask = sub.add_parser("ask", parents=[common], help="answer one question, for people")
    ask.add_argument("question")
    ask.add_argument("-k", type=_results, default=None, help="results (1-10)")

    sub.add_parser("chat", parents=[common], help="terminal chat over the index")

    ev = sub.add_parser("eval", parents=[common], help="retrieval quality on a question set")
    ev.add_argument("dataset", type=Path)
    ev.add_argument("--compare", action="store_true", help="also dense-only and lexical-only")
    ev.add_argument("--no-match", action="store_true", help="split-half decline check")
    ev.add_argument("--limit", type=int, default=None, help="use only the first N questions")
    ev.add_argument(
        "--articles",
        type=int,
        default=None,
        help="index only the first N articles (and ask their questions)",
    )

    sub.add_parser(
        "start",
        parents=[common],
        help="index seeds/ if needed, then the Discord bot when DISCORD_TOKEN is set, else chat",
    )
    feeds = sub.add_parser("feeds", help="follow news feeds")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--collection",
        default=None,
        help="collection (default: the shared one; a server's is guild:<id>)",
    )
    feed_add = feeds_sub.add_parser("add", parents=[common, where], help="follow a feed")
    feed_add.add_argument("url", help="a feed, or a site page that links to one")
    feed_add.add_argument("--channel", type=int, default=None, help="Discord channel for headlines")
    feed_remove = feeds_sub.add_parser(
        "remove", parents=[common, where], help="stop following a feed, drop its articles"
    )
    feed_remove.add_argument("feed", help="its URL, or its id from `feeds list`")
    feed_list = feeds_sub.add_parser("list", parents=[common, where], help="followed feeds")
    feed_list.add_argument("--json", action="store_true", help="JSON lines")
    feed_poll = feeds_sub.add_parser(
        "poll", parents=[common, where], help="poll every due feed once (for cron)"
    )
    feed_poll.add_argument("--force", action="store_true", help="poll every feed, due or not")

    sub.add_parser("run", parents=[common], help="run the Discord bot")
    sync = sub.add_parser("sync", parents=[common], help="register slash commands with Discord")
    sync.add_argument("--guild", type=int, default=None, help="one server only (instant)")
    sync.add_argument("--clear", action="store_true", help="remove the commands instead")
    return parser


@contextmanager
def _progress_bar() -> Iterator[Progress | None]:
    """A tqdm bar per build stage on a terminal; nothing when output is piped."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="", leave=False)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.close()


def _engine(settings: Settings, need_index: bool = False) -> Any:
    from index.engine import Engine

    if need_index:
        # Fail before the model loads (seconds) when there is nothing to search.
        Engine.require_index(settings.data_dir)
    return Engine(settings)


def _results(value: str) -> int:
    k = int(value)
    if not 1 <= k <= 10:
        raise argparse.ArgumentTypeError("must be between 1 and 10")
    return k


def hit_json(hit: Any) -> dict[str, Any]:
    return {
        "article_id": hit.article.id,
        "title": hit.article.title,
        "url": hit.article.url,
        "date": hit.article.date,
        "source": hit.article.source,
        "char_start": hit.char_start,
        "char_end": hit.char_end,
        "quote_start": hit.quote_start,
        "quote_end": hit.quote_end,
        "text": hit.text,
        "score": round(hit.score, 6),
        "also_in": [a.id for a in hit.also_in],
    }


def _cmd_build(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render_text import render_build

    engine = _engine(settings)
    with _progress_bar() as progress:
        report = engine.rebuild(args.sources or None, progress)
    print(render_build(report))
    return 0 if report.articles else 1


def _cmd_status(settings: Settings) -> int:
    from index.engine import Engine

    status = Engine.status_of(settings.data_dir)
    print(f"Index in {status.data_dir} ({status.generation})")
    print(f"  model:    {status.model}")
    print(f"  articles: {status.articles}  passages: {status.passages}")
    print(f"  built:    {status.built_at}")
    for name, count in sorted(status.collections.items()):
        print(f"  collection {name}: {count} articles")
    return 0


def _cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    engine = _engine(settings, need_index=True)
    searcher = engine.searcher()
    k = args.k or settings.top_k
    if args.batch is not None:
        questions = []
        with args.batch.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    questions.append((record.get("id", number), str(record["question"])))
                except (json.JSONDecodeError, KeyError, AttributeError):
                    raise ArticlebotError(
                        f'{args.batch} line {number}: expected {{"id", "question"}}'
                    ) from None
    elif args.question:
        questions = [(None, args.question)]
    else:
        raise ArticlebotError("give a question, or --batch FILE")
    for qid, question in questions:
        result = searcher.search(question, k, apply_threshold=not args.no_threshold)
        if args.json or args.batch is not None:
            out = {
                "id": qid,
                "matched": result.matched,
                "results": [hit_json(h) for h in result.hits],
            }
            print(json.dumps(out, ensure_ascii=False))
        else:
            from bot.render_text import render_result

            print(render_result(result, ansi=sys.stdout.isatty()))
    return 0


def _cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render_text import render_result

    engine = _engine(settings, need_index=True)
    result = engine.ask(args.question, args.k)
    print(render_result(result, ansi=sys.stdout.isatty()))
    return 0 if result.matched else 3


def _cmd_chat(settings: Settings) -> int:
    from bot.chat import chat
    from index.engine import ensure_index

    engine = _engine(settings)
    with _progress_bar() as progress:
        ensure_index(engine, progress)
    return chat(engine, sys.stdin, sys.stdout)


def _cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from bot.eval_report import run_eval

    return run_eval(settings, args.dataset, args.compare, args.no_match, args.limit, args.articles)


def _cmd_feeds(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render_text import feed_line, render_build, render_poll

    engine = _engine(settings)
    collection = args.collection or SHARED_COLLECTION
    if args.feeds_command == "add":
        info = engine.add_feed(collection, args.url, args.channel)
        print(f"Following {info.title or info.url}; its entries come in at the next poll.")
        print(feed_line(info))
        return 0
    if args.feeds_command == "remove":
        info = engine.remove_feed(collection, args.feed)
        print(f"Stopped following {info.title or info.url}.")
        if info.items:
            with _progress_bar() as progress:
                print(render_build(engine.rebuild(progress=progress)))
        return 0
    if args.feeds_command == "list":
        feeds = engine.list_feeds(args.collection)
        if args.json:
            for info in feeds:
                print(json.dumps(dataclasses.asdict(info), ensure_ascii=False))
        elif not feeds:
            print("No feeds are followed.")
        else:
            print("\n".join(feed_line(info) for info in feeds))
        return 0
    report = engine.poll_feeds(args.collection, force=args.force)
    print(render_poll(report))
    return 1 if any(r.error for r in report.feeds) else 0


def _cmd_start(settings: Settings) -> int:
    if settings.discord_token:
        return _cmd_run(settings)
    print("DISCORD_TOKEN is not set: starting the terminal chat instead of the Discord bot.")
    return _cmd_chat(settings)


def _cmd_run(settings: Settings) -> int:
    from bot.discord_app.main import run_bot

    return run_bot(settings)


def _cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    from bot.discord_app.main import sync_commands

    return sync_commands(settings, args.guild, args.clear)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(data_dir=args.data_dir, model=args.model)
    except SettingsError as exc:
        print(f"articlebot: {exc}", file=sys.stderr)
        return 2
    from bot.logs import setup_logging

    setup_logging(settings.log_level, [settings.discord_token or ""])
    try:
        if args.command == "index":
            if args.index_command == "build":
                return _cmd_build(settings, args)
            return _cmd_status(settings)
        handlers = {
            "search": lambda: _cmd_search(settings, args),
            "ask": lambda: _cmd_ask(settings, args),
            "chat": lambda: _cmd_chat(settings),
            "eval": lambda: _cmd_eval(settings, args),
            "start": lambda: _cmd_start(settings),
            "run": lambda: _cmd_run(settings),
            "sync": lambda: _cmd_sync(settings, args),
            "feeds": lambda: _cmd_feeds(settings, args),
        }
        return handlers[args.command]()
    except ArticlebotError as exc:
        print(f"articlebot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

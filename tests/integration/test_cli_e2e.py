"""`articlebot` end to end through `bot.cli.main`, with the real model and real indexes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from index.encode.embedder import Embedder

pytestmark = pytest.mark.integration

KIRBY_QUESTION = "Who said the targets were chosen because the facilities were used by militants?"
SEED_ID = "000_a635d8d7d57b0b11.txt"
RESULT_KEYS = {
    "article_id",
    "title",
    "url",
    "date",
    "char_start",
    "char_end",
    "quote_start",
    "quote_end",
    "text",
    "score",
}


@pytest.fixture
def data_dir(
    cli_env: Path, shared_model: Embedder, seeds: Path, capsys: pytest.CaptureFixture[str]
) -> Path:
    """The seeds indexed through `articlebot index build`."""
    folder = cli_env / "data"
    assert main(["index", "build", str(seeds), "--data-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Indexed 1 articles into ")
    assert "(6 embedded, 0 reused; 1 added, 0 changed, 0 removed)" in out
    return folder


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def check_result(result: dict[str, Any], seed_text: str) -> None:
    assert set(result) >= RESULT_KEYS
    start, end = result["char_start"], result["char_end"]
    quote_start, quote_end = result["quote_start"], result["quote_end"]
    assert seed_text[start:end] == result["text"]
    assert start <= quote_start < quote_end <= end
    assert isinstance(result["score"], float)


def test_build_again_and_status(
    data_dir: Path, seeds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "build", str(seeds), "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out == "Index is up to date: 1 articles, 6 passages.\n"

    assert main(["index", "status", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Index in {data_dir} (gen-")
    assert "model:    bundled:all-MiniLM-L6-v2" in out
    assert "articles: 1  passages: 6" in out


def test_build_reports_bad_inputs(
    cli_env: Path, shared_model: Embedder, seeds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = cli_env / "broken.txt"
    broken.write_bytes(b"\x00\x01\x02binary")
    assert main(["index", "build", str(seeds), str(broken), "--data-dir", "data"]) == 0
    out = capsys.readouterr().out
    assert "Skipped 1 input(s):" in out
    assert f"  - {broken}: binary file, not text" in out


def test_search_json(data_dir: Path, seeds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", KIRBY_QUESTION, "--json", "-k", "2", "--data-dir", str(data_dir)]) == 0
    [line] = json_lines(capsys.readouterr().out)
    assert line["id"] is None
    results = line["results"]
    assert isinstance(results, list) and 1 <= len(results) <= 2
    seed_text = (seeds / SEED_ID).read_text(encoding="utf-8")
    for result in results:
        check_result(result, seed_text)
    first = results[0]
    assert first["article_id"] == SEED_ID
    assert first["date"] == "2021-06-28"
    assert first["url"] is None
    quote = seed_text[first["quote_start"] : first["quote_end"]]
    assert "The targets were selected" in quote and "Kirby said" in quote


def test_search_batch(
    data_dir: Path, seeds: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = cli_env / "questions.jsonl"
    batch.write_text(
        json.dumps({"id": "q1", "question": KIRBY_QUESTION})
        + "\n\n"
        + json.dumps({"id": 2, "question": "Which militia groups used the sites?"})
        + "\n"
        + json.dumps({"id": "q3", "question": "What is the best recipe for banana bread?"})
        + "\n",
        encoding="utf-8",
    )
    assert main(["search", "--batch", str(batch), "-k", "3", "--data-dir", str(data_dir)]) == 0
    lines = json_lines(capsys.readouterr().out)
    assert [line["id"] for line in lines] == ["q1", 2, "q3"]
    seed_text = (seeds / SEED_ID).read_text(encoding="utf-8")
    for line in lines[:2]:
        assert line["results"]
        for result in line["results"]:
            check_result(result, seed_text)
    assert "Kata'ib Hezbollah" in lines[1]["results"][0]["text"]
    assert lines[2]["results"] == []


def test_search_batch_with_a_bad_line(
    data_dir: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = cli_env / "questions.jsonl"
    batch.write_text('{"id": 1, "question": "Who?"}\n{"id": 2}\n', encoding="utf-8")
    assert main(["search", "--batch", str(batch), "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err == f'articlebot: {batch} line 2: expected {{"id", "question"}}\n'


def test_ask(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", KIRBY_QUESTION, "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "1. U.S. strikes Iran-backed militia sites on Iraq-Syria border after drone attacks"
        " — 2021-06-28\n"
    )
    # Not a terminal: the quote is marked with ** instead of ANSI bold.
    assert '**"The targets were selected' in " ".join(out.split())
    assert "\x1b[" not in out

    assert (
        main(["ask", "What is the best recipe for banana bread?", "--data-dir", str(data_dir)]) == 3
    )
    out = capsys.readouterr().out
    assert out.startswith("No passage in the collection answers that question.")
    assert "U.S. strikes Iran-backed militia sites" in out


def test_ask_without_an_index(
    cli_env: Path, shared_model: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = cli_env / "empty"
    assert main(["ask", KIRBY_QUESTION, "--data-dir", str(missing)]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"articlebot: No index in {missing}. "
        f"Run `articlebot index build --data-dir {missing}` first.\n"
    )
    assert captured.out == ""


def test_chat_reads_piped_lines(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{KIRBY_QUESTION}\n\n   \nquit\nnever asked\n"))
    assert main(["chat", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"? {KIRBY_QUESTION}\n1. U.S. strikes Iran-backed militia sites")
    assert "The targets were selected" in out
    # "quit" ends the chat: the line after it is never asked.
    assert "never asked" not in out


def test_chat_builds_the_index_on_first_run(
    cli_env: Path,
    shared_model: Embedder,
    seeds: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARTICLEBOT_SOURCES", str(seeds))
    monkeypatch.setattr("sys.stdin", io.StringIO("Which militia groups used the sites?\n"))
    assert main(["chat", "--data-dir", "fresh"]) == 0
    assert "Kata'ib Hezbollah" in capsys.readouterr().out
    assert (cli_env / "fresh" / "CURRENT").is_file()


def test_build_of_a_folder_without_articles(
    cli_env: Path, shared_model: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "empty").mkdir()
    assert main(["index", "build", str(cli_env / "empty"), "--data-dir", "data"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_feeds_poll_prints_what_it_added_and_then_nothing(
    cli_env: Path, shared_model: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.feed_site import FeedSite, rss20, stories

    data = ["--data-dir", str(cli_env / "data")]
    with FeedSite() as site:
        news = list(stories("cli", 2))
        for story in news:
            site.put_story(story)
        url = site.put("/rss", "application/rss+xml", rss20("Gazette", "s", news, site.base))
        assert main(["feeds", "add", url, *data]) == 0
        capsys.readouterr()

        assert main(["feeds", "poll", *data]) == 0
        out = capsys.readouterr().out
        assert out.startswith("Gazette: 2 new\n")
        assert f"  + {news[0].title} — Harbour Gazette" in out
        assert "Indexed " in out

        assert main(["feeds", "poll", "--force", *data]) == 0
        assert capsys.readouterr().out == "Gazette: unchanged\n"

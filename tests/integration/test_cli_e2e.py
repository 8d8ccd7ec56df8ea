"""`articlebot` end to end through `bot.cli.main`, with the real model and real indexes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.dates_text import date_label
from index.encode.embedder import Embedder

pytestmark = pytest.mark.integration

KIRBY_QUESTION = "Who said the targets were chosen because the facilities were used by militants?"
SEED_ID = "000_a635d8d7d57b0b11.txt"
RESULT_KEYS = {
    "article_id",
    "title",
    "url",
    "link",
    "source",
    "date",
    "char_start",
    "char_end",
    "quote_start",
    "quote_end",
    "text",
    "quote",
    "score",
    "confidence",
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
    assert "(17 embedded, 0 reused; 1 added, 0 changed, 0 removed)" in out
    return folder


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def check_result(result: dict[str, Any], seed_text: str) -> None:
    assert set(result) >= RESULT_KEYS
    start, end = result["char_start"], result["char_end"]
    quote_start, quote_end = result["quote_start"], result["quote_end"]
    assert seed_text[start:end] == result["text"]
    assert start <= quote_start < quote_end <= end
    assert seed_text[quote_start:quote_end] == result["quote"]
    assert isinstance(result["score"], float)
    assert isinstance(result["confidence"], float)


def test_build_again_and_status(
    data_dir: Path, seeds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "build", str(seeds), "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out == "Index is up to date: 1 articles, 17 passages.\n"

    assert main(["index", "status", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Index in {data_dir} (gen-")
    assert "model:    bundled:all-MiniLM-L6-v2" in out
    assert "articles: 1  passages: 17" in out


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
    assert first["date"] == "2024-07-21"
    assert first["url"] is None
    quote = seed_text[first["quote_start"] : first["quote_end"]]
    assert quote.startswith("“Targets were chosen because these facilities")


def test_search_batch(
    data_dir: Path, seeds: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = cli_env / "questions.jsonl"
    batch.write_text(
        json.dumps({"id": "q1", "question": KIRBY_QUESTION})
        + "\n\n"
        + json.dumps(
            {"id": 2, "question": "How many militants were killed in the US warplane strikes?"}
        )
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
    assert "Syrian Observatory" in lines[1]["results"][0]["text"]
    assert lines[2]["results"] == []
    assert lines[2]["nearest"][0]["article_id"] == SEED_ID


def test_search_batch_goes_on_past_a_bad_line(
    data_dir: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = cli_env / "questions.jsonl"
    # A lone surrogate is what the model's tokenizer refuses outright (TypeError): the
    # searcher cleans it away before encoding.
    batch.write_text(
        '{"id": 1, "question": "Who?"}\n{"id": 2}\n'
        + json.dumps({"id": 3, "question": "\ud800" + KIRBY_QUESTION + "\x00"})
        + "\n",
        encoding="utf-8",
    )
    assert main(["search", "--batch", str(batch), "--data-dir", str(data_dir)]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = json_lines(captured.out)
    assert [line["id"] for line in lines] == [1, 2, 3]
    assert lines[1] == {"id": 2, "error": 'line 2: "question" must be a string'}
    assert lines[2]["matched"] is True
    assert lines[2]["results"][0]["article_id"] == SEED_ID


def test_ask(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", KIRBY_QUESTION, "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "1. The United States is attacking Iranian-backed militants along the Iraq-Syria border"
        f" — {date_label('2024-07-21')}\n"
    )
    # Not a terminal: the quote is marked with ** instead of ANSI bold.
    assert "**“Targets were chosen" in " ".join(out.split())
    assert "\x1b[" not in out

    assert (
        main(["ask", "What is the best recipe for banana bread?", "--data-dir", str(data_dir)]) == 3
    )
    out = capsys.readouterr().out
    assert out.startswith("No passage in the collection answers that question.")
    assert "The United States is attacking Iranian-backed militants" in out


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
    assert out.startswith(f"? {KIRBY_QUESTION}\n1. The United States is attacking")
    assert "Targets were chosen" in out
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
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("How many militants were killed in the US warplane strikes?\n")
    )
    assert main(["chat", "--data-dir", "fresh"]) == 0
    # Words, not lines: the terminal face wraps the quote wherever its width falls.
    assert "Syrian Observatory" in " ".join(capsys.readouterr().out.split())
    assert (cli_env / "fresh" / "CURRENT").is_file()


def test_build_of_a_folder_without_articles(
    cli_env: Path, shared_model: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "empty").mkdir()
    assert main(["index", "build", str(cli_env / "empty"), "--data-dir", "data"]) == 1
    assert "Traceback" not in capsys.readouterr().err


DATED = [
    {
        "id": f"ferry-{day}",
        "title": f"Merrow ferry cancels crossings ({outlet})",
        "date": f"2024-07-{day:02d}",
        "source": outlet,
        "url": f"https://news.example/ferry-{day}",
        "text": f"The Merrow ferry company cancelled {n} crossings to the islands because of "
        "storms. Passengers were offered refunds.",
    }
    for day, outlet, n in (
        (1, "Coastline Daily", 4),
        (10, "Velmar Gazette", 9),
        (20, "Coastline Daily", 14),
    )
]


def test_search_filters_and_json_fields(
    cli_env: Path, shared_model: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    source = cli_env / "dated.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in DATED) + "\n", encoding="utf-8")
    folder = str(cli_env / "data")
    assert main(["index", "build", str(source), "--data-dir", folder]) == 0
    capsys.readouterr()
    question = "How many crossings did the Merrow ferry company cancel?"

    def ids(*options: str) -> list[str]:
        assert main(["search", question, "--json", "-k", "3", "--data-dir", folder, *options]) == 0
        [line] = json_lines(capsys.readouterr().out)
        return [r["article_id"] for r in line["results"]]

    assert sorted(ids()) == ["ferry-1", "ferry-10", "ferry-20"]
    assert ids("--outlet", "velmar gazette") == ["ferry-10"]
    assert sorted(ids("--since", "2024-07-10")) == ["ferry-10", "ferry-20"]
    assert ids("--until", "2024-07-09") == ["ferry-1"]
    assert ids("--sort", "newest") == ["ferry-20", "ferry-10", "ferry-1"]
    assert ids("--as-of", "2024-07-15", "--sort", "newest") == ["ferry-10", "ferry-1"]

    assert (
        main(
            [
                "search",
                question,
                "--json",
                "-k",
                "1",
                "--data-dir",
                folder,
                "--outlet",
                "Velmar Gazette",
            ]
        )
        == 0
    )
    [result] = json_lines(capsys.readouterr().out)[0]["results"]
    assert (result["date"], result["source"]) == ("2024-07-10", "Velmar Gazette")
    assert result["link"].startswith("https://news.example/ferry-10#:~:text=")

    batch = cli_env / "q.jsonl"
    batch.write_text(
        json.dumps({"id": "a", "question": f"{question[:-1]} last week?", "as_of": "2024-07-16"})
        + "\n"
        + json.dumps(
            {"id": "b", "question": question, "outlet": "Coastline Daily", "until": "2024-07-05"}
        )
        + "\n",
        encoding="utf-8",
    )
    assert main(["search", "--batch", str(batch), "-k", "1", "--data-dir", folder]) == 0
    first, second = json_lines(capsys.readouterr().out)
    assert [r["article_id"] for r in first["results"]] == ["ferry-10"]
    assert [r["article_id"] for r in second["results"]] == ["ferry-1"]


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

"""Hostile input: every class seen to break the readers is one file's problem alone, reported
with a reason, and whatever is read from it is safe to store."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from index.build import EncodesText, build_index
from index.errors import InputError
from index.ingest import readers
from index.ingest.collections import MAX_LISTED_PROBLEMS
from index.ingest.readers import parse_bytes, read_sources
from index.models import ReadReport
from index.store.layout import DataDir
from index.store.segments import SegmentedStore, read_state
from index.text.passages import PassagePlan
from tests.unit.ingest.hostile import BODY, HOSTILE, Hostile, alias_bomb

LIMIT = 1_000_000


def read_folder(folder: Path, **limits: int) -> ReadReport:
    return read_sources(
        [str(folder)],
        max_bytes=limits.get("max_bytes", LIMIT),
        max_collection_bytes=limits.get("max_collection_bytes", 50_000_000),
    )


def stored(data_dir: Path, report: ReadReport, embedder: EncodesText) -> SegmentedStore:
    build_index(data_dir, report.articles, embedder, PassagePlan(), problems=report.problems)
    return SegmentedStore(data_dir, read_state(DataDir(data_dir).current()))


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_each_hostile_file_is_reported_and_the_good_article_beside_it_is_indexed(
    hostile: Hostile, tmp_path: Path, hash_embedder: EncodesText
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / hostile.name).write_bytes(hostile.data)
    (folder / "good.txt").write_text(f"Harbour wall\n\n{BODY}\n", encoding="utf-8")

    report = read_folder(folder)
    store = stored(tmp_path / "data", report, hash_embedder)

    theirs = [p for p in report.problems if p.origin.startswith(str(folder / hostile.name))]
    if hostile.reason is None:
        assert theirs == []
    else:
        assert any(hostile.reason in f"{p.origin}: {p.reason}" for p in theirs), theirs
    assert len(report.problems) == len(theirs)
    ids = [ref.id for ref in store.article_refs()]
    assert "good.txt" in ids
    assert len(ids) == 1 + hostile.articles


def test_front_matter_values_are_text_whatever_yaml_would_make_of_them() -> None:
    digits = "7" * 5000
    data = f"---\nid: {digits}\ndate: 2024-13-45\ntitle: 2024-07-21\n---\n{BODY}\n".encode()
    (parsed,), problems = parse_bytes(data, "a.md", "a.md", "a.md")
    assert problems == []
    assert parsed.article.id == digits
    # "2024-13-45" is shaped like a date but is none: no date rather than a wrong one.
    assert parsed.article.date is None
    assert parsed.article.title == "2024-07-21"


def test_a_real_date_in_front_matter_is_kept() -> None:
    data = f"---\ndate: 2024-07-21 10:30:00\n---\n{BODY}\n".encode()
    (parsed,), _ = parse_bytes(data, "a.md", "a.md", "a.md")
    assert parsed.article.date == "2024-07-21T10:30:00"


def test_alias_bomb_is_refused_without_expanding() -> None:
    bomb = alias_bomb()
    assert len(bomb) < 1024
    with pytest.raises(InputError, match=r"aliases \(\*name\) are not allowed"):
        parse_bytes(bomb, "bomb.md", "bomb.md", "bomb.md")


def test_heading_with_a_long_run_of_spaces_is_read_whole() -> None:
    heading = "# Harbour wall" + " " * 200_000 + "repaired  ##  "
    text = f"{heading}\n\n{BODY}\n"
    (parsed,), _ = parse_bytes(text.encode(), "a.md", "a.md", "a.md")
    assert parsed.article.title == "Harbour wall" + " " * 200_000 + "repaired"
    assert (parsed.excluded[0].start, parsed.excluded[0].end) == (0, len(heading))


def test_lone_surrogates_become_replacement_characters_one_for_one(
    tmp_path: Path, hash_embedder: EncodesText
) -> None:
    record = '{"id": "a\\ud800", "title": "T\\udfff", "text": "Harbour \\udc80 wall. More."}'
    (parsed,), _ = parse_bytes(record.encode(), "a.json", "a.json", "a.json")
    original = json.loads(record)["text"]

    assert parsed.article.id == "a\ufffd"
    assert parsed.article.title == "T\ufffd"
    assert parsed.article.text == original.replace("\udc80", "\ufffd")
    assert len(parsed.article.text) == len(original)
    report = ReadReport(articles=[parsed])
    store = stored(tmp_path / "data", report, hash_embedder)
    assert store.article_text(0) == parsed.article.text


def test_file_names_that_are_not_utf8_reach_the_index_readably(
    tmp_path: Path, hash_embedder: EncodesText
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.txt")
    (folder / name).write_text(f"Harbour wall\n\n{BODY}\n", encoding="utf-8")
    (folder / os.fsdecode(b"bad\xff.docx")).write_bytes(b"x")

    report = read_folder(folder)
    store = stored(tmp_path / "data", report, hash_embedder)

    assert [r.id for r in store.article_refs()] == ["caf\ufffd.txt"]
    (skipped,) = report.problems
    assert skipped.origin.endswith("bad\ufffd.docx")
    skipped.origin.encode("utf-8")


def test_an_unexpected_error_in_one_reader_is_that_files_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the HTML reader")

    monkeypatch.setattr(readers, "parse_html", broken)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.html").write_text("<p>x</p>", encoding="utf-8")
    (folder / "b.txt").write_text(f"Harbour wall\n\n{BODY}\n", encoding="utf-8")

    with caplog.at_level(logging.ERROR):
        report = read_folder(folder)

    assert [p.article.id for p in report.articles] == ["b.txt"]
    (bad,) = report.problems
    assert bad.origin == str(folder / "a.html")
    assert bad.reason == "unexpected error while reading (RuntimeError: a bug in the HTML reader)"
    (logged,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged.exc_info is not None


# --- collection files ----------------------------------------------------------------------


def jsonl_line(i: int, sentences: int = 4) -> str:
    """One article of `sentences` sentences of long words: many bytes for few tokens, so a
    multi-megabyte file builds in seconds."""
    words = [f"{i:06d}{j:04d}" + "abcdefghijklmnopqrstuvwxyz" * 3 for j in range(sentences * 10)]
    text = " ".join(
        " ".join(words[k : k + 10]).capitalize() + "." for k in range(0, len(words), 10)
    )
    return json.dumps({"id": f"story-{i}", "title": f"Story {i}", "text": text})


def test_jsonl_is_limited_per_article_and_bad_lines_are_reported_by_number(
    tmp_path: Path,
) -> None:
    lines = [jsonl_line(i) for i in range(5)]
    lines[1] = json.dumps({"id": "huge", "text": "x " * 5_000})
    lines[3] = '{"text": "unterminated'
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = read_sources([str(path)], max_bytes=5_000, max_collection_bytes=1_000_000)

    assert [p.article.id for p in report.articles] == ["story-0", "story-2", "story-4"]
    assert [(p.origin, p.reason) for p in report.problems] == [
        (f"{path} line 2", f"article too large ({len(lines[1])} bytes, limit 5000)"),
        (f"{path} line 4", "invalid JSON (Unterminated string starting at column 10)"),
    ]


def test_a_line_without_an_end_longer_than_the_limit_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "tail.jsonl"
    path.write_bytes((jsonl_line(0) + "\n").encode() + b'{"text": "' + b"y" * 50_000)
    report = read_sources([str(path)], max_bytes=5_000, max_collection_bytes=1_000_000)
    assert [p.article.id for p in report.articles] == ["story-0"]
    assert [p.reason for p in report.problems] == ["article too large (50010 bytes, limit 5000)"]


def test_collection_file_has_its_own_bound(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(jsonl_line(i) for i in range(50)), encoding="utf-8")
    report = read_sources([str(path)], max_bytes=1_000, max_collection_bytes=5_000)
    assert report.articles == []
    (refused,) = report.problems
    assert refused.reason.startswith("collection file too large (")


def test_json_list_is_limited_per_article(tmp_path: Path) -> None:
    records = [{"id": "small", "text": BODY}, {"id": "big", "text": "x " * 2_000}]
    path = tmp_path / "list.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    report = read_sources([str(path)], max_bytes=1_000, max_collection_bytes=1_000_000)
    assert [p.article.id for p in report.articles] == ["small"]
    assert [(p.origin, p.reason) for p in report.problems] == [
        (f"{path} item 2", "article too large (4000 bytes, limit 1000)")
    ]


def test_a_file_of_bad_lines_lists_the_first_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_text("not json\n" * 1_000, encoding="utf-8")
    report = read_sources([str(path)], max_bytes=1_000, max_collection_bytes=1_000_000)
    listed = MAX_LISTED_PROBLEMS
    assert len(report.problems) == listed + 1
    assert report.problems[-1].reason == f"{1_000 - listed} more bad lines not listed"


def test_jsonl_over_5_mb_is_built_with_every_article(
    tmp_path: Path, hash_embedder: EncodesText
) -> None:
    path = tmp_path / "news.jsonl"
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        while fh.tell() < 5_500_000:
            fh.write(jsonl_line(count, sentences=40) + "\n")
            count += 1
    assert path.stat().st_size > 5_000_000

    # The per-article limit is far below the file's size: the file is not refused as a whole.
    report = read_sources([str(path)], max_bytes=100_000, max_collection_bytes=100_000_000)
    build = build_index(tmp_path / "data", report.articles, hash_embedder, PassagePlan())

    assert report.problems == []
    assert build.articles == count

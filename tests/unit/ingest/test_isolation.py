"""The reading child process: a job that fails, hangs, eats memory or kills its process costs
that job an `InputError`, and the next job is served by a fresh child.

Jobs are functions of this module: the child imports them by name, as it imports the readers.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.errors import InputError
from index.ingest.collections import Item
from index.ingest.isolation import ReadBounds, ReaderProcess
from index.ingest.readers import ReadLimits, iter_bytes, read_sources, split_items
from index.models import SourceProblem
from tests.unit.ingest.hostile import BODY, alias_bomb

BOUNDS = ReadBounds(seconds=20.0, memory_bytes=1024 * 2**20)


def hangs() -> Iterator[Item]:
    time.sleep(60)
    yield SourceProblem("never", "reached")


def eats_memory() -> Iterator[Item]:
    hoard = bytearray(2 * 1024 * 2**20)
    yield SourceProblem("never", f"reached with {len(hoard)} bytes")


def dies() -> Iterator[Item]:
    os._exit(3)
    yield SourceProblem("never", "reached")


def has_a_bug() -> Iterator[Item]:
    logging.getLogger("index.ingest.test").warning("about to fail")
    raise ZeroDivisionError("a bug in a reader")
    yield SourceProblem("never", "reached")


def one_problem(n: int) -> Iterator[Item]:
    yield SourceProblem(f"job {n}", "fine")


def text_file(name: str, data: bytes) -> functools.partial[Iterator[Item]]:
    return functools.partial(iter_bytes, data, name, name, name, "shared", 1_000_000)


def test_articles_come_back_as_read_in_this_process() -> None:
    data = f"Harbour wall\n\n{BODY}\n".encode()
    with ReaderProcess(BOUNDS) as reader:
        articles, problems = split_items(reader.run(text_file("a.txt", data), "a.txt"))
    assert problems == []
    assert articles == split_items(text_file("a.txt", data)())[0]


def test_a_refusal_keeps_its_reason_and_the_child() -> None:
    with ReaderProcess(BOUNDS) as reader:
        with pytest.raises(InputError, match=r"^bomb\.md: bad YAML front matter \(aliases"):
            list(reader.run(text_file("bomb.md", alias_bomb()), "bomb.md"))
        assert list(reader.run(functools.partial(one_problem, 2), "two")) == [
            SourceProblem("job 2", "fine")
        ]


@pytest.mark.parametrize(
    ("job", "seconds", "reason"),
    [
        (hangs, 3.0, r"^slow: reading took longer than 3 s; skipped$"),
        (eats_memory, 60.0, r"^greedy: needs more than 512 MB to read; skipped$"),
        (dies, 60.0, r"^fatal: the reader stopped while reading it \(exit code 3\)$"),
    ],
    ids=["time", "memory", "death"],
)
def test_a_job_out_of_bounds_is_refused_and_the_next_is_served(
    job: functools.partial[Iterator[Item]], seconds: float, reason: str
) -> None:
    origin = reason.split(":")[0].lstrip("^")
    # The time bound also covers the child importing this module for the job.
    with ReaderProcess(ReadBounds(seconds, memory_bytes=512 * 2**20)) as reader:
        with pytest.raises(InputError, match=reason):
            list(reader.run(job, origin))
        # A job of the readers alone: the fresh child has them imported already.
        articles, _ = split_items(reader.run(text_file("a.txt", f"A\n\n{BODY}".encode()), "a"))
        assert [a.article.text for a in articles] == [f"A\n\n{BODY}"]


def test_an_unexpected_error_in_the_child_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bug = r"unexpected error while reading \(ZeroDivision"
    with (
        caplog.at_level(logging.WARNING),
        ReaderProcess(BOUNDS) as reader,
        pytest.raises(InputError, match=bug),
    ):
        list(reader.run(has_a_bug, "buggy"))
    messages = [r.getMessage() for r in caplog.records]
    assert "about to fail" in messages[0]
    assert "Traceback" in messages[1] and "a bug in a reader" in messages[1]


def test_a_build_reads_every_file_in_one_child(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"{i}.txt").write_text(f"Story {i}\n\n{BODY}\n", encoding="utf-8")
    (tmp_path / "bomb.md").write_bytes(alias_bomb())
    limits = ReadLimits(1_000_000, 1_000_000)
    with ReaderProcess(BOUNDS) as reader:
        report = read_sources(
            [str(tmp_path)],
            max_bytes=limits.max_article_bytes,
            max_collection_bytes=limits.max_collection_bytes,
            run=reader.run,
        )
    assert [p.article.id for p in report.articles] == ["0.txt", "1.txt", "2.txt"]
    assert [p.origin for p in report.problems] == [str(tmp_path / "bomb.md")]

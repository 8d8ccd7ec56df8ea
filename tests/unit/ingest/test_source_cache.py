"""An unchanged source file is not parsed again; a changed one is."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from index.ingest.readers import Job, in_process, read_sources
from index.models import ParsedArticle, SourceProblem
from index.store.source_cache import SourceCache


class CountingRunner:
    def __init__(self) -> None:
        self.runs: list[str] = []

    def __call__(self, job: Job, origin: str) -> Iterable[ParsedArticle | SourceProblem]:
        self.runs.append(origin)
        return in_process(job, origin)


def write_collection(path: Path, titles: list[str]) -> None:
    lines = [json.dumps({"id": t, "title": t, "text": f"{t} happened on Tuesday."}) for t in titles]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    source = tmp_path / "news.jsonl"
    write_collection(source, ["harbour", "library"])
    cache = SourceCache(tmp_path / "data")
    runner = CountingRunner()
    first = read_sources([str(source)], max_bytes=1 << 20, run=runner, cache=cache)
    again = read_sources([str(source)], max_bytes=1 << 20, run=runner, cache=cache)
    assert runner.runs == [str(source)]
    assert again.articles == first.articles and len(first.articles) == 2

    write_collection(source, ["harbour", "library", "bridge"])
    changed = read_sources([str(source)], max_bytes=1 << 20, run=runner, cache=cache)
    assert runner.runs == [str(source)] * 2
    assert [p.article.id for p in changed.articles] == ["harbour", "library", "bridge"]

    # Same size, new mtime: read again.
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    read_sources([str(source)], max_bytes=1 << 20, run=runner, cache=cache)
    assert len(runner.runs) == 3


def test_a_file_with_problems_is_read_every_time(tmp_path: Path) -> None:
    source = tmp_path / "news.jsonl"
    source.write_text('{"id": "a", "title": "A", "text": "Fine."}\n{not json\n', encoding="utf-8")
    cache = SourceCache(tmp_path / "data")
    runner = CountingRunner()
    for _ in range(2):
        report = read_sources([str(source)], max_bytes=1 << 20, run=runner, cache=cache)
        assert report.problems
    assert len(runner.runs) == 2

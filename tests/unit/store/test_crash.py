"""SIGKILL at any point of an update or a merge leaves a whole state: the one before or the
one after, loadable, and the next update goes on from it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index.build import EncodesText, build_index
from index.query.searcher import Searcher, SearchTuning
from tests.unit.store.crash_child import AFTER
from tests.unit.store.test_segments import PLAN, article

ROOT = Path(__file__).resolve().parents[3]
BEFORE = [article(n) for n in range(6)]


def run_child(data_dir: Path, action: str, limit: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.unit.store.crash_child", str(data_dir), action, str(limit)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def live_ids(data_dir: Path, embedder: EncodesText) -> set[str]:
    searcher = Searcher.open(data_dir, embedder, SearchTuning(min_score=0.0))
    try:
        assert searcher.search("harbour council vote", k=3, apply_threshold=False).hits
        return set(searcher._article_rows)
    finally:
        searcher.close()


@pytest.mark.parametrize("action", ["update", "merge"])
def test_a_kill_at_any_fsync_leaves_the_state_before_or_after(
    tmp_path: Path, hash_embedder: EncodesText, action: str
) -> None:
    template = tmp_path / "template"
    build_index(template, BEFORE, hash_embedder, PLAN)
    if action == "merge":
        build_index(template, [*BEFORE, article(60)], hash_embedder, PLAN)
        build_index(template, [*BEFORE[1:], article(60), article(61)], hash_embedder, PLAN)
    before = live_ids(template, hash_embedder)
    complete = tmp_path / "complete"
    shutil.copytree(template, complete)
    finished = run_child(complete, action, 0)
    assert finished.returncode == 0, finished.stderr
    after = live_ids(complete, hash_embedder)
    if action == "update":
        assert after == {p.article.id for p in AFTER}
    else:
        assert after == before
    points = int(finished.stdout.strip())
    assert points > 5
    for limit in range(1, points + 1, 2):
        data_dir = tmp_path / f"killed-{limit}"
        shutil.copytree(template, data_dir)
        killed = run_child(data_dir, action, limit)
        assert killed.returncode == -9, killed.stderr
        assert live_ids(data_dir, hash_embedder) in (before, after)
        # The next update starts from whichever state is live and cleans up after the crash.
        build_index(data_dir, AFTER, hash_embedder, PLAN)
        assert live_ids(data_dir, hash_embedder) == {p.article.id for p in AFTER}
        assert not list((data_dir / "segments").glob(".tmp-*"))

"""`articlebot index merge [--all] [--json]` and the worker's merge job: segments merged into
one on demand, answers unchanged, nothing done when nothing is due."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from config import load_settings
from index.build import build_index, update_index
from index.encode.slot import EmbedderSlot
from index.jobs import JobDesk
from index.store.jobs import JobState
from index.store.layout import DataDir
from index.store.segments import read_state
from index.updating import Updater
from index.worker import Worker
from tests.unit.conftest import HashEmbedder
from tests.unit.store.test_segments import PLAN, answers, article, assert_same


def segmented(data_dir: Path, embedder: HashEmbedder) -> None:
    """Three segments, the first with deletions."""
    build_index(data_dir, [article(n) for n in range(6)], embedder, PLAN)
    update_index(data_dir, embedder, PLAN, add=[article(n) for n in range(6, 9)], remove={"a1"})
    update_index(data_dir, embedder, PLAN, add=[article(9), article(2, version=1)])


def test_merge_all_makes_one_segment_that_answers_the_same(
    cli_env: Path, hash_embedder: HashEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = cli_env / "data"
    segmented(data_dir, hash_embedder)
    before = answers(data_dir, hash_embedder)

    assert main(["index", "merge", "--all", "--json", "--data-dir", str(data_dir)]) == 0

    report = json.loads(capsys.readouterr().out)
    assert (report["merged"], report["retrained"]) == (3, False)
    assert report["dropped"] > 0 and report["reason"] == "asked to merge everything"
    state = read_state(DataDir(data_dir).current())
    assert len(state.segments) == 1 and not state.segments[0].deleted
    assert report["generation"] == DataDir(data_dir).current().name
    assert_same(answers(data_dir, hash_embedder), before)


def test_merge_runs_the_policy_and_says_when_nothing_is_due(
    cli_env: Path, hash_embedder: HashEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = cli_env / "data"
    segmented(data_dir, hash_embedder)

    assert main(["index", "merge", "--data-dir", str(data_dir)]) == 0
    # The first segment lost a third of its passages: the policy rewrites it alone.
    assert "mostly deleted" in capsys.readouterr().out
    live = DataDir(data_dir).current()
    assert main(["index", "merge", "--data-dir", str(data_dir)]) == 0

    assert capsys.readouterr().out.startswith("Nothing to merge")
    assert DataDir(data_dir).current() == live
    assert len(read_state(live).segments) == 3


def test_merge_without_an_index_is_one_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "merge", "--data-dir", str(cli_env / "none")]) == 1
    assert "No index" in capsys.readouterr().err


def test_the_worker_merges_as_a_job(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    data_dir = tmp_path / "data"
    segmented(data_dir, hash_embedder)
    settings = load_settings(environ={}, env_file=None, data_dir=data_dir, sources=[])
    worker = Worker(settings, Updater(settings, EmbedderSlot(settings.model, hash_embedder)))
    desk = JobDesk(worker.updater.stores.jobs())
    job = desk.merge(everything=True)

    assert worker.run_one()

    done = desk.look(job).job
    assert done.state is JobState.DONE
    assert desk.result(done)["merge"]["merged"] == 3
    assert len(read_state(DataDir(data_dir).current()).segments) == 1

"""`articlebot index build` over a folder of hostile files beside good articles: exit 0, every
good article indexed, every bad file reported with its reason. The hash embedder stands in for
the model; the CLI, the reading process, the readers and the indexer are the real ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.cli import main
from index.store.layout import DataDir
from index.store.segments import SegmentedStore, read_state
from tests.unit.ingest.hostile import BODY, HOSTILE

GOOD = {
    "harbour.txt": f"Harbour wall repaired\n\n{BODY}\n",
    "library.md": "---\ntitle: Library hours\n---\nThe library opens until nine on weekdays.\n",
    "council.html": (
        "<html><head><title>Council votes</title></head><body><article><h1>Council votes</h1>"
        "<p>The council voted on Wednesday to build twelve kilometres of cycle lanes along the "
        "river, a project debated for more than three years.</p></article></body></html>"
    ),
}


def test_build_of_a_hostile_folder_indexes_the_good_and_reports_the_bad(
    cli_env: Path, hash_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = cli_env / "articles"
    folder.mkdir()
    for name, text in GOOD.items():
        (folder / name).write_text(text, encoding="utf-8")
    for hostile in HOSTILE:
        (folder / hostile.name).write_bytes(hostile.data)
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text(f"Cafe\n\n{BODY}\n", encoding="utf-8")
    data_dir = cli_env / "data"

    code = main(["index", "build", str(folder), "--data-dir", str(data_dir)])
    out = capsys.readouterr().out

    assert code == 0
    store = SegmentedStore(data_dir, read_state(DataDir(data_dir).current()))
    ids = {ref.id for ref in store.article_refs()}
    assert set(GOOD) | {"caf\ufffd.txt"} <= ids
    assert len(ids) == len(GOOD) + 1 + sum(h.articles for h in HOSTILE)
    for hostile in HOSTILE:
        if hostile.reason is not None:
            reported = [
                ln for ln in out.splitlines() if ln.startswith(f"  - {folder / hostile.name}")
            ]
            assert any(hostile.reason in line for line in reported), (hostile.name, reported)
    reported_files = {
        Path(line.removeprefix("  - ").split(":")[0].split(" line ")[0].split(" item ")[0]).name
        for line in out.splitlines()
        if line.startswith("  - ")
    }
    assert reported_files == {h.name for h in HOSTILE if h.reason is not None}

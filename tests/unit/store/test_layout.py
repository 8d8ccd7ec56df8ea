"""Index generations on disk: atomic publish, stale builds, checksums, missing index, build lock.

Generations are built by the real indexer with a hash embedder (no model in the unit layer).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from config import Settings
from index.build import EncodesText, build_index
from index.engine import Engine
from index.errors import BuildBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError
from index.models import Article, BuildReport, ParsedArticle
from index.query.searcher import Searcher, SearchTuning
from index.store.layout import CURRENT_NAME, STORE_NAME, DataDir
from index.store.manifest import MANIFEST_NAME, read_manifest, verify_files
from index.store.segments import (
    SEGMENTS_DIR,
    STATE_NAME,
    VECTORS_ARRAY,
    read_state,
    segment_folder,
)
from index.text.passages import PassagePlan
from tests.unit.embedders import WrappedEmbedder

PLAN = PassagePlan(max_sentences=2)


def article(article_id: str, text: str) -> ParsedArticle:
    return ParsedArticle(Article(id=article_id, title=article_id.title(), text=text), (), "test")


def build(data_dir: Path, embedder: EncodesText, *articles: ParsedArticle) -> BuildReport:
    return build_index(data_dir, articles, embedder, PLAN)


def generations(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.glob("gen-*"))


def current_name(data_dir: Path) -> str:
    return (data_dir / CURRENT_NAME).read_text(encoding="utf-8").strip()


HARBOUR = article("harbour", "The harbour reopened on Tuesday. Fishermen said the wall held.")
LIBRARY = article("library", "The library opens until nine. Residents asked for it.")
BRIDGE = article("bridge", "The bridge closed for repairs. Traffic used the ferry.")


def test_publish_swaps_current_and_keeps_the_previous_generation(
    tmp_path: Path, hash_embedder: EncodesText
) -> None:
    data_dir = tmp_path / "data"
    first = build(data_dir, hash_embedder, HARBOUR)
    assert first.generation is not None
    assert current_name(data_dir) == first.generation.name
    assert generations(data_dir) == [first.generation.name]

    second = build(data_dir, hash_embedder, HARBOUR, LIBRARY)
    assert second.generation is not None and second.generation != first.generation
    assert current_name(data_dir) == second.generation.name
    # A reader that opened the first generation keeps reading it while the swap happens.
    assert generations(data_dir) == sorted([first.generation.name, second.generation.name])

    third = build(data_dir, hash_embedder, BRIDGE)
    assert third.generation is not None
    assert generations(data_dir) == sorted([second.generation.name, third.generation.name])
    assert DataDir(data_dir).current() == third.generation
    # Nothing else is left behind: no temporary CURRENT file, no build folder.
    leftovers = {p.name for p in data_dir.iterdir()} - {
        CURRENT_NAME,
        ".build.lock",
        SEGMENTS_DIR,
        *generations(data_dir),
    }
    assert leftovers == set()


def test_a_crash_before_the_swap_leaves_the_previous_generation_live(
    tmp_path: Path, hash_embedder: EncodesText, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    first = build(data_dir, hash_embedder, HARBOUR)
    assert first.generation is not None

    real_replace = Path.replace

    def crash_on_current(self: Path, target: str | Path) -> Path:
        if Path(target).name == CURRENT_NAME:
            raise OSError("simulated power cut")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", crash_on_current)
    with pytest.raises(OSError, match="simulated power cut"):
        build(data_dir, hash_embedder, LIBRARY)
    monkeypatch.undo()

    assert current_name(data_dir) == first.generation.name
    searcher = Searcher.open(data_dir, hash_embedder, SearchTuning(min_score=0.0))
    try:
        assert [a.id for a in searcher.articles] == ["harbour"]
        assert searcher.search("harbour fishermen wall").hits[0].article.id == "harbour"
    finally:
        searcher.close()

    # The next good build cleans up the orphaned generation of the crashed one.
    third = build(data_dir, hash_embedder, BRIDGE)
    assert third.generation is not None
    assert generations(data_dir) == sorted([first.generation.name, third.generation.name])


def test_a_stale_build_folder_is_removed(tmp_path: Path, hash_embedder: EncodesText) -> None:
    data_dir = tmp_path / "data"
    stale = data_dir / ".build-deadbeef"
    (stale / "lexical").mkdir(parents=True)
    (stale / STORE_NAME).write_bytes(b"half-written")
    build(data_dir, hash_embedder, HARBOUR)
    assert not stale.exists()
    assert list(data_dir.glob(".build-*")) == []


@pytest.mark.parametrize("name", [STORE_NAME, VECTORS_ARRAY])
def test_a_flipped_byte_is_caught_by_the_checksum(
    tmp_path: Path, hash_embedder: EncodesText, name: str
) -> None:
    data_dir = tmp_path / "data"
    report = build(data_dir, hash_embedder, HARBOUR, LIBRARY)
    assert report.generation is not None
    (segment,) = read_state(report.generation).segments
    path = segment_folder(data_dir, segment.name) / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(IndexCorruptError) as caught:
        Searcher.open(data_dir, hash_embedder, SearchTuning())
    message = str(caught.value)
    assert caught.value.path == path
    assert str(path) in message
    assert "checksum" in message
    assert f"articlebot index build --data-dir {data_dir}" in message


@pytest.mark.parametrize("name", ["data#1", "data?x=1", "data%41", "my data", "dätä"])
def test_data_dir_names_that_are_special_in_uris(
    tmp_path: Path, hash_embedder: EncodesText, name: str
) -> None:
    # SQLite opens the store through a file: URI; the path must reach it unaltered.
    data_dir = tmp_path / name
    build(data_dir, hash_embedder, HARBOUR)
    searcher = Searcher.open(data_dir, hash_embedder, SearchTuning())
    try:
        assert [a.id for a in searcher.articles] == ["harbour"]
    finally:
        searcher.close()
    again = build(data_dir, hash_embedder, HARBOUR, LIBRARY)
    assert again.reused == 1, "the previous generation's vectors were not readable"


def test_a_missing_file_is_named(tmp_path: Path, hash_embedder: EncodesText) -> None:
    report = build(tmp_path / "data", hash_embedder, HARBOUR)
    assert report.generation is not None
    (report.generation / STATE_NAME).unlink()
    with pytest.raises(IndexCorruptError, match="the file is missing") as caught:
        verify_files(report.generation, read_manifest(report.generation))
    assert caught.value.path == report.generation / STATE_NAME


def test_missing_index_names_the_data_dir(tmp_path: Path, hash_embedder: EncodesText) -> None:
    data_dir = tmp_path / "nowhere"
    with pytest.raises(IndexMissingError) as caught:
        Searcher.open(data_dir, hash_embedder, SearchTuning())
    message = str(caught.value)
    assert str(data_dir) in message
    assert f"articlebot index build --data-dir {data_dir}" in message
    assert DataDir(data_dir).current_or_none() is None


def test_current_naming_a_missing_generation(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / CURRENT_NAME).write_text("gen-gone\n", encoding="utf-8")
    with pytest.raises(IndexCorruptError) as caught:
        DataDir(data_dir).current()
    assert "gen-gone" in str(caught.value)
    assert f"--data-dir {data_dir}`" in str(caught.value)


def test_manifest_problems(tmp_path: Path, hash_embedder: EncodesText) -> None:
    report = build(tmp_path / "data", hash_embedder, HARBOUR)
    folder = report.generation
    assert folder is not None
    manifest = read_manifest(folder)
    assert (manifest.model, manifest.dimension) == (hash_embedder.name, hash_embedder.dimension)
    assert (manifest.articles, manifest.passages) == (1, report.passages)
    assert set(manifest.files) >= {STATE_NAME}

    path = folder / MANIFEST_NAME
    raw = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**raw, "format": 99}), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="index format 99") as mismatch:
        read_manifest(folder)
    assert mismatch.value.path == path

    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="unreadable") as corrupt:
        read_manifest(folder)
    assert corrupt.value.path == path

    path.unlink()
    with pytest.raises(IndexCorruptError, match="manifest is missing"):
        read_manifest(folder)


class _BlockingEmbedder(WrappedEmbedder):
    """Wraps an embedder so a build can be held mid-way while another one starts."""

    def __init__(self, inner: EncodesText) -> None:
        super().__init__(inner)
        self.entered = threading.Event()
        self.release = threading.Event()

    def before_encode(self, texts: Sequence[str]) -> None:
        self.entered.set()
        assert self.release.wait(timeout=30)


def test_a_second_concurrent_build_is_refused(tmp_path: Path, hash_embedder: EncodesText) -> None:
    data_dir = tmp_path / "data"
    slow = _BlockingEmbedder(hash_embedder)
    results: list[BuildReport] = []
    first = threading.Thread(target=lambda: results.append(build(data_dir, slow, HARBOUR)))
    first.start()
    try:
        assert slow.entered.wait(timeout=30)
        with pytest.raises(BuildBusyError, match="already running"):
            build(data_dir, hash_embedder, LIBRARY)
    finally:
        slow.release.set()
        first.join(timeout=30)
    assert len(results) == 1 and results[0].articles == 1
    # Once the first build is done, the lock is free again.
    assert build(data_dir, hash_embedder, LIBRARY).articles == 1


def test_a_rebuild_says_busy_before_reading_any_source(
    tmp_path: Path, hash_embedder: EncodesText, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "story.txt"
    source.write_text("Harbour news\n\nThe harbour reopened on Monday.\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", sources=(str(source),))
    engine = Engine(settings, hash_embedder)
    reads: list[object] = []
    real_read = engine.updates.read
    monkeypatch.setattr(engine.updates, "read", lambda *a: reads.append(a) or real_read(*a))
    with DataDir(settings.data_dir).build_lock(), pytest.raises(BuildBusyError):
        engine.rebuild()
    assert reads == []
    # With the lock free, the same rebuild reads and builds.
    assert engine.rebuild().articles == 1
    assert len(reads) == 1

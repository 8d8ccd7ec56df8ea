"""The live index as a list of immutable segments plus deletions, named by a small state.

    data/
      CURRENT                   name of the live state folder, replaced atomically
      gen-<time>-<rand>/        one state: state.json (segments, deletions, quantizer),
                                manifest.json (totals, model), the query model (hard links)
      segments/seg-<...>/       one segment: articles.sqlite, vectors.npy, lists.npy (its
                                vectors' IVF lists, when the state has a quantizer), lexical/
      segments/q-<...>/         trained IVF centres (centroids.npy) shared by segments

An update writes one new segment holding only the new and changed articles' passages, and a
new state naming it, with the removed and changed articles as deletions in the older
segments. Nothing a state names is ever modified; a state is written aside, fsynced, renamed,
then CURRENT replaced (`DataDir.publish`). Segments no state in use names are removed at the
next publish, so a reader of the previous state keeps its files.

Rows are global: segment i's local row r is row `offset(i) + r`, offsets following the
state's segment order, for passages (vectors, postings, store) and articles alike.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.errors import IndexCorruptError, IndexMismatchError, IndexUpgradeError
from index.models import ArticleRef, Span
from index.store.database import PassageColumns, Store, StoredArticle, StoredPassage, write_store
from index.store.layout import LEXICAL_NAME, STORE_NAME, fsync_tree
from index.store.lexical import LexicalIndex, Postings
from index.store.manifest import checksum_folder
from index.store.passage_keys import store_keys
from index.store.vectors import VectorIndex

SEGMENTS_DIR = "segments"
STATE_NAME = "state.json"
SEGMENT_NAME = "segment.json"
VECTORS_ARRAY = "vectors.npy"
LISTS_ARRAY = "lists.npy"
CENTROIDS_ARRAY = "centroids.npy"
STATE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """A segment as a state names it: its counts, and its deleted article rows (local)."""

    name: str
    passages: int
    articles: int
    deleted: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexState:
    segments: tuple[SegmentRef, ...]
    # The trained IVF centres every segment's vectors are listed under; None: exact search.
    quantizer: str | None = None
    # How many vectors the centres were trained on, and the lists' imbalance then (FAISS's
    # factor: 1 when even), for the merge's drift check.
    trained_on: int = 0
    trained_imbalance: float = 1.0
    format: int = STATE_FORMAT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> IndexState:
        segments = tuple(
            SegmentRef(s["name"], int(s["passages"]), int(s["articles"]), tuple(s["deleted"]))
            for s in raw["segments"]
        )
        return cls(
            segments,
            raw.get("quantizer"),
            int(raw.get("trained_on", 0)),
            float(raw.get("trained_imbalance", 1.0)),
            int(raw.get("format", STATE_FORMAT)),
        )


def written_before_segments(folder: Path) -> bool:
    """Whether `folder` is a generation of the single-generation layout of earlier
    releases: its store, vectors and lexical index in the folder itself, no state."""
    return not (folder / STATE_NAME).is_file() and (folder / STORE_NAME).is_file()


def read_state(folder: Path) -> IndexState:
    path = folder / STATE_NAME
    if written_before_segments(folder):
        raise IndexUpgradeError(folder.parent)
    if not path.is_file():
        raise IndexCorruptError(path, "the index state is missing")
    try:
        state = IndexState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(path, f"the index state is unreadable: {exc}") from None
    if state.format != STATE_FORMAT:
        raise IndexMismatchError(path, f"state format {state.format}, this reads {STATE_FORMAT}")
    return state


def write_state(folder: Path, state: IndexState) -> None:
    (folder / STATE_NAME).write_text(json.dumps(state.to_json(), indent=1), encoding="utf-8")


def segment_folder(root: Path, name: str) -> Path:
    return root / SEGMENTS_DIR / name


@dataclass(frozen=True, slots=True)
class NewSegment:
    """What a segment is written from; rows in `articles` and `passages` are local."""

    articles: Sequence[StoredArticle]
    passages: Sequence[StoredPassage]
    vectors: np.ndarray
    postings: Postings
    lists: np.ndarray | None = None


def write_segment(root: Path, segment: NewSegment) -> SegmentRef:
    """Writes the segment aside, then renames it into `segments/`: a name in `segments/`
    always holds a whole segment."""
    base = root / SEGMENTS_DIR
    base.mkdir(parents=True, exist_ok=True)
    work = base / f".tmp-{secrets.token_hex(4)}"
    work.mkdir()
    write_store(work / STORE_NAME, segment.articles, segment.passages)
    np.save(work / VECTORS_ARRAY, np.ascontiguousarray(segment.vectors, dtype=np.float32))
    if segment.lists is not None:
        np.save(work / LISTS_ARRAY, segment.lists.astype(np.int64))
    segment.postings.save(work / LEXICAL_NAME)
    meta = {
        "passages": len(segment.passages),
        "articles": len(segment.articles),
        "files": checksum_folder(work),
    }
    (work / SEGMENT_NAME).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    fsync_tree(work)
    name = f"seg-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    work.rename(base / name)
    return SegmentRef(name, len(segment.passages), len(segment.articles))


def write_quantizer(root: Path, centroids: np.ndarray) -> str:
    base = root / SEGMENTS_DIR
    base.mkdir(parents=True, exist_ok=True)
    work = base / f".tmp-{secrets.token_hex(4)}"
    work.mkdir()
    np.save(work / CENTROIDS_ARRAY, np.ascontiguousarray(centroids, dtype=np.float32))
    fsync_tree(work)
    name = f"q-{secrets.token_hex(6)}"
    work.rename(base / name)
    return name


def read_centroids(root: Path, quantizer: str) -> np.ndarray:
    return np.load(segment_folder(root, quantizer) / CENTROIDS_ARRAY)


def assign_lists(centroids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """The IVF list of each vector: its nearest centre (by inner product, as trained)."""
    if not len(vectors):
        return np.empty(0, dtype=np.int64)
    coarse = faiss.IndexFlatIP(centroids.shape[1])
    coarse.add(np.ascontiguousarray(centroids, dtype=np.float32))
    _, lists = coarse.search(np.ascontiguousarray(vectors, dtype=np.float32), 1)
    return np.asarray(lists[:, 0], dtype=np.int64)


def verify_segment(root: Path, name: str) -> None:
    folder = segment_folder(root, name)
    try:
        meta = json.loads((folder / SEGMENT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(folder, f"the segment is unreadable: {exc}") from None
    from index.store.manifest import file_digest

    for file, expected in meta["files"].items():
        path = folder / file
        if not path.is_file():
            raise IndexCorruptError(path, "the file is missing")
        if file_digest(path) != expected:
            raise IndexCorruptError(path, "its checksum does not match the segment")


@dataclass(slots=True)
class _Part:
    store: Store
    article_offset: int
    passage_offset: int
    passages: int


class SegmentedStore:
    """The stores of a state's segments read as one, in global rows (deleted rows included:
    the searcher masks them)."""

    def __init__(self, root: Path, state: IndexState) -> None:
        self._parts: list[_Part] = []
        articles = passages = 0
        for ref in state.segments:
            store = Store(segment_folder(root, ref.name) / STORE_NAME)
            self._parts.append(_Part(store, articles, passages, ref.passages))
            articles += ref.articles
            passages += ref.passages
        self._article_starts = np.array([p.article_offset for p in self._parts], dtype=np.int64)
        self._passage_starts = np.array([p.passage_offset for p in self._parts], dtype=np.int64)

    def close(self) -> None:
        for part in self._parts:
            part.store.close()

    def _by_article(self, row: int) -> tuple[_Part, int]:
        part = self._parts[int(np.searchsorted(self._article_starts, row, side="right")) - 1]
        return part, row - part.article_offset

    def _by_passage(self, row: int) -> tuple[_Part, int]:
        part = self._parts[int(np.searchsorted(self._passage_starts, row, side="right")) - 1]
        return part, row - part.passage_offset

    def article_refs(self) -> list[ArticleRef]:
        return [ref for part in self._parts for ref in part.store.article_refs()]

    def alternates(self) -> dict[int, tuple[ArticleRef, ...]]:
        return {
            part.article_offset + row: refs
            for part in self._parts
            for row, refs in part.store.alternates().items()
        }

    def article_text(self, article_row: int) -> str:
        part, local = self._by_article(article_row)
        return part.store.article_text(local)

    def passage_columns(self) -> PassageColumns:
        columns = [p.store.passage_columns() for p in self._parts]
        if not columns:
            empty = np.empty(0, dtype=np.int64)
            return PassageColumns(empty, empty, empty)
        return PassageColumns(
            np.concatenate(
                [c.article + p.article_offset for c, p in zip(columns, self._parts, strict=True)]
            ),
            np.concatenate([c.start for c in columns]),
            np.concatenate([c.end for c in columns]),
        )

    def passage_spans(self) -> list[tuple[int, int, int]]:
        """(article_row, char_start, char_end) of every passage, in global rows."""
        return [
            (part.article_offset + article, start, end)
            for part in self._parts
            for article, start, end in part.store.passage_spans()
        ]

    def passage_sentences(self, row: int) -> tuple[Span, ...]:
        part, local = self._by_passage(row)
        return part.store.passage_sentences(local)

    def passage_keys(self) -> np.ndarray:
        """Each passage's key (`index/store/passage_keys.py`), by global row."""
        keys = [store_keys(p.store) for p in self._parts]
        return np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)

    def passage_text_keys(self) -> list[str]:
        return [k for part in self._parts for k in part.store.passage_text_keys()]


@dataclass(frozen=True, slots=True)
class LiveRows:
    """Which global article and passage rows are live; None when all are."""

    articles: np.ndarray | None
    passages: np.ndarray | None


def live_rows(state: IndexState, passage_articles: np.ndarray) -> LiveRows:
    """Live masks from the state's deletions; `passage_articles` is each passage's global
    article row."""
    if not any(ref.deleted for ref in state.segments):
        return LiveRows(None, None)
    articles = np.ones(sum(ref.articles for ref in state.segments), dtype=bool)
    offset = 0
    for ref in state.segments:
        if ref.deleted:
            articles[offset + np.asarray(ref.deleted, dtype=np.int64)] = False
        offset += ref.articles
    passages = articles[passage_articles] if len(passage_articles) else np.zeros(0, bool)
    articles.setflags(write=False)
    passages.setflags(write=False)
    return LiveRows(articles, passages)


def load_postings(root: Path, state: IndexState, live: np.ndarray | None) -> LexicalIndex:
    return LexicalIndex(
        [Postings.load(segment_folder(root, ref.name) / LEXICAL_NAME) for ref in state.segments],
        live,
    )


def load_vectors(root: Path, state: IndexState, dimension: int) -> VectorIndex:
    """One FAISS index over every segment's vectors, in global row order: flat when the
    state has no quantizer, else IVF lists filled from each segment's stored assignments
    (no vector is compared with the centres here)."""
    index: Any
    if state.quantizer is None:
        index = faiss.IndexFlatIP(dimension)
    else:
        centroids = read_centroids(root, state.quantizer)
        coarse: Any = faiss.IndexFlatIP(dimension)
        coarse.add(centroids)
        index = faiss.IndexIVFFlat(coarse, dimension, len(centroids), faiss.METRIC_INNER_PRODUCT)
        # The index frees its coarse quantizer with itself.
        coarse.this.disown()
        index.own_fields = True
        index.is_trained = True
    for ref in state.segments:
        folder = segment_folder(root, ref.name)
        vectors = np.load(folder / VECTORS_ARRAY, mmap_mode="r")
        if vectors.shape != (ref.passages, dimension):
            raise IndexCorruptError(folder / VECTORS_ARRAY, f"unexpected shape {vectors.shape}")
        if not len(vectors):
            continue
        block = np.ascontiguousarray(vectors, dtype=np.float32)
        if state.quantizer is None:
            index.add(block)
        else:
            lists_path = folder / LISTS_ARRAY
            lists = (
                np.load(lists_path)
                if lists_path.is_file()
                else assign_lists(read_centroids(root, state.quantizer), block)
            )
            lists = np.ascontiguousarray(lists, dtype=np.int64)
            index.add_core(len(block), faiss.swig_ptr(block), None, faiss.swig_ptr(lists))
    return VectorIndex(index)


def collect_garbage(root: Path, states: Sequence[Path]) -> None:
    """Removes segments and quantizers none of `states` names, and half-written ones a crash
    left. Runs under the build lock, so no segment being written is mid-way."""
    keep: set[str] = set()
    for folder in states:
        try:
            state = read_state(folder)
        except (IndexCorruptError, IndexMismatchError, IndexUpgradeError):
            continue
        keep |= {ref.name for ref in state.segments}
        if state.quantizer:
            keep.add(state.quantizer)
    base = root / SEGMENTS_DIR
    if not base.is_dir():
        return
    for entry in base.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)


def link_or_copy(source: Path, target: Path) -> None:
    """A file of the previous state carried into the next without copying its bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def imbalance_of(lists: np.ndarray, nlist: int) -> float:
    """FAISS's imbalance factor of an IVF list assignment: 1 when every list holds as many
    vectors, larger as a few lists hold most of them."""
    if not len(lists):
        return 1.0
    sizes = np.bincount(lists, minlength=nlist).astype(np.float64)
    return float(nlist * (sizes**2).sum() / len(lists) ** 2)

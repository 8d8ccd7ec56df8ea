"""Keeping Milvus in step with the published index state (the update side).

Consistency model. The segments and the state in the data directory stay the truth; Milvus
holds a copy of the live passages, keyed by passage key. An update or a merge that publishes
a state S' after S:

1. before S' is published, upserts into Milvus the rows S' holds and S did not (a new
   segment's passages): a searcher still on S ignores them (their keys are not in S);
2. publishes S' (CURRENT replaced): searchers open S' and find all of its rows in Milvus;
3. deletes from Milvus the rows S held and S' does not (removed and changed articles): a
   searcher on S' already ignores them, one still on S stops finding them;
4. records in `milvus.json` that Milvus holds S' exactly.

A crash between 1 and 2 leaves S live with extra rows in Milvus, which searchers ignore; one
between 2 and 4 leaves rows of deleted passages, which searchers ignore too. Either way the
record no longer names the live state, so the next update copies the state whole into a new
collection (as it does the first time Milvus is configured, or for another URI or
collection). Rows a searcher ignores still take places in Milvus's top-k: a question can get
fewer than k candidates while they remain, never a wrong passage. Merges keep keys (a key
names an article version and span, not a row), so they write nothing but the record.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.query.filters import ArticleFacts
from index.store.database import Store
from index.store.layout import LEXICAL_NAME, STORE_NAME
from index.store.lexical import Postings
from index.store.milvus.collection import (
    ARTICLE,
    COLLECTION,
    DATED,
    FIRST,
    ID,
    LAST,
    MAX_NAME,
    MAX_VARCHAR,
    OUTLET,
    TEXT,
    VECTOR,
    MilvusTarget,
    client_for,
    create,
)
from index.store.milvus.expressions import keys_expression
from index.store.passage_keys import store_keys
from index.store.segments import (
    VECTORS_ARRAY,
    IndexState,
    SegmentRef,
    read_state,
    segment_folder,
)

log = logging.getLogger(__name__)

RECORD_NAME = "milvus.json"
# Rows per upsert request: a few MB with 384-dimension vectors, well under gRPC's limit.
BATCH = 512


def analysed_texts(postings: Postings) -> list[str]:
    """Each passage's terms as articlebot's analyser gave them, joined by spaces: each term
    as often as the passage holds it (BM25 reads counts, not order)."""
    tokens: list[list[str]] = [[] for _ in range(len(postings))]
    for term, t in postings.vocabulary.items():
        # The placeholder of a passage without terms is no word.
        if term == "\x00":
            continue
        start, end = int(postings.indptr[t]), int(postings.indptr[t + 1])
        for row, count in zip(
            postings.rows[start:end].tolist(), postings.counts[start:end].tolist(), strict=True
        ):
            tokens[row].extend([term] * count)
    return [_fit(" ".join(words)) for words in tokens]


def _fit(text: str, limit: int = MAX_VARCHAR) -> str:
    """`text` cut at a space to at most `limit` UTF-8 bytes."""
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", "ignore").rsplit(" ", 1)[0]


def _name(value: str) -> str:
    return _fit(value, MAX_NAME)


@dataclass(frozen=True, slots=True)
class _Segment:
    """One segment's keys by local passage row, and which of them are live in a state."""

    ref: SegmentRef
    keys: np.ndarray
    live: np.ndarray


def _segment(root: Path, ref: SegmentRef) -> _Segment:
    store = Store(segment_folder(root, ref.name) / STORE_NAME)
    try:
        keys = store_keys(store)
        articles = store.passage_columns().article
    finally:
        store.close()
    dead = np.zeros(ref.articles, dtype=bool)
    dead[list(ref.deleted)] = True
    return _Segment(ref, keys, ~dead[articles] if len(articles) else np.zeros(0, bool))


def _rows(root: Path, segment: _Segment, wanted: set[int]) -> Iterator[dict[str, Any]]:
    """Milvus rows of the segment's passages whose keys are `wanted`."""
    folder = segment_folder(root, segment.ref.name)
    picked = [r for r, k in enumerate(segment.keys.tolist()) if k in wanted]
    if not picked:
        return
    store = Store(folder / STORE_NAME)
    try:
        refs = store.article_refs()
        columns = store.passage_columns()
    finally:
        store.close()
    facts = ArticleFacts.of(refs)
    vectors = np.load(folder / VECTORS_ARRAY, mmap_mode="r")
    texts = analysed_texts(Postings.load(folder / LEXICAL_NAME))
    for row in picked:
        article = int(columns.article[row])
        ref = refs[article]
        dated = not np.isnan(facts.first[article])
        yield {
            ID: int(segment.keys[row]),
            VECTOR: np.asarray(vectors[row], dtype=np.float32).tolist(),
            TEXT: texts[row],
            COLLECTION: _name(ref.collection),
            ARTICLE: _name(ref.id),
            OUTLET: _name(facts.outlet[article]),
            DATED: dated,
            FIRST: float(facts.first[article]) if dated else 0.0,
            LAST: float(facts.last[article]) if dated else 0.0,
        }


def _live_keys(segments: Sequence[_Segment]) -> set[int]:
    return {k for s in segments for k in s.keys[s.live].tolist()}


@dataclass(frozen=True, slots=True)
class _Pending:
    """What is left to do once the state is published: delete `gone`, record the state."""

    mirror: MilvusMirror
    root: Path
    gone: tuple[int, ...]

    def finish(self, published: Path) -> None:
        self.mirror.finish(self.root, self.gone, published)


class MilvusMirror:
    """Milvus kept in step with the states an update or a merge publishes."""

    def __init__(self, target: MilvusTarget) -> None:
        self.target = target

    def _record(self, root: Path) -> dict[str, Any]:
        try:
            raw = json.loads((root / RECORD_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return raw if isinstance(raw, dict) else {}

    def holds(self, root: Path, state_folder: Path | None) -> bool:
        """Whether Milvus holds exactly the state in `state_folder`."""
        record = self._record(root)
        return (
            state_folder is not None
            and record.get("uri") == self.target.uri
            and record.get("collection") == self.target.collection
            and record.get("state") == state_folder.name
            and client_for(self.target).has_collection(self.target.collection)
        )

    def prepare(
        self, root: Path, previous: Path | None, state: IndexState, dimension: int
    ) -> _Pending:
        """Step 1: the rows of `state` that Milvus lacks, upserted; the rows to delete once
        it is published, returned. Milvus is copied whole when it does not hold `previous`."""
        if self.holds(root, previous) and previous is not None:
            # A segment named alike in both states, with the same deletions, is the same rows.
            before, after = read_state(previous).segments, state.segments
            old = [_segment(root, r) for r in before if r not in set(after)]
            new = [_segment(root, r) for r in after if r not in set(before)]
            old_keys, new_keys = _live_keys(old), _live_keys(new)
            self._upsert(root, new, new_keys - old_keys)
            return _Pending(self, root, tuple(sorted(old_keys - new_keys)))
        log.info("copying the index state whole into Milvus collection %s", self.target.collection)
        create(self.target, dimension)
        segments = [_segment(root, r) for r in state.segments]
        self._upsert(root, segments, _live_keys(segments))
        return _Pending(self, root, ())

    def finish(self, root: Path, gone: Sequence[int], published: Path) -> None:
        """Steps 3 and 4, once `published` is the live state."""
        client = client_for(self.target)
        for start in range(0, len(gone), BATCH):
            batch = gone[start : start + BATCH]
            client.delete(self.target.collection, filter=keys_expression(batch))
        # Unflushed rows are searched without an index: Milvus Lite rebuilds a BM25 index
        # over all of them at every search, which made a question over 10k passages take
        # seconds; flushed, they are sealed into segments whose indexes are kept.
        client.flush(self.target.collection)
        record = {"uri": self.target.uri, "collection": self.target.collection}
        record["state"] = published.name
        tmp = root / f".{RECORD_NAME}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(record, fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(root / RECORD_NAME)

    def _upsert(self, root: Path, segments: Sequence[_Segment], wanted: set[int]) -> None:
        client = client_for(self.target)
        batch: list[dict[str, Any]] = []
        for segment in segments:
            for row in _rows(root, segment, wanted):
                batch.append(row)
                if len(batch) == BATCH:
                    client.upsert(self.target.collection, batch)
                    batch = []
        if batch:
            client.upsert(self.target.collection, batch)

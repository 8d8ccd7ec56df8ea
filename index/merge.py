"""Merging index segments in the background, Lucene's tiered way.

Every update adds a segment, so a question would scan more and more small ones, and deleted
rows would stay on disk for good. A merge rewrites some segments as one, leaving their
deleted rows out, and publishes a new state; readers of the previous state keep theirs (its
files are removed only at the publish after this one).

Which segments: those of a size tier (live passages, tiers a factor `factor` apart) once the
tier holds `factor` of them, so that each passage is rewritten about log_factor(P) times in
its life; and any segment whose deleted share passed `max_deleted_share`.

IVF: new vectors are assigned to the trained lists as they come (no retraining on update).
Retraining needs every vector, so a merge retrains, by merging everything, only when the lists
drifted: the live passage count moved by more than `retrain_growth` times from what the
centres were trained on (the right number of lists, about sqrt(P), moved with it), or the
lists' imbalance factor grew past `retrain_imbalance` times its value at training (new
articles about new topics all pile into the few nearest lists, and a question's `probes`
lists then hold a growing share of everything). A state without lists becomes approximate at
the merge that sees it reach `approximate_from` live passages.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.build import carry_query_model
from index.models import MergeReport, Progress
from index.store.database import Store, StoredArticle, StoredPassage
from index.store.layout import LEXICAL_NAME, STORE_NAME, DataDir
from index.store.lexical import Postings
from index.store.manifest import checksum_folder, read_manifest, write_manifest
from index.store.mirroring import MirrorsIndex, publish_state
from index.store.segments import (
    LISTS_ARRAY,
    VECTORS_ARRAY,
    IndexState,
    NewSegment,
    SegmentRef,
    assign_lists,
    collect_garbage,
    imbalance_of,
    read_centroids,
    read_state,
    segment_folder,
    write_quantizer,
    write_segment,
    write_state,
)
from index.store.vectors import VectorIndex


@dataclass(frozen=True, slots=True)
class MergePolicy:
    # Segments per size tier before they are merged into one of the next tier.
    factor: int = 8
    # Segments under this many live passages are all of the smallest tier.
    floor: int = 1_000
    max_deleted_share: float = 0.3
    retrain_growth: float = 2.0
    retrain_imbalance: float = 1.5


def _tier(live: int, policy: MergePolicy) -> int:
    return int(math.log(max(live, policy.floor) / policy.floor, policy.factor))


def _live_passages(root: Path, ref: SegmentRef) -> int:
    if not ref.deleted:
        return ref.passages
    store = Store(segment_folder(root, ref.name) / STORE_NAME)
    try:
        return ref.passages - len(store.passage_digests_of(ref.deleted))
    finally:
        store.close()


def _drift(root: Path, state: IndexState, live: int, policy: MergePolicy) -> str | None:
    """Why the IVF centres should be retrained, or None."""
    if state.quantizer is None:
        return None
    grown = live / max(state.trained_on, 1)
    if grown > policy.retrain_growth or grown < 1 / policy.retrain_growth:
        return f"{live} live passages against {state.trained_on} trained on"
    lists = [
        np.load(segment_folder(root, ref.name) / LISTS_ARRAY)
        for ref in state.segments
        if (segment_folder(root, ref.name) / LISTS_ARRAY).is_file()
    ]
    nlist = len(read_centroids(root, state.quantizer))
    imbalance = imbalance_of(np.concatenate(lists), nlist) if lists else 1.0
    if imbalance > policy.retrain_imbalance * state.trained_imbalance:
        return f"list imbalance {imbalance:.2f} against {state.trained_imbalance:.2f} at training"
    return None


def choose(
    root: Path, state: IndexState, policy: MergePolicy, approximate_from: int | None
) -> tuple[list[int], str, bool]:
    """Which segments to merge (indexes into the state), why, and whether to retrain."""
    live = [_live_passages(root, ref) for ref in state.segments]
    total = sum(live)
    drift = _drift(root, state, total, policy)
    if drift is not None:
        return list(range(len(live))), f"IVF lists drifted: {drift}", True
    if state.quantizer is None and approximate_from is not None and total >= approximate_from:
        return list(range(len(live))), f"{total} passages: approximate search from now", True
    tiers: dict[int, list[int]] = {}
    for i, n in enumerate(live):
        tiers.setdefault(_tier(n, policy), []).append(i)
    chosen: set[int] = set()
    reasons = []
    for tier in sorted(tiers):
        if len(tiers[tier]) >= policy.factor:
            chosen |= set(tiers[tier])
            reasons.append(f"{len(tiers[tier])} segments of tier {tier}")
            break
    for i, ref in enumerate(state.segments):
        mostly_deleted = ref.passages and 1 - live[i] / ref.passages > policy.max_deleted_share
        if mostly_deleted and i not in chosen:
            chosen.add(i)
            reasons.append(f"{ref.name} mostly deleted")
    return sorted(chosen), ", ".join(reasons), False


def merge_segments(
    data_dir: Path,
    *,
    policy: MergePolicy | None = None,
    everything: bool = False,
    approximate_from: int | None = None,
    lock_held: bool = False,
    layout: DataDir | None = None,
    progress: Progress | None = None,
    mirror: MirrorsIndex | None = None,
) -> MergeReport:
    """Merge what the policy (or `everything`: every segment into one, deleted rows left
    out) asks for and publish the new state.

    Takes the data directory's build lock unless the caller holds it: updates and merges
    take turns. Quick when nothing needs merging (no segment is read).
    """
    started = time.perf_counter()
    policy = policy or MergePolicy()
    layout = layout or DataDir(data_dir)
    report = MergeReport()
    with contextlib.nullcontext() if lock_held else layout.build_lock():
        current = layout.current()
        state = read_state(current)
        chosen, reason, retrain = choose(data_dir, state, policy, approximate_from)
        compactable = len(state.segments) > 1 or any(ref.deleted for ref in state.segments)
        if everything and compactable and len(chosen) < len(state.segments):
            chosen, reason = list(range(len(state.segments))), "asked to merge everything"
        pointless = not chosen or (len(chosen) == 1 and not state.segments[chosen[0]].deleted)
        if pointless and not retrain:
            report.seconds = time.perf_counter() - started
            return report
        merged, dropped, vectors, lists = _merged(data_dir, state, chosen, progress)
        quantizer, trained_on, imbalance = (
            state.quantizer,
            state.trained_on,
            state.trained_imbalance,
        )
        if retrain and len(vectors):
            if progress is not None:
                progress("training IVF lists", 0, 1)
            centroids = VectorIndex.train(vectors)
            quantizer = write_quantizer(data_dir, centroids)
            lists = assign_lists(centroids, vectors)
            trained_on, imbalance = len(vectors), imbalance_of(lists, len(centroids))
        if progress is not None:
            progress("saving", 0, 1)
        kept = [ref for i, ref in enumerate(state.segments) if i not in set(chosen)]
        if merged.articles:
            kept.append(write_segment(data_dir, replace(merged, lists=lists)))
        new_state = IndexState(tuple(kept), quantizer, trained_on, imbalance)
        manifest = read_manifest(current)
        build = layout.new_build_folder()
        write_state(build, new_state)
        record = carry_query_model(current, manifest, build)
        write_manifest(
            build,
            replace(
                manifest,
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                files=checksum_folder(build),
                query_model=record,
            ),
        )
        report.generation = publish_state(
            layout, build, new_state, current, manifest.dimension, mirror
        )
        collect_garbage(data_dir, [report.generation, current])
        report.merged = len(chosen)
        report.passages = len(merged.passages)
        report.dropped = dropped
        report.retrained = retrain
        report.reason = reason
        if progress is not None:
            progress("saving", 1, 1)
    report.seconds = time.perf_counter() - started
    return report


def _merged(
    root: Path, state: IndexState, chosen: list[int], progress: Progress | None = None
) -> tuple[NewSegment, int, np.ndarray, np.ndarray | None]:
    """The live rows of the `chosen` segments as one new segment, renumbered in order; how
    many deleted passages were left out; the vectors and their lists (None without IVF)."""
    articles: list[StoredArticle] = []
    passages: list[StoredPassage] = []
    vectors: list[np.ndarray] = []
    lists: list[np.ndarray] = []
    postings: list[tuple[Postings, np.ndarray]] = []
    dropped = 0
    for i in chosen:
        ref = state.segments[i]
        folder = segment_folder(root, ref.name)
        store = Store(folder / STORE_NAME)
        try:
            old_articles = store.stored_articles()
            old_passages = store.stored_passages()
        finally:
            store.close()
        deleted = set(ref.deleted)
        renumber: dict[int, int] = {}
        for a in old_articles:
            if a.row not in deleted:
                renumber[a.row] = len(articles)
                articles.append(replace(a, row=renumber[a.row]))
        keep = np.array([p.article_row not in deleted for p in old_passages], dtype=bool)
        dropped += int((~keep).sum())
        for p in old_passages:
            if p.article_row not in deleted:
                passages.append(replace(p, row=len(passages), article_row=renumber[p.article_row]))
        vectors.append(np.load(folder / VECTORS_ARRAY, mmap_mode="r")[keep])
        lists_path = folder / LISTS_ARRAY
        if state.quantizer is not None:
            old_lists = (
                np.load(lists_path)
                if lists_path.is_file()
                else assign_lists(read_centroids(root, state.quantizer), vectors[-1])
            )
            lists.append(old_lists[keep] if lists_path.is_file() else old_lists)
        postings.append((Postings.load(folder / LEXICAL_NAME), keep))
        if progress is not None:
            progress("merging segments", len(postings), len(chosen))
    dimension = vectors[0].shape[1] if vectors else 0
    joined = np.concatenate(vectors) if vectors else np.empty((0, dimension), np.float32)
    joined_lists = np.concatenate(lists) if lists else None
    segment = NewSegment(articles, passages, joined, Postings.merged(postings), joined_lists)
    return segment, dropped, joined, joined_lists

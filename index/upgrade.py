"""Upgrade an index generation of the single-generation layout (releases before segments)
into a state of one segment, reusing its stored articles, passages and vectors: nothing is
embedded again. Only the lexical postings are made anew, from the stored text (their format
changed), which costs tokenizing, not the model.

The old generation stays where it is until the next publish removes it, so a reader of it
keeps its files; the new state is written aside and published like any build.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from index.build import carry_query_model, document_text
from index.errors import IndexCorruptError
from index.models import BuildReport
from index.store.database import Store
from index.store.layout import STORE_NAME, VECTORS_NAME, DataDir
from index.store.lexical import Postings
from index.store.manifest import checksum_folder, read_manifest, write_manifest
from index.store.segments import (
    IndexState,
    NewSegment,
    assign_lists,
    collect_garbage,
    imbalance_of,
    write_quantizer,
    write_segment,
    write_state,
    written_before_segments,
)
from index.store.vectors import VectorIndex

log = logging.getLogger(__name__)


def upgrade_generation(
    data_dir: Path,
    *,
    approximate_from: int | None = None,
    lock_held: bool = False,
    layout: DataDir | None = None,
) -> BuildReport | None:
    """Publish the live generation as a one-segment state when it is of the old layout;
    None when there is nothing to upgrade.

    An old approximate (IVF) index, or one of `approximate_from` passages or more, gets IVF
    centres trained on its vectors, as a build from nothing would."""
    started = time.perf_counter()
    layout = layout or DataDir(data_dir)
    with contextlib.nullcontext() if lock_held else layout.build_lock():
        current = layout.current_or_none()
        if current is None or not written_before_segments(current):
            return None
        manifest = read_manifest(current)
        store = Store(current / STORE_NAME)
        try:
            articles = store.stored_articles()
            passages = store.stored_passages()
        finally:
            store.close()
        old = VectorIndex.load(current / VECTORS_NAME)
        vectors = old.vectors()
        if len(vectors) != len(passages):
            raise IndexCorruptError(
                current / VECTORS_NAME,
                f"{len(vectors)} vectors for {len(passages)} stored passages",
            )
        by_row = {a.row: a.article for a in articles}
        documents = [
            document_text(
                by_row[p.article_row].title,
                by_row[p.article_row].text[p.char_start : p.char_end],
                by_row[p.article_row].date,
            )
            for p in passages
        ]
        quantizer, trained_on, imbalance, lists = None, 0, 1.0, None
        approximate = old.approximate or (
            approximate_from is not None and len(vectors) >= approximate_from
        )
        if approximate and len(vectors):
            centroids = VectorIndex.train(vectors)
            quantizer = write_quantizer(data_dir, centroids)
            lists = assign_lists(centroids, vectors)
            trained_on, imbalance = len(vectors), imbalance_of(lists, len(centroids))
        segments = (
            (
                write_segment(
                    data_dir,
                    NewSegment(articles, passages, vectors, Postings.of(documents), lists),
                ),
            )
            if articles
            else ()
        )
        build = layout.new_build_folder()
        write_state(build, IndexState(segments, quantizer, trained_on, imbalance))
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
        generation = layout.publish(build)
        collect_garbage(data_dir, [generation, current])
    seconds = time.perf_counter() - started
    log.info(
        "upgraded %s to a one-segment state (%d passages, no vector re-embedded) in %.1f s",
        current.name,
        len(passages),
        seconds,
    )
    return BuildReport(
        articles=len(articles),
        passages=len(passages),
        reused=len(passages),
        seconds=seconds,
        generation=generation,
    )

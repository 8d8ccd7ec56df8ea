"""Build an index generation from parsed articles, reusing every vector that has not changed.

A passage's vector is keyed by a digest of the model name and the exact text embedded, so an
incremental build embeds only new or edited passages; removed articles simply are not carried
over. A build whose inputs match the live generation writes nothing at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from index.encode.onnx import QueryModelRecord
from index.errors import ArticlebotError
from index.models import BuildReport, ParsedArticle, Progress, SourceProblem
from index.store.database import Store, StoredArticle, StoredPassage, passage_text_key, write_store
from index.store.layout import LEXICAL_NAME, STORE_NAME, VECTORS_NAME, DataDir
from index.store.lexical import LexicalIndex
from index.store.manifest import Manifest, checksum_folder, read_manifest, write_manifest
from index.store.vectors import VectorIndex
from index.text.passages import PassagePlan, make_passages

log = logging.getLogger(__name__)


# Puts the generation's query model into the build folder it is given; returns its record.
QueryModelMaker = Callable[[Path], QueryModelRecord]


class EncodesText(Protocol):
    """What the indexer needs of an embedder."""

    name: str
    dimension: int

    def count_tokens(self, text: str) -> int: ...

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = ...,
        progress: Callable[[int], None] | None = ...,
    ) -> np.ndarray: ...


def document_text(title: str, passage: str, date: str | None = None) -> str:
    """What is embedded and lexically indexed for a passage: its article's title (and date
    when known, spelled as people ask for it: "June 28, 2021"), then the passage.

    The title gives passages context they do not state themselves ("he said" in a story
    about Kirby), for both the dense and the lexical side.
    """
    when = _spoken_date(date)
    return f"{title} ({when})\n{passage}" if when else f"{title}\n{passage}"


def _spoken_date(date: str | None) -> str | None:
    if not date:
        return None
    try:
        parsed = datetime.strptime(date[:10], "%Y-%m-%d")
    except ValueError:
        return None
    return f"{parsed:%B} {parsed.day}, {parsed.year}"


def _digest(*parts: str) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode("utf-8"))
        sha.update(b"\x00")
    return sha.hexdigest()[:32]


def article_digest(parsed: ParsedArticle) -> str:
    a = parsed.article
    spans = json.dumps([[s.start, s.end] for s in parsed.excluded])
    # Other outlets count only when there are some: digests of earlier builds stay valid.
    also = [json.dumps([[r.id, r.title, r.date, r.source, r.url] for r in parsed.also_in])]
    return _digest(
        a.id,
        a.collection,
        a.title,
        a.date or "",
        a.source or "",
        a.url or "",
        a.text,
        spans,
        *(also if parsed.also_in else []),
    )


def _versions() -> dict[str, str]:
    out = {}
    for package in ("articlebot", "faiss-cpu", "sentence-transformers", "torch", "bm25s"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out


def _dedupe(
    articles: Sequence[ParsedArticle], problems: list[SourceProblem]
) -> list[ParsedArticle]:
    seen: dict[str, str] = {}
    kept = []
    for parsed in articles:
        first = seen.get(parsed.article.id)
        if first is not None:
            problems.append(
                SourceProblem(
                    parsed.origin,
                    f"duplicate article id {parsed.article.id!r} (also in {first}), skipped",
                )
            )
            continue
        seen[parsed.article.id] = parsed.origin
        kept.append(parsed)
    return kept


def _previous_vectors(
    folder: Path | None, model: str, dimension: int
) -> tuple[dict[str, int], VectorIndex | None, dict[str, str]]:
    """Digest -> row of the live generation's vectors, when it was built with this model."""
    if folder is None:
        return {}, None, {}
    try:
        manifest = read_manifest(folder)
        store = Store(folder / STORE_NAME)
        try:
            digests = store.passage_digests()
            article_digests = store.article_digests()
        finally:
            store.close()
        if manifest.model != model or manifest.dimension != dimension:
            return {}, None, article_digests
        vectors = VectorIndex.load(folder / VECTORS_NAME)
    except ArticlebotError as exc:
        log.warning("previous index not reusable, embedding everything: %s", exc)
        return {}, None, {}
    if len(vectors) != len(digests):
        return {}, None, article_digests
    return {d: i for i, d in enumerate(digests)}, vectors, article_digests


def build_index(
    data_dir: Path,
    articles: Sequence[ParsedArticle],
    embedder: EncodesText,
    plan: PassagePlan,
    *,
    batch_size: int = 32,
    problems: Sequence[SourceProblem] = (),
    progress: Progress | None = None,
    lock_held: bool = False,
    query_model: QueryModelMaker | None = None,
    approximate_from: int | None = None,
) -> BuildReport:
    """Build (or confirm up to date) the index in `data_dir` from `articles`.

    Takes the data directory's build lock unless the caller says it holds it already.
    `query_model` adds the ONNX query model; from `approximate_from` passages on, the vector
    index is approximate (None: always exact).
    """
    started = time.perf_counter()
    layout = DataDir(data_dir)
    report = BuildReport(problems=list(problems))
    with contextlib.nullcontext() if lock_held else layout.build_lock():
        parsed = _dedupe(articles, report.problems)
        digests = [article_digest(p) for p in parsed]
        source_digest = _digest(
            embedder.name, json.dumps(asdict(plan), sort_keys=True), *sorted(digests)
        )
        current = layout.current_or_none()
        reuse, previous, previous_articles = _previous_vectors(
            current, embedder.name, embedder.dimension
        )
        report.articles = len(parsed)
        for p, d in zip(parsed, digests, strict=True):
            old = previous_articles.get(p.article.id)
            if old is None:
                report.added_articles += 1
            elif old != d:
                report.changed_articles += 1
        report.removed_articles = len(set(previous_articles) - {p.article.id for p in parsed})
        if current is not None and previous is not None:
            manifest = read_manifest(current)
            # An index from before query models gets one (every vector reused).
            wants_query_model = query_model is not None and not manifest.query_model
            if manifest.source_digest == source_digest and not wants_query_model:
                report.up_to_date = True
                report.passages = manifest.passages
                report.generation = current
                report.seconds = time.perf_counter() - started
                return report

        stored_articles: list[StoredArticle] = []
        stored_passages: list[StoredPassage] = []
        documents: list[str] = []
        for row, (p, d) in enumerate(zip(parsed, digests, strict=True)):
            stored_articles.append(StoredArticle(row, p.article, d, p.origin, p.also_in))
            for passage in make_passages(
                p.article.id, p.article.text, p.excluded, plan, embedder.count_tokens
            ):
                passage_text = passage.text_of(p.article.text)
                doc = document_text(p.article.title, passage_text, p.article.date)
                stored_passages.append(
                    StoredPassage(
                        row=len(stored_passages),
                        article_row=row,
                        char_start=passage.char_start,
                        char_end=passage.char_end,
                        sentences=passage.sentences,
                        digest=_digest(embedder.name, doc),
                        text_key=passage_text_key(passage_text),
                    )
                )
                documents.append(doc)
            if progress is not None:
                progress("splitting", row + 1, len(parsed))

        vectors = np.empty((len(documents), embedder.dimension), dtype=np.float32)
        missing = [i for i, p in enumerate(stored_passages) if p.digest not in reuse]
        if previous is not None and len(missing) < len(documents):
            old_vectors = previous.vectors()
            present = [i for i, p in enumerate(stored_passages) if p.digest in reuse]
            vectors[present] = old_vectors[[reuse[stored_passages[i].digest] for i in present]]
        report.reused = len(documents) - len(missing)
        report.embedded = len(missing)
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress("embedding", done, len(missing))

        if missing:
            vectors[missing] = embedder.encode([documents[i] for i in missing], batch_size, advance)

        if progress is not None:
            progress("saving", 0, 1)
        build = layout.new_build_folder()
        write_store(build / STORE_NAME, stored_articles, stored_passages)
        approximate = approximate_from is not None and len(vectors) >= approximate_from
        VectorIndex.build(vectors, embedder.dimension, approximate).save(build / VECTORS_NAME)
        (build / LEXICAL_NAME).mkdir()
        LexicalIndex.build(documents).save(build / LEXICAL_NAME)
        record = query_model(build) if query_model is not None else None
        collections: dict[str, int] = {}
        for a in stored_articles:
            collections[a.article.collection] = collections.get(a.article.collection, 0) + 1
        write_manifest(
            build,
            Manifest(
                model=embedder.name,
                dimension=embedder.dimension,
                passages=len(stored_passages),
                articles=len(stored_articles),
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                source_digest=source_digest,
                passage_plan=asdict(plan),
                versions=_versions(),
                files=checksum_folder(build),
                collections=collections,
                query_model=record.to_json() if record is not None else {},
            ),
        )
        report.generation = layout.publish(build)
        report.passages = len(stored_passages)
        if progress is not None:
            progress("saving", 1, 1)
    report.seconds = time.perf_counter() - started
    return report

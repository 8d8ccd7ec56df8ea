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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.encode.onnx import QueryModelRecord
from index.errors import ArticlebotError
from index.models import BuildReport, ParsedArticle, Progress, SourceProblem
from index.store.database import Store, StoredArticle, StoredPassage, passage_text_key
from index.store.layout import STORE_NAME, DataDir
from index.store.lexical import Postings
from index.store.manifest import Manifest, checksum_folder, read_manifest, write_manifest
from index.store.mirroring import MirrorsIndex, publish_state
from index.store.segments import (
    VECTORS_ARRAY,
    IndexState,
    NewSegment,
    SegmentRef,
    assign_lists,
    collect_garbage,
    imbalance_of,
    link_or_copy,
    read_centroids,
    read_state,
    segment_folder,
    write_quantizer,
    write_segment,
    write_state,
)
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
    for package in ("articlebot", "faiss-cpu", "sentence-transformers", "torch"):
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


@dataclass(frozen=True, slots=True)
class _LiveArticle:
    segment: int
    row: int
    digest: str
    collection: str


@dataclass(slots=True)
class _Previous:
    """The live state an update starts from, when it was built with the same model and plan."""

    folder: Path
    manifest: Manifest
    state: IndexState
    articles: dict[str, _LiveArticle]


class NotReusable(Exception):
    """The live state cannot take an update in place: no index yet, another model, dimension
    or passage plan, or unreadable files. Only a build from every source is right then."""


def _previous(
    root: Path, folder: Path | None, model: str, dimension: int, plan: PassagePlan
) -> _Previous | None:
    try:
        return _reusable(root, folder, model, dimension, plan)
    except NotReusable as why:
        log.info("building afresh: %s", why)
        return None


def _reusable(
    root: Path, folder: Path | None, model: str, dimension: int, plan: PassagePlan
) -> _Previous:
    if folder is None:
        raise NotReusable("there is no live index")
    try:
        manifest = read_manifest(folder)
        state = read_state(folder)
        if (manifest.model, manifest.dimension) != (model, dimension):
            raise NotReusable(
                f"the live index was built with {manifest.model} ({manifest.dimension}-d), "
                f"not {model} ({dimension}-d)"
            )
        if manifest.passage_plan != asdict(plan):
            raise NotReusable("the live index was split into passages differently")
        articles: dict[str, _LiveArticle] = {}
        for i, ref in enumerate(state.segments):
            deleted = set(ref.deleted)
            store = Store(segment_folder(root, ref.name) / STORE_NAME)
            try:
                for row, article_id, digest, collection in store.article_index():
                    if row not in deleted:
                        articles[article_id] = _LiveArticle(i, row, digest, collection)
            finally:
                store.close()
    except (ArticlebotError, KeyError) as exc:
        log.warning("previous index not reusable: %s", exc)
        raise NotReusable(f"the live index cannot be read ({exc})") from exc
    return _Previous(folder, manifest, state, articles)


def _old_vectors(
    root: Path, previous: _Previous, gone: list[_LiveArticle]
) -> tuple[dict[str, np.ndarray], int]:
    """Digest -> vector of the passages of articles leaving the index (changed ones come back
    with most of their passages unchanged), and how many passages leave."""
    out: dict[str, np.ndarray] = {}
    count = 0
    by_segment: dict[int, list[int]] = {}
    for a in gone:
        by_segment.setdefault(a.segment, []).append(a.row)
    for i, rows in by_segment.items():
        folder = segment_folder(root, previous.state.segments[i].name)
        store = Store(folder / STORE_NAME)
        try:
            found = store.passage_digests_of(rows)
        finally:
            store.close()
        count += len(found)
        vectors = np.load(folder / VECTORS_ARRAY, mmap_mode="r")
        for row, digest in found:
            out[digest] = np.array(vectors[row], dtype=np.float32)
    return out, count


def carry_query_model(folder: Path, manifest: Manifest, build: Path) -> dict[str, Any]:
    """The query model of the state in `folder`, hard-linked into the new state `build`."""
    record = QueryModelRecord.from_manifest(manifest.query_model)
    if record is None or record.file is None:
        return dict(manifest.query_model)
    model_dir = (folder / record.file).parent
    for path in model_dir.rglob("*"):
        if path.is_file():
            link_or_copy(path, build / path.relative_to(folder))
    return dict(manifest.query_model)


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
    layout: DataDir | None = None,
    mirror: MirrorsIndex | None = None,
) -> BuildReport:
    """Build (or confirm up to date) the index in `data_dir` from `articles`.

    Takes the data directory's build lock unless the caller says it holds it already.
    `query_model` adds the ONNX query model; from `approximate_from` passages on, the vector
    index is approximate (None: always exact). `layout` names where the pointer and the lock
    live (the data directory's own files by default).
    """
    started = time.perf_counter()
    layout = layout or DataDir(data_dir)
    report = BuildReport(problems=list(problems))
    with contextlib.nullcontext() if lock_held else layout.build_lock():
        parsed = _dedupe(articles, report.problems)
        digests = [article_digest(p) for p in parsed]
        source_digest = _digest(
            embedder.name, json.dumps(asdict(plan), sort_keys=True), *sorted(digests)
        )
        current = layout.current_or_none()
        previous = _previous(data_dir, current, embedder.name, embedder.dimension, plan)
        live = previous.articles if previous is not None else {}
        report.articles = len(parsed)
        fresh: list[tuple[ParsedArticle, str]] = []
        for p, d in zip(parsed, digests, strict=True):
            old = live.get(p.article.id)
            if old is None:
                report.added_articles += 1
            elif old.digest != d:
                report.changed_articles += 1
            if old is None or old.digest != d:
                fresh.append((p, d))
        wanted = {p.article.id: d for p, d in zip(parsed, digests, strict=True)}
        gone = [a for article_id, a in live.items() if wanted.get(article_id) != a.digest]
        report.removed_articles = sum(1 for article_id in live if article_id not in wanted)
        if previous is not None:
            # An index from before query models gets one (every vector reused).
            wants_query_model = query_model is not None and not previous.manifest.query_model
            # A mirror (Milvus) that does not hold the live state gets it even when nothing
            # changed: the first build after it is configured fills it.
            mirrored = mirror is None or mirror.holds(data_dir, previous.folder)
            if not fresh and not gone and not wants_query_model and mirrored:
                report.up_to_date = True
                report.passages = previous.manifest.passages
                report.generation = previous.folder
                report.seconds = time.perf_counter() - started
                return report

        _apply(
            data_dir,
            _Change(current, previous, fresh, gone, source_digest, len(parsed)),
            embedder,
            plan,
            report,
            _Options(batch_size, progress, query_model, approximate_from, layout, mirror),
        )
    report.seconds = time.perf_counter() - started
    return report


def update_index(
    data_dir: Path,
    embedder: EncodesText,
    plan: PassagePlan,
    *,
    add: Sequence[ParsedArticle] = (),
    remove: Collection[str] = (),
    expected: Mapping[str, str] | None = None,
    batch_size: int = 32,
    progress: Progress | None = None,
    lock_held: bool = False,
    query_model: QueryModelMaker | None = None,
    approximate_from: int | None = None,
    layout: DataDir | None = None,
    mirror: MirrorsIndex | None = None,
) -> BuildReport:
    """Add (or replace) the articles `add` and drop the ids `remove` in the live index,
    leaving every other article as it is: the work is in what changes, not in the
    collection (no source is read, no other passage is touched). What `build_index` would
    do with the live articles plus `add` minus `remove`.

    With `expected`, an id is added or removed only while its live article is the version
    given there (its digest; absent from `expected`: not live): a store changing its copy of
    an article leaves alone the one another store's copy took precedence over.

    Raises `NotReusable`, publishing nothing, when there is no live state to update in place:
    a state of `add` alone would drop every other article."""
    started = time.perf_counter()
    layout = layout or DataDir(data_dir)
    report = BuildReport()
    with contextlib.nullcontext() if lock_held else layout.build_lock():
        parsed = _dedupe(add, report.problems)
        current = layout.current_or_none()
        previous = _reusable(data_dir, current, embedder.name, embedder.dimension, plan)
        live = previous.articles
        if expected is not None:
            parsed = [p for p in parsed if _is_expected(live, expected, p.article.id)]
            remove = {a for a in remove if _is_expected(live, expected, a)}
        wanted = {a: old.digest for a, old in live.items() if a not in remove}
        fresh: list[tuple[ParsedArticle, str]] = []
        for p in parsed:
            d = article_digest(p)
            old = live.get(p.article.id)
            if old is None:
                report.added_articles += 1
            elif old.digest != d:
                report.changed_articles += 1
            if old is None or old.digest != d:
                fresh.append((p, d))
            wanted[p.article.id] = d
        gone = [a for article_id, a in live.items() if wanted.get(article_id) != a.digest]
        report.removed_articles = sum(1 for article_id in live if article_id not in wanted)
        report.articles = len(wanted)
        mirrored = mirror is None or (
            previous is not None and mirror.holds(data_dir, previous.folder)
        )
        if not fresh and not gone and mirrored:
            report.up_to_date = True
            report.passages = previous.manifest.passages
            report.generation = previous.folder
        else:
            source_digest = _digest(
                embedder.name, json.dumps(asdict(plan), sort_keys=True), *sorted(wanted.values())
            )
            _apply(
                data_dir,
                _Change(current, previous, fresh, gone, source_digest, len(wanted)),
                embedder,
                plan,
                report,
                _Options(batch_size, progress, query_model, approximate_from, layout, mirror),
            )
    report.seconds = time.perf_counter() - started
    return report


def _is_expected(live: Mapping[str, _LiveArticle], expected: Mapping[str, str], key: str) -> bool:
    old = live.get(key)
    return (old.digest if old is not None else None) == expected.get(key)


@dataclass(frozen=True, slots=True)
class _Change:
    """What an update does: the articles to write (with their digests) and those leaving."""

    current: Path | None
    previous: _Previous | None
    fresh: list[tuple[ParsedArticle, str]]
    gone: list[_LiveArticle]
    source_digest: str
    articles: int


@dataclass(frozen=True, slots=True)
class _Options:
    batch_size: int = 32
    progress: Progress | None = None
    query_model: QueryModelMaker | None = None
    approximate_from: int | None = None
    layout: DataDir | None = None
    mirror: MirrorsIndex | None = None


def _apply(
    data_dir: Path,
    change: _Change,
    embedder: EncodesText,
    plan: PassagePlan,
    report: BuildReport,
    options: _Options,
) -> None:
    """Writes `change` as one new segment and deletions, and publishes the new state."""
    previous, current, fresh, gone = change.previous, change.current, change.fresh, change.gone
    progress, batch_size = options.progress, options.batch_size
    query_model, approximate_from = options.query_model, options.approximate_from
    source_digest = change.source_digest
    stored_articles: list[StoredArticle] = []
    stored_passages: list[StoredPassage] = []
    documents: list[str] = []
    for row, (p, d) in enumerate(fresh):
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
            progress("splitting", row + 1, len(fresh))

    vectors = np.empty((len(documents), embedder.dimension), dtype=np.float32)
    reuse, gone_passages = (
        _old_vectors(data_dir, previous, gone) if previous is not None else ({}, 0)
    )
    missing = []
    for i, stored in enumerate(stored_passages):
        known = reuse.get(stored.digest)
        if known is None:
            missing.append(i)
        else:
            vectors[i] = known
    kept_passages = previous.manifest.passages - gone_passages if previous is not None else 0
    report.embedded = len(missing)
    report.reused = len(documents) - len(missing) + kept_passages
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
    segments = _next_segments(previous, gone)
    quantizer = previous.state.quantizer if previous is not None else None
    trained_on = previous.state.trained_on if previous is not None else 0
    imbalance = previous.state.trained_imbalance if previous is not None else 1.0
    total = kept_passages + len(documents)
    trained_here = (
        approximate_from is not None
        and quantizer is None
        and not segments
        and total >= approximate_from
        and len(vectors) > 0
    )
    if trained_here:
        # A build from nothing trains the IVF centres on its own vectors; an update keeps
        # the state's search kind until a merge decides (see index/merge.py).
        quantizer = write_quantizer(data_dir, VectorIndex.train(vectors))
        trained_on = len(vectors)
    centroids = read_centroids(data_dir, quantizer) if quantizer is not None else None
    lists = assign_lists(centroids, vectors) if centroids is not None else None
    if trained_here and lists is not None and centroids is not None:
        imbalance = imbalance_of(lists, len(centroids))
    if stored_articles:
        segments.append(
            write_segment(
                data_dir,
                NewSegment(
                    stored_articles, stored_passages, vectors, Postings.of(documents), lists
                ),
            )
        )
    state = IndexState(tuple(segments), quantizer, trained_on, imbalance)
    collections = dict(previous.manifest.collections) if previous is not None else {}
    for a in gone:
        collections[a.collection] -= 1
    for p, _ in fresh:
        collections[p.article.collection] = collections.get(p.article.collection, 0) + 1
    layout = options.layout or DataDir(data_dir)
    build = layout.new_build_folder()
    write_state(build, state)
    record: dict[str, Any] = {}
    if previous is not None and previous.manifest.query_model:
        record = carry_query_model(previous.folder, previous.manifest, build)
    elif query_model is not None:
        record = query_model(build).to_json()
    write_manifest(
        build,
        Manifest(
            model=embedder.name,
            dimension=embedder.dimension,
            passages=total,
            articles=change.articles,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            source_digest=source_digest,
            passage_plan=asdict(plan),
            versions=_versions(),
            files=checksum_folder(build),
            collections={c: n for c, n in collections.items() if n > 0},
            query_model=record,
        ),
    )
    report.generation = publish_state(
        layout,
        build,
        state,
        previous.folder if previous is not None else None,
        embedder.dimension,
        options.mirror,
    )
    collect_garbage(data_dir, [report.generation, *([current] if current else [])])
    report.passages = total
    if progress is not None:
        progress("saving", 1, 1)


def _next_segments(previous: _Previous | None, gone: Sequence[_LiveArticle]) -> list[SegmentRef]:
    """The previous state's segments with `gone` as deletions; wholly deleted ones dropped."""
    if previous is None:
        return []
    deleted: dict[int, set[int]] = {}
    for a in gone:
        deleted.setdefault(a.segment, set()).add(a.row)
    out = []
    for i, ref in enumerate(previous.state.segments):
        rows = set(ref.deleted) | deleted.get(i, set())
        if len(rows) < ref.articles:
            out.append(SegmentRef(ref.name, ref.passages, ref.articles, tuple(sorted(rows))))
    return out

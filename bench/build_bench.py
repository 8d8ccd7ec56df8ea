"""Build and query benchmark: ratios measured in one run, on the same passages.

    python -m bench.build_bench [--dataset ../shared/eval/squad] [--articles 16]

1. Full build throughput (passages/s, parsed articles to a published index) as a ratio to the
   model's own `encode` throughput on exactly the texts the build embeds (aim >= 0.85).
2. No-change reindex time as a ratio to the full build (aim <= 0.05).
3. Query latency (question to ranked hits with quotes), median and p99, at 10k and 100k
   passages: the dataset's passages repeated under new ids, with real texts for BM25 and the
   real vectors plus small noise, so the search does the same work as on real data.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from config import load_settings
from index.build import QueryModelMaker, document_text
from index.encode.embedder import Embedder
from index.engine import Engine, plan_from, tuning_from
from index.evaluate import load_dataset
from index.models import Article, Span
from index.query.searcher import Searcher
from index.store.database import StoredArticle, StoredPassage, passage_text_key
from index.store.layout import DataDir
from index.store.lexical import Postings
from index.store.manifest import Manifest, checksum_folder, write_manifest
from index.store.segments import (
    IndexState,
    NewSegment,
    SegmentedStore,
    load_vectors,
    read_state,
    write_segment,
    write_state,
)
from index.text.passages import make_passages

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "eval" / "squad"


@dataclass(frozen=True, slots=True)
class LivePassages:
    """A built index's passages in global row order: what a synthetic generation copies."""

    vectors: np.ndarray
    spans: list[tuple[int, int, int]]
    sentences: list[tuple[Span, ...]]


def live_passages(data_dir: Path, dimension: int) -> LivePassages:
    """The live state's passages, every segment's (deleted rows included: the benches read a
    fresh build, which has none)."""
    state = read_state(DataDir(data_dir).current())
    store = SegmentedStore(data_dir, state)
    try:
        spans = store.passage_spans()
        sentences = [store.passage_sentences(row) for row in range(len(spans))]
    finally:
        store.close()
    return LivePassages(load_vectors(data_dir, state, dimension).vectors(), spans, sentences)


def synthetic_generation(
    data_dir: Path,
    articles: list[Article],
    vectors: np.ndarray,
    docs: list[str],
    spans: list[tuple[int, int, int]],
    sentences: list[tuple[Span, ...]],
    target: int,
    model: str,
    dress: Callable[[Article, int], Article] | None = None,
    query_model: QueryModelMaker | None = None,
) -> None:
    """A generation of `target` passages made of copies of the measured ones, as one segment
    searched exactly (as a build below `approximate_from` is); `dress(article, copy)` may give
    each copy its own metadata (dates, outlets)."""
    rng = np.random.default_rng(0)
    copies = -(-target // len(docs))
    stored_articles: list[StoredArticle] = []
    stored_passages: list[StoredPassage] = []
    all_docs: list[str] = []
    for c in range(copies):
        for a in articles:
            copy = replace(a, id=f"{a.id}~{c}")
            if dress is not None:
                copy = dress(copy, c)
            stored_articles.append(StoredArticle(len(stored_articles), copy, str(c), "bench"))
        for i, (a_row, start, end) in enumerate(spans):
            if len(stored_passages) == target:
                break
            stored_passages.append(
                StoredPassage(
                    row=len(stored_passages),
                    article_row=c * len(articles) + a_row,
                    char_start=start,
                    char_end=end,
                    sentences=sentences[i],
                    digest=f"{c}-{i}",
                    text_key=passage_text_key(f"{c} {docs[i]}"),
                )
            )
            all_docs.append(docs[i])
    noisy = np.repeat(vectors, copies, axis=0)[:target]
    noisy = noisy + rng.normal(0, 0.02, noisy.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    segment = NewSegment(
        stored_articles, stored_passages, noisy.astype(np.float32), Postings.of(all_docs)
    )
    ref = write_segment(data_dir, segment)
    layout = DataDir(data_dir)
    build = layout.new_build_folder()
    write_state(build, IndexState((ref,)))
    record = query_model(build) if query_model is not None else None
    write_manifest(
        build,
        Manifest(
            model=model,
            dimension=noisy.shape[1],
            passages=target,
            articles=len(stored_articles),
            built_at="bench",
            source_digest="bench",
            passage_plan={},
            versions={},
            files=checksum_folder(build),
            query_model=record.to_json() if record is not None else {},
        ),
    )
    layout.publish(build)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--articles", type=int, default=16, help="articles in the build test")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()

    dataset = load_dataset(args.dataset)
    parsed = dataset.articles[: args.articles]
    settings = load_settings(environ={}, env_file=None)
    embedder = Embedder(settings.model)
    plan = plan_from(settings)

    passages = [
        (p, x)
        for p in parsed
        for x in make_passages(
            p.article.id, p.article.text, p.excluded, plan, embedder.count_tokens
        )
    ]
    docs = [document_text(p.article.title, x.text_of(p.article.text)) for p, x in passages]
    print(f"{len(parsed)} articles, {len(docs)} passages")

    # Warm the model so neither side pays the first-call cost.
    embedder.encode(docs[:64], settings.batch_size)
    started = time.perf_counter()
    embedder.encode(docs, settings.batch_size)
    encode_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(replace(settings, data_dir=Path(tmp) / "build"), embedder)
        started = time.perf_counter()
        report = engine.build_from(parsed)
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        again = engine.build_from(parsed)
        noop_s = time.perf_counter() - started
        assert again.up_to_date and again.embedded == 0

        encode_rate, build_rate = len(docs) / encode_s, report.passages / build_s
        print(f"model encode:     {encode_rate:7.1f} passages/s ({encode_s:.1f} s)")
        print(f"index build:      {build_rate:7.1f} passages/s ({build_s:.1f} s)")
        print(f"build / encode throughput ratio: {build_rate / encode_rate:.3f}  (aim >= 0.85)")
        print(
            f"no-change reindex: {noop_s:.3f} s; ratio to full build: {noop_s / build_s:.4f}"
            "  (aim <= 0.05)"
        )

        measured = live_passages(engine.data_dir, embedder.dimension)
        articles = [p.article for p in parsed]
        questions = [q.text for q in dataset.questions][: args.queries]
        for target in (10_000, 100_000):
            folder = Path(tmp) / f"q{target}"
            synthetic_generation(
                folder,
                articles,
                measured.vectors,
                docs,
                measured.spans,
                measured.sentences,
                target,
                embedder.name,
            )
            big = Searcher.open(folder, embedder, tuning_from(settings))
            for q in questions[:10]:
                big.search(q, settings.top_k)
            times = []
            for q in questions:
                t = time.perf_counter()
                big.search(q, settings.top_k)
                times.append(time.perf_counter() - t)
            times.sort()
            p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
            print(
                f"query latency at {target:>7,} passages: median "
                f"{1000 * statistics.median(times):.1f} ms, p99 {1000 * p99:.1f} ms"
            )


if __name__ == "__main__":
    main()

"""Filtered vs unfiltered query latency at 100k passages.

    python -m bench.filter_bench [--dataset ../shared/eval/squad] [--queries 200]

The synthetic corpus of bench/build_bench.py (the dataset's passages repeated under new ids,
real texts for BM25, real vectors plus small noise), each article copy given a date (spread
over 2023-2024) and one of five outlets. Each question is asked unfiltered and with each
filter; the ratio of median latencies is printed (aim <= 1.5). The filters run inside
retrieval (a FAISS bitmap selector and a BM25 mask), so a filter costs building its masks.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.build_bench import DEFAULT_DATASET, live_passages, synthetic_generation
from config import load_settings
from index.build import document_text
from index.encode.embedder import Embedder
from index.engine import Engine, plan_from, tuning_from
from index.evaluate import load_dataset
from index.models import Article, SearchFilters, Sort
from index.query.searcher import Searcher
from index.text.passages import make_passages

TARGET = 100_000
OUTLETS = ("Velmar Gazette", "Coastline Daily", "The Northern Ledger", "Daily Tide", "Port News")
FIRST_DAY = date(2023, 1, 1)


def dress(article: Article, copy: int) -> Article:
    """A date over two years and an outlet, varied by copy and article."""
    n = copy * 7919 + sum(map(ord, article.id))
    day = FIRST_DAY + timedelta(days=n % 730)
    return replace(article, date=day.isoformat(), source=OUTLETS[n % len(OUTLETS)])


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


FILTERS = {
    "since 2024-01-01 (half)": SearchFilters(since=at("2024-01-01")),
    "outlet (a fifth)": SearchFilters(outlets=("daily tide",)),
    "2024-06 + outlet (1%)": SearchFilters(
        since=at("2024-06-01"), until=at("2024-07-01"), outlets=("Port News",)
    ),
    "as_of 2023-07-01 (a quarter)": SearchFilters(as_of=at("2023-07-01")),
    "sort newest, no window": SearchFilters(sort=Sort.NEWEST),
}


def median_ms(searcher: Searcher, questions: list[str], k: int, filters: SearchFilters) -> float:
    times = []
    for q in questions:
        started = time.perf_counter()
        searcher.search(q, k, filters=filters)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--articles", type=int, default=16)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    dataset = load_dataset(args.dataset)
    parsed = dataset.articles[: args.articles]
    settings = load_settings(environ={}, env_file=None)
    embedder = Embedder(settings.model)
    plan = plan_from(settings)
    docs = [
        document_text(p.article.title, x.text_of(p.article.text))
        for p in parsed
        for x in make_passages(
            p.article.id, p.article.text, p.excluded, plan, embedder.count_tokens
        )
    ]
    questions = [q.text for q in dataset.questions][: args.queries]
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(replace(settings, data_dir=Path(tmp) / "build"), embedder)
        engine.build_from(parsed)
        measured = live_passages(engine.data_dir, embedder.dimension)
        folder = Path(tmp) / "big"
        articles = [p.article for p in parsed]
        synthetic_generation(
            folder,
            articles,
            measured.vectors,
            docs,
            measured.spans,
            measured.sentences,
            TARGET,
            embedder.name,
            dress,
        )
        big = Searcher.open(folder, embedder, tuning_from(settings))
        k = settings.top_k
        for q in questions[:10]:
            big.search(q, k)
        # Interleaved rounds, so that load from other processes hits every variant alike.
        rounds: dict[str, list[float]] = {"unfiltered": [], **{name: [] for name in FILTERS}}
        for _ in range(3):
            rounds["unfiltered"].append(median_ms(big, questions, k, SearchFilters()))
            for name, filters in FILTERS.items():
                rounds[name].append(median_ms(big, questions, k, filters))
        base = min(rounds["unfiltered"])
        print(f"{big.passage_count:,} passages, {len(questions)} questions, k={k}")
        print(f"{'unfiltered':<30} median {base:6.1f} ms")
        for name in FILTERS:
            best = min(rounds[name])
            print(f"{name:<30} median {best:6.1f} ms   ratio {best / base:.2f}  (aim <= 1.5)")


if __name__ == "__main__":
    main()

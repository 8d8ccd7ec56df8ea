"""`articlebot eval`: build the dataset's index, score the pipelines, print the figures."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from config import Settings
from index.engine import (
    CUTOFFS,
    Engine,
    Scores,
    decline_check,
    load_dataset,
    median_passage_chars,
    score,
    spread,
    subset,
)
from index.models import Mode


def _row(s: Scores, median_chars: float) -> str:
    hits = " ".join(f"{s.rate(n):.3f}" for n in CUTOFFS)
    return (
        f"{s.mode:<8} {hits}  {s.mrr:.3f}  {s.quote_at_1:.3f}   {median_chars:>6.0f}"
        f"   {s.latency_ms(0.5):6.1f} {s.latency_ms(0.99):6.1f}"
    )


def _header() -> str:
    cut = " ".join(f"hit@{n:<2}" for n in CUTOFFS)
    return f"{'pipeline':<8} {cut} MRR@10 quote@1 med.chars  p50ms  p99ms"


def run_eval(
    settings: Settings,
    dataset_dir: Path,
    compare: bool,
    no_match: bool,
    limit: int | None,
    articles: int | None = None,
    sample: int | None = None,
) -> int:
    dataset = load_dataset(dataset_dir)
    if articles:
        dataset = subset(dataset, articles)
    questions = dataset.questions[:limit] if limit else dataset.questions
    if sample:
        questions = spread(questions, sample)
    print(f"{dataset_dir}: {len(dataset.articles)} articles, {len(questions)} questions")
    # The eval's throwaway indexes keep their state beside them, never in the operator's
    # database, whose index pointer names the live index.
    settings = replace(settings, database_url=None)
    with tempfile.TemporaryDirectory(prefix="articlebot-eval-") as tmp:
        engine = Engine(replace(settings, data_dir=Path(tmp) / "all"))
        build = engine.build_from(dataset.articles)
        searcher = engine.searcher()
        median = median_passage_chars(searcher)
        print(f"indexed {build.passages} passages in {build.seconds:.1f} s\n")
        print(_header())
        modes = [Mode.HYBRID, Mode.DENSE, Mode.LEXICAL] if compare else [Mode.HYBRID]
        for mode in modes:
            print(_row(score(searcher, questions, mode), median), flush=True)

        if no_match:
            indexed = {p.article.id for i, p in enumerate(dataset.articles) if i % 2 == 0}
            # Its own Milvus collection too, when Milvus is configured: the two indexes differ.
            half_settings = replace(
                settings,
                data_dir=Path(tmp) / "half",
                milvus_collection=f"{settings.milvus_collection}_half",
            )
            half = Engine(half_settings, engine.embedder)
            half.build_from([p for p in dataset.articles if p.article.id in indexed])
            check = decline_check(half.searcher(), indexed, questions)
            print(
                f"\nno-match check (min_score {settings.min_score}): half the articles indexed\n"
                f"  declined, questions about articles not indexed: "
                f"{check.declined_unanswerable:.3f} of {check.unanswerable}\n"
                f"  declined, answerable questions:                 "
                f"{check.declined_answerable:.3f} of {check.answerable}\n"
                f"  hit@5 on answerable questions: {check.hit5_all:.3f} without the threshold, "
                f"{check.hit5_kept:.3f} kept with it (drop {check.hit5_all - check.hit5_kept:.3f})"
            )
            if check.sweep:
                print("\n  to decline  min_score  declined  hit@5 kept   drop")
                for point in check.sweep:
                    print(
                        f"  {point.target:>9.0%}  {point.min_score:>9.3f}  "
                        f"{point.declined_unanswerable:>8.3f}  {point.hit5_kept:>10.3f}  "
                        f"{check.hit5_all - point.hit5_kept:>5.3f}"
                    )
    sys.stdout.flush()
    return 0

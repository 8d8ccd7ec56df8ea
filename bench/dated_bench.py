"""Time words in questions, measured: hit@1 and hit@5 on the dated question set
(bench/dated_questions.py) with and without each question's `as_of`.

    python -m bench.dated_bench [--boosts 0,0.05,0.1,0.2,1]

Without `as_of` the time words resolve against today's clock, where no edition is in the
period, so nothing is preferred and later editions compete: that is the archive asked without
its date. With `as_of`, the period's editions get the time boost and later ones are excluded.
The last line runs the same questions with the period as a hard filter (since/until) instead
of a boost, the alternative the boost was chosen over.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

from bench.dated_questions import DatedQuestion, DatedSet, build
from config import load_settings
from index.encode.embedder import Embedder
from index.engine import Engine, search_filters, tuning_from
from index.models import SearchFilters, SearchResult
from index.query.searcher import Searcher
from index.query.timewords import read_time_words

CUTOFFS = (1, 5)


def is_hit(result: SearchResult, question: DatedQuestion, dataset: DatedSet, k: int) -> bool:
    return any(
        h.article.id in question.gold and dataset.facts[h.article.id] in h.text
        for h in result.hits[:k]
    )


def run(searcher: Searcher, dataset: DatedSet, with_as_of: bool, hard: bool = False) -> str:
    """hit@k over the questions whose period holds their story, then over the stale ones."""
    return "   ".join(
        scores(
            searcher, dataset, [q for q in dataset.questions if q.stale == stale], with_as_of, hard
        )
        for stale in (False, True)
    )


def scores(
    searcher: Searcher,
    dataset: DatedSet,
    questions: list[DatedQuestion],
    with_as_of: bool,
    hard: bool,
) -> str:
    found = dict.fromkeys(CUTOFFS, 0)
    for q in questions:
        filters = search_filters(as_of=q.as_of) if with_as_of else SearchFilters()
        if hard and filters.as_of is not None:
            window = read_time_words(q.question, filters.as_of).window
            if window is not None:
                filters = replace(filters, since=window.start, until=window.end)
        result = searcher.search(q.question, max(CUTOFFS), filters=filters)
        for k in CUTOFFS:
            found[k] += is_hit(result, q, dataset, k)
    return "  ".join(f"hit@{k} {found[k] / len(questions):.3f}" for k in CUTOFFS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boosts", default="0,0.05,0.1,0.2,1")
    args = parser.parse_args()
    dataset = build()
    settings = load_settings(environ={}, env_file=None)
    embedder = Embedder(settings.model)
    stale = sum(q.stale for q in dataset.questions)
    print(
        f"{len(dataset.articles)} articles; {len(dataset.questions) - stale} questions whose "
        f"period holds their story, {stale} stale (see bench/dated_questions.py)"
    )
    print(f"{'':<38} {'in-period questions':<26} stale questions")
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(replace(settings, data_dir=Path(tmp) / "data"), embedder)
        engine.build_from(dataset.articles)
        tuning = tuning_from(settings)
        searcher = engine.searcher()
        print(f"{'without as_of':<38} {run(searcher, dataset, with_as_of=False)}")
        for boost in (float(b) for b in args.boosts.split(",")):
            searcher.tuning = replace(tuning, time_boost=boost)
            label = f"with as_of, time boost {boost:g}"
            label += " (default)" if boost == tuning.time_boost else ""
            print(f"{label:<38} {run(searcher, dataset, True)}")
        searcher.tuning = tuning
        label = "with as_of, period as hard filter"
        print(f"{label:<38} {run(searcher, dataset, True, hard=True)}")


if __name__ == "__main__":
    main()

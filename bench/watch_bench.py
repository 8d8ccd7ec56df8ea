"""Watch benchmark: articles arrive one by one, every question watched before its article.

    python -m bench.watch_bench [--dataset ../shared/eval/squad] [--articles N]
                                [--sizes 1000,10000] [--ranker learned|fused]

The first article of the question set is the archive; the others arrive one at a time, each
as its own incremental update (`index.build.update_index`, what the worker's jobs call),
embedded by the real model. Before the first arrival, every question about an arriving
article is watched (its vector made by the index's ONNX query encoder, as `/watch add`
makes it), with the default settings (`ARTICLEBOT_MIN_SCORE`, three posts per watch a day:
the arrivals all fall within one day). After each arrival the matcher runs, as the worker runs
it after every job, judging as `--ranker` says (the default ranker when not given).

Printed:
- the share of watches answered by their article's arrival (a post holding the question's
  own article), and of those whose posted passage holds an answer span whole;
- false posts (a post without the watch's own article) per 100 arrivals, and per 100
  arrivals and 1,000 watches;
- the matching cost per arrival (`WatchMatcher.catch_up`, timed alone: reading the new
  passages, matching, recording) at each size of `--sizes`: stores of that many watches
  (the dataset's questions, repeated under other owners past its 5,306) matched against the
  same arrivals; median, p90 and max, with the arrival's passages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from config import Settings, load_settings
from index.build import update_index
from index.engine import Engine, plan_from
from index.evaluate import Question, load_dataset
from index.models import SHARED_COLLECTION, ParsedArticle
from index.query.searcher import Searcher
from index.query.tuning import RANKERS, SearchTuning
from index.store.watches import NewWatch, SqliteWatchStore, WatchLimits, WatchStore, WatchTarget
from index.watch_match import WatchMatcher, watch_matcher

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "eval" / "squad"
UNLIMITED = WatchLimits(per_member=10**9, per_server=10**9, expiry_days=30)


@dataclass(frozen=True, slots=True)
class Cost:
    watches: int
    seconds: list[float]
    passages: list[int]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--articles", type=int, default=0, help="only the first N (0: all)")
    parser.add_argument("--sizes", default="1000,10000", help="watch counts timed")
    parser.add_argument("--ranker", choices=RANKERS, default=SearchTuning().ranker)
    args = parser.parse_args(argv)
    if not (args.dataset / "articles.jsonl").is_file():
        raise SystemExit(f"{args.dataset}: no question set (../shared/eval/squad)")
    dataset = load_dataset(args.dataset)
    articles = dataset.articles[: args.articles] if args.articles else dataset.articles
    with tempfile.TemporaryDirectory(prefix="watch-bench-") as scratch:
        sizes = [int(s) for s in args.sizes.split(",")]
        run(Path(scratch), articles, dataset.questions, sizes, args.ranker)


def run(
    scratch: Path,
    articles: Sequence[ParsedArticle],
    questions: Sequence[Question],
    sizes: Sequence[int],
    ranker: str,
) -> None:
    archive, arriving = articles[0], articles[1:]
    source = scratch / "archive.jsonl"
    a = archive.article
    record = {"id": a.id, "title": a.title, "text": a.text, "date": a.date, "source": a.source}
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    settings = load_settings(
        environ={},
        env_file=None,
        data_dir=scratch / "data",
        sources=[str(source)],
        ranker=ranker,
    )
    engine = Engine(settings)
    started = time.perf_counter()
    engine.rebuild()
    searcher = engine.searcher()
    model = searcher.manifest.model
    took = time.perf_counter() - started
    print(f"archive: {a.id}, {searcher.passage_count} passages ({took:.0f} s); ranker {ranker}")

    arriving_ids = {p.article.id for p in arriving}
    watched = [q for q in questions if q.article_id in arriving_ids]
    started = time.perf_counter()
    vectors = {q.id: searcher.question_vector(q.text) for q in questions}
    took = time.perf_counter() - started
    print(f"{len(vectors)} questions encoded by the ONNX query model in {took:.0f} s")

    quality = engine.watches.store
    gold: dict[int, Question] = {}
    for q in watched:
        w = quality.add(_watch(q.id, q.text, model, vectors[q.id]), UNLIMITED, time.time()).watch
        gold[w.id] = q
    matchers = [(len(watched), _matcher(settings, quality, engine.searcher))]
    for size in sizes:
        store = SqliteWatchStore(scratch / f"cost-{size}.sqlite")
        for i in range(size):
            q = questions[i % len(questions)]
            store.add(_watch(f"{i}", q.text, model, vectors[q.id]), UNLIMITED, time.time())
        matchers.append((size, _matcher(settings, store, engine.searcher)))
    for _, matcher in matchers:
        matcher.catch_up()

    costs = [Cost(size, [], []) for size, _ in matchers]
    plan = plan_from(settings)
    for n, parsed in enumerate(arriving, 1):
        update_index(settings.data_dir, engine.embedder, plan, add=[parsed])
        for cost, (_, matcher) in zip(costs, matchers, strict=True):
            found = matcher.catch_up()
            cost.seconds.append(found.seconds)
            cost.passages.append(found.passages)
        print(
            f"arrival {n}/{len(arriving)}: {parsed.article.id}, {costs[0].passages[-1]} passages; "
            + ", ".join(f"{c.watches} watches {c.seconds[-1]:.3f} s" for c in costs),
            flush=True,
        )
    report(quality, gold, len(watched), len(arriving), costs)


def report(
    store: WatchStore,
    gold: dict[int, Question],
    watched: int,
    arrivals: int,
    costs: list[Cost],
) -> None:
    posts = store.unposted(10**9, [WatchTarget.CLI])
    answered: set[int] = set()
    in_passage: set[int] = set()
    false_posts = 0
    for post in posts:
        q = gold[post.watch.id]
        article = q.article_id
        own = [h for h in post.result.hits if article in {h.article.id, *(r.id for r in h.also_in)}]
        if not own:
            false_posts += 1
            continue
        answered.add(post.watch.id)
        if any(h.char_start <= s and e <= h.char_end for h in own for s, e in q.answers):
            in_passage.add(post.watch.id)
    print()
    print(f"watches: {watched}, arrivals: {arrivals}, posts: {len(posts)}")
    print(f"answered by their article's arrival: {len(answered) / watched:.3f} ({len(answered)})")
    print(f"  with an answer span in the posted passage: {len(in_passage) / watched:.3f}")
    per_100 = 100 * false_posts / arrivals
    print(
        f"false posts: {false_posts} = {per_100:.1f} per 100 arrivals "
        f"= {per_100 * 1000 / watched:.2f} per 100 arrivals per 1,000 watches"
    )
    print()
    print("matching cost per arrival (catch_up alone):")
    for cost in costs:
        seconds = np.array(cost.seconds)
        print(
            f"  {cost.watches:>6} watches: median {statistics.median(cost.seconds):.3f} s, "
            f"p90 {np.percentile(seconds, 90):.3f} s, max {seconds.max():.3f} s "
            f"(arrivals of {statistics.median(cost.passages):.0f} passages median, "
            f"{max(cost.passages)} max)"
        )


def _watch(owner: str, question: str, model: str, vector: np.ndarray) -> NewWatch:
    return NewWatch(
        collection=SHARED_COLLECTION,
        owner=owner,
        target=WatchTarget.CLI,
        question=question,
        model=model,
        vector=vector,
    )


def _matcher(
    settings: Settings, store: WatchStore, searcher: Callable[[], Searcher]
) -> WatchMatcher:
    """The matcher as the worker builds it: under the learned ranker, the searcher over
    the live state judges."""
    return watch_matcher(settings, store, searcher=searcher)


if __name__ == "__main__":
    main()

"""Follow-up questions: hit@5 asked alone vs asked as a follow-up, and the calibration of
the `followup_confidence` threshold.

    python -m bench.followup_eval [--dataset ../shared/eval/squad] [--data-dir DIR]

Indexes the dataset's articles (once; DIR is reused), builds the pairs of
`bench/followup_set.py` and, for each pair, searches the follow-up alone and with the earlier
question's context (its informative words added, the articles of the earlier answer's top 3
preferred), as `Engine.ask_followup` does. The rule "use the context when the follow-up has a
pronoun and its own best match is below T" is calibrated on the pairs of the articles at even
positions (best hit@5 over dependent and new-topic pairs together) and reported on the others.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from bench.followup_set import DEFAULT_DATASET, FollowupPair, build_pairs, paragraph_of
from config import load_settings
from index.engine import Engine, load_dataset
from index.evaluate import Question
from index.models import SearchResult
from index.query.followup import expand, has_anaphor
from index.query.hints import RankingHints

K = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    pair: FollowupPair
    alone_hit: bool
    context_hit: bool
    confidence: float
    anaphor: bool

    def hit(self, threshold: float) -> bool:
        use = self.anaphor and self.confidence < threshold
        return self.context_hit if use else self.alone_hit


def _found(result: SearchResult, q: Question) -> bool:
    return any(
        h.article.id == q.article_id
        and any(h.char_start <= a and b <= h.char_end for a, b in q.answers)
        for h in result.hits
    )


def measure(
    engine: Engine, pairs: list[FollowupPair], questions: dict[str, Question]
) -> list[Outcome]:
    searcher = engine.searcher()
    out = []
    for pair in pairs:
        gold = questions[pair.question_id]
        earlier = searcher.search(pair.previous, 3, apply_threshold=False)
        alone = searcher.search(pair.question, K, apply_threshold=False)
        hints = RankingHints(preferred_articles=frozenset(h.article.id for h in earlier.hits))
        context = searcher.search(
            expand(pair.question, pair.previous), K, apply_threshold=False, hints=hints
        )
        out.append(
            Outcome(
                pair,
                _found(alone, gold),
                _found(context, gold),
                alone.best_score,
                has_anaphor(pair.question),
            )
        )
    return out


def _rate(outcomes: list[Outcome], kind: str, pick: str, threshold: float = 0.0) -> str:
    chosen = [o for o in outcomes if o.pair.kind == kind]
    if not chosen:
        return "n/a"
    if pick == "alone":
        hits = sum(o.alone_hit for o in chosen)
    elif pick == "context":
        hits = sum(o.context_hit for o in chosen)
    else:
        hits = sum(o.hit(threshold) for o in chosen)
    return f"{hits / len(chosen):.3f} ({hits}/{len(chosen)})"


def calibrate(outcomes: list[Outcome]) -> float:
    """The threshold with the most hits (dependent and new pairs together); the lowest on ties."""
    grid = [n / 100 for n in range(0, 101)]
    return max(grid, key=lambda t: (sum(o.hit(t) for o in outcomes), -t))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/articlebot-followup-bench"))
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    settings = load_settings(data_dir=args.data_dir, sources=[])
    engine = Engine(settings)
    if not engine.has_index():
        started = time.perf_counter()
        engine.build_from(dataset.articles)
        print(f"indexed {len(dataset.articles)} articles in {time.perf_counter() - started:.0f} s")
    pairs = build_pairs(dataset, paragraph_of(args.dataset))
    questions = {q.id: q for q in dataset.questions}
    order = [p.article.id for p in dataset.articles]
    outcomes = measure(engine, pairs, questions)
    calib = [o for o in outcomes if order.index(o.pair.article_id) % 2 == 0]
    held = [o for o in outcomes if order.index(o.pair.article_id) % 2 == 1]
    threshold = calibrate(calib)
    print(
        f"calibrated on {len(calib)} pairs (even articles): followup_confidence = {threshold:.2f}"
    )
    print(f"reported on {len(held)} pairs (odd articles), hit@{K}:")
    print("kind        alone           always-context  rule")
    for kind in ("dependent", "new"):
        print(
            f"{kind:<11} {_rate(held, kind, 'alone'):<15} {_rate(held, kind, 'context'):<15} "
            f"{_rate(held, kind, 'rule', threshold)}"
        )
    used = [o for o in held if o.anaphor and o.confidence < threshold]
    print(
        f"context used for {len(used)}/{len(held)} held-out pairs "
        f"({sum(o.pair.kind == 'dependent' for o in used)} dependent)"
    )


if __name__ == "__main__":
    main()

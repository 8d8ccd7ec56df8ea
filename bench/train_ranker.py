"""Fit the learned ranker and confidence (`index/query/learned.py`) and report them against the
fused ranking on questions they never saw.

    python -m bench.train_ranker [--dataset ../shared/eval/squad] [--cache .cache/squad-index]

Needs the `train` extra (scikit-learn). The articles at even positions of the dataset give
the training questions, those at odd positions the report; every question is asked of one
index of all the articles (built once into `--cache` and reused), in three ways:

- answerable: as it is;
- on-topic negative: with every passage holding a sentence that holds one of its answers
  hidden from retrieval, so the article is there but no longer says the answer (the remaining
  windows still cover every other sentence; only windows bridging the gap are missing, and
  BM25's term statistics still count the hidden sentences);
- off-corpus: with every passage of its article hidden.

The ranker is a logistic regression telling passages that hold an answer from the others
among each answerable question's first `--depth` fused candidates. The confidence is a
logistic regression on the top candidate after reranking, telling answerable questions from
both kinds of negative; its threshold declines `--decline` of the training off-corpus
questions and is moved onto the default `min_score`. The quote's answer-type bonus is the
one of `QUOTE_BONUSES` with the best quote@1 on the training questions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import statistics
import sys
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from config import load_settings
from index.engine import Engine, tuning_from
from index.evaluate import Question, load_dataset
from index.models import Mode, SearchFilters, Span
from index.query import learned
from index.query.features import FEATURE_NAMES
from index.query.searcher import RankedFeatures, Searcher
from index.store.layout import DataDir
from index.store.search_backend import RowFilter
from index.store.vectors import AllowedRows

QUOTE_BONUSES = (0.0, 0.05, 0.1, 0.2, 0.3)


class HidingSearcher(Searcher):
    """A searcher that cannot see the passages `hidden` marks: an article without its
    answer sentences, or without the article, with no index built for each question."""

    hidden: np.ndarray | None = None

    def _rows(
        self, collections: Collection[str] | None, filters: SearchFilters | None
    ) -> RowFilter | None:
        scope = super()._rows(collections, filters)
        if self.hidden is None:
            return scope
        mask = ~self.hidden if scope is None else scope.mask & ~self.hidden
        return RowFilter(mask, AllowedRows.of(np.flatnonzero(mask)))

    def article_rows(self, article_id: str) -> np.ndarray:
        return self._passage_article == self._article_rows[article_id]

    def answer_rows(self, article_id: str, answers: Sequence[tuple[int, int]]) -> np.ndarray:
        """The article's passages holding any sentence that holds part of an answer."""
        rows = np.flatnonzero(self.article_rows(article_id))
        sentences: set[Span] = set()
        for row in rows:
            sentences.update(self._store.passage_sentences(int(row)))
        gone = [s for s in sentences if any(s.start < b and a < s.end for a, b in answers)]
        hidden = np.zeros(self.passage_count, dtype=bool)
        for row in rows:
            start, end = int(self._passage_start[row]), int(self._passage_end[row])
            hidden[row] = any(s.start < end and start < s.end for s in gone)
        return hidden

    def holds_answer(self, rows: np.ndarray, q: Question) -> np.ndarray:
        """Whether each passage of `rows` is of `q`'s article and holds one of its answers."""
        article = self._article_rows[q.article_id]
        starts, ends = self._passage_start[rows], self._passage_end[rows]
        inside = np.zeros(len(rows), dtype=bool)
        for a, b in q.answers:
            inside |= (starts <= a) & (b <= ends)
        return inside & (self._passage_article[rows] == article)

    @contextmanager
    def hiding(self, hidden: np.ndarray | None) -> Iterator[None]:
        self.hidden = hidden
        try:
            yield
        finally:
            self.hidden = None

    def use(self, model: learned.LearnedRanker | None) -> None:
        """Answer with `model` (None: the fused ranking) from now on."""
        self._learned = model
        self.tuning = replace(self.tuning, ranker="learned" if model else "fused")


def _open(settings_dir: Path, dataset: Path) -> tuple[HidingSearcher, list[Question], list[str]]:
    # The bench's own index keeps its state beside it, never in an operator's database.
    settings = replace(load_settings(env_file=None), data_dir=settings_dir, database_url=None)
    data = load_dataset(dataset)
    engine = Engine(settings)
    if DataDir(settings_dir).current_or_none() is None:
        print(f"building the index of {len(data.articles)} articles into {settings_dir}")
        engine.build_from(data.articles)
    base = engine.searcher()
    # The index's own ONNX query encoder, as `articlebot eval` answers with.
    searcher = HidingSearcher(base.folder, base._embedder, tuning_from(settings))
    return searcher, data.questions, [a.article.id for a in data.articles]


@dataclass(slots=True)
class Asked:
    """Each question's candidates and features, for one way of asking it."""

    tables: list[RankedFeatures]
    labels: list[np.ndarray]


def _ask_all(searcher: HidingSearcher, questions: list[Question], kind: str, depth: int) -> Asked:
    tables, labels = [], []
    started = time.perf_counter()
    for i, q in enumerate(questions):
        hidden = None
        if kind == "on-topic":
            hidden = searcher.answer_rows(q.article_id, q.answers)
        elif kind == "off-corpus":
            hidden = searcher.article_rows(q.article_id)
        with searcher.hiding(hidden):
            table = searcher.ranked_features(q.text, depth)
        tables.append(table)
        labels.append(searcher.holds_answer(table.rows, q))
        if (i + 1) % 500 == 0:
            print(f"  {kind}: {i + 1}/{len(questions)} ({time.perf_counter() - started:.0f} s)")
    return Asked(tables, labels)


def _fit(features: np.ndarray, labels: np.ndarray, seed: int) -> learned.LinearModel:
    from sklearn.linear_model import LogisticRegression

    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    model.fit((features - mean) / scale, labels)
    return learned.LinearModel(mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def _top_confidence_features(
    model: learned.LearnedRanker, asked: Asked
) -> tuple[np.ndarray, list[bool]]:
    """Per question, the confidence model's input for the candidate the ranker puts first,
    and whether that question's top 5 after reranking holds an answer."""
    rows, found = [], []
    for table, label in zip(asked.tables, asked.labels, strict=True):
        if not len(table.rows):
            rows.append(np.zeros(len(FEATURE_NAMES) + 2))
            found.append(False)
            continue
        scores = model.ranker.logits(table.features)
        both = model.confidence_features(table.features, scores)
        order = np.argsort(-scores, kind="stable")
        rows.append(both[order[0]])
        found.append(bool(label[order[:5]].any()))
    return np.array(rows), found


def _threshold(scores: np.ndarray, decline: float) -> float:
    """The logit below which `decline` of `scores` lie."""
    ordered = np.sort(scores)
    return float(ordered[min(len(ordered) - 1, math.ceil(decline * len(ordered)) - 1)]) + 1e-9


@dataclass(frozen=True, slots=True)
class Figures:
    ranker: str
    hit1: float
    hit5: float
    quote1: float
    p50_ms: float
    declined_answerable: float
    hit5_kept: float
    declined_on_topic: float
    declined_off_corpus: float


def _measure(searcher: HidingSearcher, questions: list[Question], name: str) -> Figures:
    """What a user sees, through `Searcher.search`, for the answerable questions and both
    kinds of negative."""
    hit1 = hit5 = quote1 = kept = declined = on_topic = off_corpus = 0
    times = []
    for q in questions:
        started = time.perf_counter()
        raw = searcher.search(q.text, 5, mode=Mode.HYBRID, apply_threshold=False)
        times.append(time.perf_counter() - started)
        ranks = [
            i
            for i, h in enumerate(raw.hits)
            if h.article.id == q.article_id
            and any(h.char_start <= a and b <= h.char_end for a, b in q.answers)
        ]
        hit1 += bool(ranks) and ranks[0] == 0
        hit5 += bool(ranks)
        if raw.hits:
            top = raw.hits[0]
            quote1 += top.article.id == q.article_id and any(
                top.quote_start <= a and b <= top.quote_end for a, b in q.answers
            )
        threshold = searcher.tuning.min_score
        answered = raw.best_score is not None and raw.best_score >= threshold
        declined += not answered
        kept += answered and bool(ranks)
        with searcher.hiding(searcher.answer_rows(q.article_id, q.answers)):
            on_topic += not searcher.search(q.text, 5).matched
        with searcher.hiding(searcher.article_rows(q.article_id)):
            off_corpus += not searcher.search(q.text, 5).matched
    n = len(questions)
    return Figures(
        name,
        hit1 / n,
        hit5 / n,
        quote1 / n,
        1000 * statistics.median(times),
        declined / n,
        kept / n,
        on_topic / n,
        off_corpus / n,
    )


def _quote_at_1(searcher: HidingSearcher, questions: list[Question]) -> float:
    good = 0
    for q in questions:
        hits = searcher.search(q.text, 1, apply_threshold=False).hits
        good += bool(hits) and (
            hits[0].article.id == q.article_id
            and any(hits[0].quote_start <= a and b <= hits[0].quote_end for a, b in q.answers)
        )
    return good / len(questions)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=Path("../shared/eval/squad"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/squad-index"))
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--decline", type=float, default=0.90)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=learned.MODEL_PATH)
    parser.add_argument("--limit", type=int, default=0, help="questions per half (0: all)")
    args = parser.parse_args()
    import sklearn

    searcher, questions, article_ids = _open(args.cache, args.dataset)
    even = {a for i, a in enumerate(article_ids) if i % 2 == 0}
    train = [q for q in questions if q.article_id in even]
    held = [q for q in questions if q.article_id not in even]
    if args.limit:
        train, held = train[: args.limit], held[: args.limit]
    print(f"{len(train)} training questions, {len(held)} held out")

    answerable = _ask_all(searcher, train, "answerable", args.depth)
    features = np.vstack([t.features for t in answerable.tables])
    labels = np.concatenate(answerable.labels)
    ranker = _fit(features, labels, args.seed)

    on_topic = _ask_all(searcher, train, "on-topic", args.depth)
    off_corpus = _ask_all(searcher, train, "off-corpus", args.depth)
    draft = learned.LearnedRanker(ranker, ranker, args.depth, 0.0)
    pos, _ = _top_confidence_features(draft, answerable)
    neg_topic, _ = _top_confidence_features(draft, on_topic)
    neg_off, _ = _top_confidence_features(draft, off_corpus)
    sure = _fit(
        np.vstack([pos, neg_topic, neg_off]),
        np.concatenate([np.ones(len(pos)), np.zeros(len(neg_topic) + len(neg_off))]),
        args.seed,
    )
    cut = _threshold(sure.logits(neg_off), args.decline)
    default_min = tuning_from(load_settings(environ={}, env_file=None)).min_score
    shift = math.log(default_min / (1 - default_min)) - cut
    sure = replace(sure, intercept=sure.intercept + shift)

    model = learned.LearnedRanker(ranker, sure, args.depth, 0.0)
    bonus_scores = {}
    for bonus in QUOTE_BONUSES:
        searcher.use(replace(model, quote_type_bonus=bonus))
        bonus_scores[bonus] = _quote_at_1(searcher, train)
        print(f"  quote type bonus {bonus}: training quote@1 {bonus_scores[bonus]:.3f}")
    bonus = max(QUOTE_BONUSES, key=lambda b: (bonus_scores[b], -b))
    model = replace(model, quote_type_bonus=bonus)
    learned.save(args.out, model.ranker, model.confidence, model.depth, bonus)

    print(f"\nheld-out half: {len(held)} questions about {len(article_ids) - len(even)} articles")
    results = []
    for name, chosen in (("fused", None), ("learned", model)):
        searcher.use(chosen)
        results.append(_measure(searcher, held, name))
    header = (
        "ranker   hit@1  hit@5  quote@1  p50ms  declined(answerable)  hit@5 kept  "
        "declined(on-topic)  declined(off-corpus)"
    )
    print(header)
    for f in results:
        print(
            f"{f.ranker:<8} {f.hit1:.3f}  {f.hit5:.3f}  {f.quote1:.3f}  {f.p50_ms:5.1f}  "
            f"{f.declined_answerable:20.3f}  {f.hit5_kept:10.3f}  {f.declined_on_topic:18.3f}  "
            f"{f.declined_off_corpus:20.3f}"
        )

    provenance = {
        "command": "python -m bench.train_ranker " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {
            name: _sha256(args.dataset / name)
            for name in ("articles.jsonl", "questions.jsonl", "questions_meta.jsonl")
        },
        "split": "trained on the questions about articles at even positions of articles.jsonl, "
        "reported on the odd ones",
        "training_questions": len(train),
        "seed": args.seed,
        "depth": args.depth,
        "decline_target_off_corpus": args.decline,
        "quote_type_bonus": bonus,
        "quote_bonus_training_quote_at_1": bonus_scores,
        "features": list(FEATURE_NAMES),
        "ranker_coefficients": dict(
            zip(FEATURE_NAMES, model.ranker.coef.round(4).tolist(), strict=True)
        ),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "held_out": [asdict(f) for f in results],
    }
    args.out.with_suffix(".json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"\nwrote {args.out} and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()

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
among each answerable question's first `--depth` fused candidates (pointwise, or pairwise on
a question's good and bad candidates, with the regularisation: whichever ranks best across
two folds of the training articles). It reorders all of them as one; with `--keep-top K`
the first K hits the fused ranking shows (overlapping windows passed over) stay its first K,
reordered among themselves, and the other candidates are reordered after them, so its top K
holds an answer exactly as often as the fused top K. The quote model does the same as the
ranker for the sentences of the candidates that hold an answer. The confidence is a logistic
regression on the top candidate after reranking, telling answerable questions (whose top 5
holds the answer) from both kinds of negative; its threshold declines `--decline` of the
training off-corpus questions and is moved onto the default `min_score`.

The report asks the held-out questions through `Searcher.search`, as a user would, once per
ranker in the same run (fused; learned, the model written; learned/K, the same ranker with
the other `--keep-top`, 0 or 5, and a confidence fitted for that order, never written), and
prints the trade-off of `min_score` for each.
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
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np

from config import load_settings
from index.engine import Engine, tuning_from
from index.evaluate import Question, load_dataset
from index.models import Mode, SearchFilters, SearchResult, Span
from index.query import learned
from index.query.features import FEATURE_NAMES, SENTENCE_FEATURE_NAMES
from index.query.searcher import (
    EncodesQueries,
    RankedFeatures,
    Searcher,
    SearchTuning,
)
from index.store.layout import DataDir
from index.store.search_backend import RowFilter
from index.store.vectors import AllowedRows


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
        hidden = np.zeros(len(self.passage_lengths()), dtype=bool)
        hidden[self.article_passages(article_id)] = True
        return hidden

    def answer_rows(self, article_id: str, answers: Sequence[tuple[int, int]]) -> np.ndarray:
        """The article's passages holding any sentence that holds part of an answer."""
        rows = self.article_passages(article_id)
        sentences: set[Span] = set()
        for row in rows:
            sentences.update(self.passage_sentences(int(row)))
        gone = [s for s in sentences if any(s.start < b and a < s.end for a, b in answers)]
        hidden = np.zeros(len(self.passage_lengths()), dtype=bool)
        for row in rows:
            span = self.passage_span(int(row))
            hidden[row] = any(s.start < span.end and span.start < s.end for s in gone)
        return hidden

    def holds_answer(self, rows: np.ndarray, q: Question) -> np.ndarray:
        """Whether each passage of `rows` is of `q`'s article and holds one of its answers."""
        own = set(self.article_passages(q.article_id).tolist())
        inside = np.zeros(len(rows), dtype=bool)
        for i, row in enumerate(rows):
            if int(row) in own:
                span = self.passage_span(int(row))
                inside[i] = any(span.start <= a and b <= span.end for a, b in q.answers)
        return inside

    def shown(self, rows: np.ndarray) -> np.ndarray:
        """The positions of `rows` (a ranking) shown as hits, overlapping windows passed over."""
        return np.array([p.position for p in self._diverse(rows, len(rows))], dtype=np.int64)

    @contextmanager
    def hiding(self, hidden: np.ndarray | None) -> Iterator[None]:
        self.hidden = hidden
        try:
            yield
        finally:
            self.hidden = None


class RememberingEncoder:
    """The index's query encoder, each question encoded once however often it is asked."""

    def __init__(self, encoder: EncodesQueries) -> None:
        self.name = encoder.name
        self.dimension = encoder.dimension
        self._encoder = encoder
        self._seen: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        missing = [t for t in texts if t not in self._seen]
        if missing:
            for text, vector in zip(missing, self._encoder.encode(missing), strict=True):
                self._seen[text] = vector
        return np.stack([self._seen[t] for t in texts])


@dataclass(frozen=True, slots=True)
class Bench:
    """The cached index of every article, and how to open a searcher over it that answers
    with a given ranker."""

    folder: Path
    encoder: RememberingEncoder
    tuning: SearchTuning

    def searcher(self, model: learned.LearnedRanker | None) -> HidingSearcher:
        """A searcher answering with `model` (None: the fused ranking)."""
        tuning = replace(self.tuning, ranker="learned" if model else "fused")
        return HidingSearcher(self.folder, self.encoder, tuning, learned=model)


def _open(data_dir: Path, dataset: Path) -> tuple[Bench, list[Question], list[str]]:
    # The bench's own index keeps its state beside it, never in an operator's database.
    settings = replace(
        load_settings(env_file=None), data_dir=data_dir, ranker="fused", database_url=None
    )
    data = load_dataset(dataset)
    engine = Engine(settings)
    if DataDir(data_dir).current_or_none() is None:
        print(f"building the index of {len(data.articles)} articles into {data_dir}")
        engine.build_from(data.articles)
    # The index's own ONNX query encoder, as `articlebot eval` answers with.
    base = engine.searcher()
    bench = Bench(base.folder, RememberingEncoder(base.encoder), tuning_from(settings))
    return bench, data.questions, [a.article.id for a in data.articles]


@dataclass(slots=True)
class Asked:
    """Each question's candidates and features, for one way of asking it."""

    tables: list[RankedFeatures]
    # Per question, whether each candidate holds one of its answers.
    labels: list[np.ndarray]
    # Per question and candidate, whether each sentence holds one of its answers whole.
    quotes: list[list[np.ndarray]]
    # Per question, the article it is about: the folds keep an article's questions together.
    articles: list[str]
    # Per question, the positions of its candidates the fused ranking shows as hits.
    shown: list[np.ndarray]


def _ask_all(searcher: HidingSearcher, questions: list[Question], kind: str, depth: int) -> Asked:
    asked = Asked([], [], [], [], [])
    started = time.perf_counter()
    for i, q in enumerate(questions):
        hidden = None
        if kind == "on-topic":
            hidden = searcher.answer_rows(q.article_id, q.answers)
        elif kind == "off-corpus":
            hidden = searcher.article_rows(q.article_id)
        with searcher.hiding(hidden):
            table = searcher.ranked_features(q.text, depth)
        asked.tables.append(table)
        asked.labels.append(searcher.holds_answer(table.rows, q))
        asked.quotes.append(
            [
                np.array([any(s.start <= a and b <= s.end for a, b in q.answers) for s in t.spans])
                for t in table.sentences
            ]
        )
        asked.articles.append(q.article_id)
        asked.shown.append(searcher.shown(table.rows))
        if (i + 1) % 500 == 0:
            print(f"  {kind}: {i + 1}/{len(questions)} ({time.perf_counter() - started:.0f} s)")
    return asked


def _scaled(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def _fit(features: np.ndarray, labels: np.ndarray, seed: int, c: float) -> learned.LinearModel:
    """A logistic regression telling the rows `labels` marks from the others."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = _scaled(features)
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    model.fit((features - mean) / scale, labels)
    return learned.LinearModel(mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def _fit_pairs(
    groups: Sequence[tuple[np.ndarray, np.ndarray]], seed: int, c: float
) -> learned.LinearModel:
    """A logistic regression on differences between a question's candidates that hold an
    answer and those that do not (both orders, no intercept): it learns which of two
    candidates of one question is better, which is what the ranking asks, where `_fit`
    learns whether a candidate is good at all."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = _scaled(np.vstack([f for f, _ in groups]))
    differences = []
    for features, labels in groups:
        scaled = (features - mean) / scale
        good, bad = scaled[labels], scaled[~labels]
        if len(good) and len(bad):
            differences.append((good[:, None, :] - bad[None, :, :]).reshape(-1, len(mean)))
    pairs = np.vstack(differences)
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed, fit_intercept=False)
    model.fit(np.vstack([pairs, -pairs]), np.repeat([1, 0], len(pairs)))
    return learned.LinearModel(mean, scale, model.coef_[0].copy(), 0.0)


def _groups(asked: Asked, keep: Collection[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (t.features, label)
        for t, label, a in zip(asked.tables, asked.labels, asked.articles, strict=True)
        if a in keep and len(t.rows)
    ]


def _sentence_groups(asked: Asked, keep: Collection[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The sentences of every candidate holding an answer that one of them holds whole."""
    out = []
    for table, labels, quotes, article in zip(
        asked.tables, asked.labels, asked.quotes, asked.articles, strict=True
    ):
        if article not in keep:
            continue
        for sentences, holds, answers in zip(table.sentences, labels, quotes, strict=True):
            if holds and answers.any():
                out.append((sentences.features, answers))
    return out


def _top_hits(model: learned.LinearModel, groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """The share of groups whose highest scored row is a good one."""
    if not groups:
        return 0.0
    return sum(bool(labels[np.argmax(model.logits(f))]) for f, labels in groups) / len(groups)


@dataclass(frozen=True, slots=True)
class Recipe:
    """One way of fitting a model: pointwise or pairwise, and the regularisation."""

    pairwise: bool
    c: float

    def fit(
        self, groups: Sequence[tuple[np.ndarray, np.ndarray]], seed: int
    ) -> learned.LinearModel:
        if self.pairwise:
            return _fit_pairs(groups, seed, self.c)
        return _fit(
            np.vstack([f for f, _ in groups]), np.concatenate([y for _, y in groups]), seed, self.c
        )

    def __str__(self) -> str:
        return f"{'pairwise' if self.pairwise else 'pointwise'} C={self.c}"


RECIPES = tuple(Recipe(p, c) for p in (False, True) for c in (0.1, 1.0))


def _choose(
    name: str,
    grouped: Callable[[Collection[str]], list[tuple[np.ndarray, np.ndarray]]],
    articles: Sequence[str],
    seed: int,
) -> tuple[Recipe, dict[str, float]]:
    """The recipe with the best top-1 over two folds of the training articles (each fitted
    on one fold, scored on the other): chosen on the training half alone."""
    folds = [set(articles[0::2]), set(articles[1::2])]
    scores = {}
    for recipe in RECIPES:
        scores[str(recipe)] = statistics.mean(
            _top_hits(recipe.fit(grouped(folds[i]), seed), grouped(folds[1 - i])) for i in (0, 1)
        )
        print(f"  {name} {recipe}: top-1 across training folds {scores[str(recipe)]:.4f}")
    best = max(RECIPES, key=lambda r: scores[str(r)])
    return best, scores


def _top_confidence_features(
    model: learned.LearnedRanker, asked: Asked
) -> tuple[np.ndarray, np.ndarray]:
    """Per question, the confidence model's input for the candidate the ranker puts first,
    and whether that question's top 5 after reranking holds an answer."""
    rows, found = [], []
    for table, label, shown in zip(asked.tables, asked.labels, asked.shown, strict=True):
        if not len(table.rows):
            rows.append(np.zeros(len(FEATURE_NAMES) + 2))
            found.append(False)
            continue
        scores = model.ranker.logits(table.features)
        both = model.confidence_features(table.features, scores)
        order = model.order(scores, shown[: model.keep_top])
        rows.append(both[order[0]])
        found.append(bool(label[order[:5]].any()))
    return np.array(rows), np.array(found)


def _threshold(scores: np.ndarray, decline: float) -> float:
    """The logit below which `decline` of `scores` lie."""
    ordered = np.sort(scores)
    return float(ordered[min(len(ordered) - 1, math.ceil(decline * len(ordered)) - 1)]) + 1e-9


@dataclass(frozen=True, slots=True)
class Fitted:
    model: learned.LearnedRanker
    # The same ranker and quote with the other `keep_top` (0 or 5) and a confidence fitted
    # for that order: reported beside the model, never written.
    other: learned.LearnedRanker
    notes: dict[str, object]


def _with_confidence(
    draft: learned.LearnedRanker, asked: Sequence[Asked], decline: float, seed: int
) -> tuple[learned.LearnedRanker, dict[str, float]]:
    """`draft` with a confidence over the candidate it puts first, telling the answerable
    questions of `asked` (answerable, on-topic, off-corpus) from both kinds of negative; its
    threshold declines `decline` of the off-corpus ones and is moved onto the default
    `min_score`. With the shares of each kind declined there."""
    pos, found = _top_confidence_features(draft, asked[0])
    neg_topic, _ = _top_confidence_features(draft, asked[1])
    neg_off, _ = _top_confidence_features(draft, asked[2])
    # An answerable question whose answer is not in the top 5 teaches nothing either way:
    # declining it costs no hit, answering it shows no answer.
    sure = _fit(
        np.vstack([pos[found], neg_topic, neg_off]),
        np.concatenate([np.ones(int(found.sum())), np.zeros(len(neg_topic) + len(neg_off))]),
        seed,
        1.0,
    )
    cut = _threshold(sure.logits(neg_off), decline)
    default_min = tuning_from(load_settings(environ={}, env_file=None)).min_score
    shift = math.log(default_min / (1 - default_min)) - cut
    sure = replace(sure, intercept=sure.intercept + shift)
    declined = {
        "answerable": float((sure.probabilities(pos) < default_min).mean()),
        "on_topic": float((sure.probabilities(neg_topic) < default_min).mean()),
        "off_corpus": float((sure.probabilities(neg_off) < default_min).mean()),
    }
    return replace(draft, confidence=sure), declined


def fit_models(
    answerable: Asked, on_topic: Asked, off_corpus: Asked, args: argparse.Namespace
) -> Fitted:
    """The ranker, then the quote model, then the confidence over the ranker's first
    candidate (for `args.keep_top` and for the other choice); every choice made on the
    training questions."""
    articles = sorted(set(answerable.articles))
    everything = set(articles)
    recipe, ranker_folds = _choose("ranker", partial(_groups, answerable), articles, args.seed)
    ranker = recipe.fit(_groups(answerable, everything), args.seed)
    quote_recipe, quote_folds = _choose(
        "quote", partial(_sentence_groups, answerable), articles, args.seed
    )
    quote = quote_recipe.fit(_sentence_groups(answerable, everything), args.seed)
    sentences = _sentence_groups(answerable, everything)
    heuristic = _top_hits(_COLUMN_ZERO, sentences)
    print(
        f"  quote: training sentences chosen right, terms alone {heuristic:.4f}, "
        f"model {_top_hits(quote, sentences):.4f}"
    )

    asked = (answerable, on_topic, off_corpus)
    draft = learned.LearnedRanker(ranker, ranker, quote, args.depth, args.keep_top)
    model, declined = _with_confidence(draft, asked, args.decline, args.seed)
    other_keep = 0 if args.keep_top else 5
    other, other_declined = _with_confidence(
        replace(draft, keep_top=other_keep), asked, args.decline, args.seed
    )
    notes: dict[str, object] = {
        "ranker_recipe": str(recipe),
        "ranker_fold_top1": ranker_folds,
        "quote_recipe": str(quote_recipe),
        "quote_fold_top1": quote_folds,
        "keep_top": args.keep_top,
        "training_confidence_declined": declined,
        f"training_confidence_declined_keep_top_{other_keep}": other_declined,
    }
    return Fitted(model, other, notes)


# Scores a sentence by its weighted term share alone: the fused ranking's quote choice.
_COLUMN_ZERO = learned.LinearModel(
    np.zeros(len(SENTENCE_FEATURE_NAMES)),
    np.ones(len(SENTENCE_FEATURE_NAMES)),
    np.eye(len(SENTENCE_FEATURE_NAMES))[0],
    0.0,
)


@dataclass(slots=True)
class Answers:
    """One ranker's answers to the held-out questions, each asked three ways."""

    ranker: str
    first: list[int | None] = field(default_factory=list)
    quote1: list[bool] = field(default_factory=list)
    best: list[float] = field(default_factory=list)
    on_topic: list[float] = field(default_factory=list)
    off_corpus: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


def _score(result: SearchResult) -> float:
    return result.best_score if result.best_score is not None else 0.0


def _answer(searcher: HidingSearcher, questions: list[Question], name: str) -> Answers:
    """What a user sees, through `Searcher.search`: the hits of each answerable question,
    and the best confidence of each question asked of its article without its answer and
    of the index without its article."""
    out = Answers(name)
    for q in questions:
        started = time.perf_counter()
        raw = searcher.search(q.text, 10, mode=Mode.HYBRID, apply_threshold=False)
        out.times.append(time.perf_counter() - started)
        ranks = [
            i
            for i, h in enumerate(raw.hits, start=1)
            if h.article.id == q.article_id
            and any(h.char_start <= a and b <= h.char_end for a, b in q.answers)
        ]
        out.first.append(ranks[0] if ranks else None)
        top = raw.hits[0] if raw.hits else None
        out.quote1.append(
            top is not None
            and top.article.id == q.article_id
            and any(top.quote_start <= a and b <= top.quote_end for a, b in q.answers)
        )
        out.best.append(_score(raw))
        with searcher.hiding(searcher.answer_rows(q.article_id, q.answers)):
            out.on_topic.append(_score(searcher.search(q.text, 1, apply_threshold=False)))
        with searcher.hiding(searcher.article_rows(q.article_id)):
            out.off_corpus.append(_score(searcher.search(q.text, 1, apply_threshold=False)))
    return out


@dataclass(frozen=True, slots=True)
class Figures:
    ranker: str
    min_score: float
    hit1: float
    hit5: float
    mrr10: float
    quote1: float
    p50_ms: float
    declined_answerable: float
    hit5_kept: float
    hit5_cost: float
    declined_on_topic: float
    declined_off_corpus: float


def figures(answers: Answers, min_score: float) -> Figures:
    n = len(answers.first)
    found5 = np.array([r is not None and r <= 5 for r in answers.first])
    answered = np.array(answers.best) >= min_score
    hit5 = float(found5.mean())
    kept = float((found5 & answered).mean())
    return Figures(
        answers.ranker,
        min_score,
        sum(r == 1 for r in answers.first) / n,
        hit5,
        sum(1 / r for r in answers.first if r is not None) / n,
        sum(answers.quote1) / n,
        1000 * statistics.median(answers.times),
        float((~answered).mean()),
        kept,
        hit5 - kept,
        float((np.array(answers.on_topic) < min_score).mean()),
        float((np.array(answers.off_corpus) < min_score).mean()),
    )


SWEEP = (0.30, 0.35, 0.40, 0.44, 0.48, 0.52, 0.56, 0.60)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _print(results: Sequence[Figures], sweep: Sequence[Figures]) -> None:
    print(
        "\nranker     hit@1  hit@5  MRR@10  quote@1  p50 ms  declined: answerable  on-topic  "
        "off-corpus  hit@5 kept (cost)"
    )
    for f in results:
        print(
            f"{f.ranker:<10} {f.hit1:.3f}  {f.hit5:.3f}  {f.mrr10:.3f}   {f.quote1:.3f}  "
            f"{f.p50_ms:6.1f}  {f.declined_answerable:20.3f}  {f.declined_on_topic:8.3f}  "
            f"{f.declined_off_corpus:10.3f}  {f.hit5_kept:.3f} ({f.hit5_cost:.3f})"
        )
    print("\nthe trade-off: min_score  ranker     declined on-topic  off-corpus  hit@5 kept (cost)")
    for f in sweep:
        print(
            f"               {f.min_score:.2f}      {f.ranker:<10} {f.declined_on_topic:17.3f}  "
            f"{f.declined_off_corpus:10.3f}  {f.hit5_kept:.3f} ({f.hit5_cost:.3f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=Path("../shared/eval/squad"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/squad-index"))
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument(
        "--keep-top",
        type=int,
        default=0,
        help="fused hits that stay the first ones, reordered among themselves (0: none)",
    )
    parser.add_argument("--decline", type=float, default=0.90)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=learned.MODEL_PATH)
    parser.add_argument(
        "--limit", type=int, default=0, help="questions per half, spread over its articles"
    )
    args = parser.parse_args()
    import sklearn

    np.random.seed(args.seed)
    bench, questions, article_ids = _open(args.cache, args.dataset)
    even = {a for i, a in enumerate(article_ids) if i % 2 == 0}
    train = [q for q in questions if q.article_id in even]
    held = [q for q in questions if q.article_id not in even]
    if args.limit:
        # Spread over the articles: the folds need questions about several.
        train = train[:: max(1, len(train) // args.limit)][: args.limit]
        held = held[:: max(1, len(held) // args.limit)][: args.limit]
    print(f"{len(train)} training questions, {len(held)} held out")

    gatherer = bench.searcher(None)
    answerable = _ask_all(gatherer, train, "answerable", args.depth)
    on_topic = _ask_all(gatherer, train, "on-topic", args.depth)
    off_corpus = _ask_all(gatherer, train, "off-corpus", args.depth)
    fitted = fit_models(answerable, on_topic, off_corpus, args)
    learned.save(args.out, fitted.model)

    print(f"\nheld-out half: {len(held)} questions about {len(article_ids) - len(even)} articles")
    default_min = bench.tuning.min_score
    answers = [
        _answer(bench.searcher(chosen), held, name)
        for name, chosen in (
            ("fused", None),
            ("learned", fitted.model),
            (f"learned/{fitted.other.keep_top}", fitted.other),
        )
    ]
    results = [figures(a, default_min) for a in answers]
    sweep = [figures(a, t) for t in SWEEP for a in answers]
    _print(results, sweep)

    provenance = {
        "command": " ".join(["python -m bench.train_ranker", *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {
            name: _sha256(args.dataset / name)
            for name in ("articles.jsonl", "questions.jsonl", "questions_meta.jsonl")
        },
        "index": {"model": bench.encoder.name, "query_encoder": "the index's ONNX int8 export"},
        "split": "trained on the questions about articles at even positions of articles.jsonl, "
        "reported on the odd ones",
        "training_questions": len(train),
        "held_out_questions": len(held),
        "seed": args.seed,
        "depth": args.depth,
        "decline_target_off_corpus": args.decline,
        **fitted.notes,
        "features": list(FEATURE_NAMES),
        "ranker_coefficients": dict(
            zip(FEATURE_NAMES, fitted.model.ranker.coef.round(4).tolist(), strict=True)
        ),
        "sentence_features": list(SENTENCE_FEATURE_NAMES),
        "quote_coefficients": dict(
            zip(SENTENCE_FEATURE_NAMES, fitted.model.quote.coef.round(4).tolist(), strict=True)
        ),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "held_out": [asdict(f) for f in results],
        "held_out_trade_off": [asdict(f) for f in sweep],
    }
    args.out.with_suffix(".json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"\nwrote {args.out} and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()

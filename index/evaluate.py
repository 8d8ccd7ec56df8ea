"""Retrieval quality on a question set laid out like `../shared/eval/squad`.

A hit is a result from the gold article whose passage contains one of the answer spans whole;
quote@1 asks the same of the first result's quote. The split-half "no match" check indexes the
articles with even positions only and asks the questions about the others: those must be
declined, while questions about indexed articles keep their hits.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import InputError
from index.models import Mode, ParsedArticle, SearchResult
from index.query.searcher import Searcher

CUTOFFS = (1, 3, 5, 10)


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    article_id: str
    answers: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Dataset:
    articles: list[ParsedArticle]
    questions: list[Question]


@dataclass(slots=True)
class Scores:
    mode: str
    questions: int = 0
    hits: dict[int, int] = field(default_factory=lambda: dict.fromkeys(CUTOFFS, 0))
    reciprocal_rank: float = 0.0
    quote_hits: int = 0
    latencies: list[float] = field(default_factory=list)

    def rate(self, n: int) -> float:
        return self.hits[n] / self.questions if self.questions else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal_rank / self.questions if self.questions else 0.0

    @property
    def quote_at_1(self) -> float:
        return self.quote_hits / self.questions if self.questions else 0.0

    def latency_ms(self, quantile: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    records.append(_json_object(line, f"{path} line {number}"))
    except FileNotFoundError:
        raise InputError(
            f"{path}: missing; a dataset folder needs articles.jsonl, "
            "questions.jsonl and questions_meta.jsonl"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    return records


def _json_object(line: str, origin: str) -> dict[str, object]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{origin}: invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise InputError(f"{origin}: JSON nested too deeply") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise InputError(f"{origin}: {exc}") from None
    if not isinstance(record, dict):
        raise InputError(f"{origin}: expected a JSON object")
    return record


def load_dataset(folder: Path) -> Dataset:
    # Imported here: the readers pull in trafilatura, which answering processes never need.
    from index.ingest.readers import article_from_record

    articles = [
        article_from_record(r, str(r.get("id")), f"{folder}/articles.jsonl", "shared")
        for r in _read_jsonl(folder / "articles.jsonl")
    ]
    try:
        meta = {str(m["id"]): m for m in _read_jsonl(folder / "questions_meta.jsonl")}
    except KeyError:
        raise InputError(f'{folder}/questions_meta.jsonl: a line has no "id"') from None
    questions = []
    for q in _read_jsonl(folder / "questions.jsonl"):
        try:
            m = meta.get(str(q["id"]))
            if m is None:
                continue
            answers = [str(a) for a in q["answers"]]  # type: ignore[attr-defined]
            starts = [int(s) for s in m["answer_starts"]]  # type: ignore[attr-defined]
            spans = tuple((s, s + len(a)) for a, s in zip(answers, starts, strict=True))
            question = Question(str(q["id"]), str(q["question"]), str(q["article_id"]), spans)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{folder}: question {q.get('id')!r} has a missing or malformed field "
                f"({type(exc).__name__}: {exc}); expected id, question, article_id, answers "
                "and, in questions_meta.jsonl, answer_starts"
            ) from None
        questions.append(question)
    return Dataset(articles, questions)


def subset(dataset: Dataset, articles: int) -> Dataset:
    """The first `articles` articles and only the questions about them."""
    kept = dataset.articles[:articles]
    ids = {p.article.id for p in kept}
    return Dataset(kept, [q for q in dataset.questions if q.article_id in ids])


def spread(questions: list[Question], n: int) -> list[Question]:
    """`n` questions taken at an even stride over the whole set, so a sample of a set whose
    questions come article by article still asks about every part of it."""
    if n >= len(questions):
        return questions
    return [questions[i * len(questions) // n] for i in range(n)]


def _contains_answer(start: int, end: int, answers: Iterable[tuple[int, int]]) -> bool:
    return any(start <= a and b <= end for a, b in answers)


def score(
    searcher: Searcher,
    questions: list[Question],
    mode: Mode,
    progress: Callable[[int], None] | None = None,
) -> Scores:
    scores = Scores(mode=mode.value)
    for i, q in enumerate(questions):
        started = time.perf_counter()
        result = searcher.search(q.text, max(CUTOFFS), mode=mode, apply_threshold=False)
        scores.latencies.append(time.perf_counter() - started)
        scores.questions += 1
        rank = _first_hit(result, q)
        if rank is not None:
            for n in CUTOFFS:
                scores.hits[n] += rank <= n
            scores.reciprocal_rank += 1.0 / rank
        if result.hits:
            top = result.hits[0]
            if top.article.id == q.article_id and _contains_answer(
                top.quote_start, top.quote_end, q.answers
            ):
                scores.quote_hits += 1
        if progress is not None:
            progress(i + 1)
    return scores


def _first_hit(result: SearchResult, q: Question) -> int | None:
    for rank, hit in enumerate(result.hits, start=1):
        if hit.article.id == q.article_id and _contains_answer(
            hit.char_start, hit.char_end, q.answers
        ):
            return rank
    return None


def median_passage_chars(searcher: Searcher) -> float:
    return float(statistics.median(searcher.passage_lengths())) if searcher.passage_count else 0.0


DECLINE_TARGETS = (0.80, 0.85, 0.90, 0.95)


@dataclass(frozen=True, slots=True)
class ThresholdPoint:
    """The lowest `min_score` that declines `target` of the unanswerable questions, and
    the hit@5 that answerable questions keep under it."""

    target: float
    min_score: float
    declined_unanswerable: float
    hit5_kept: float


@dataclass(frozen=True, slots=True)
class DeclineCheck:
    declined_unanswerable: float
    unanswerable: int
    declined_answerable: float
    answerable: int
    hit5_all: float
    hit5_kept: float
    sweep: tuple[ThresholdPoint, ...] = ()


def calibrate(
    unanswerable: Sequence[float],
    answerable: Sequence[float],
    found: Sequence[bool],
    targets: Sequence[float] = DECLINE_TARGETS,
) -> tuple[ThresholdPoint, ...]:
    """For each decline target, the lowest threshold (in steps of 0.001) that reaches it.

    `unanswerable` and `answerable` are the confidences of the two kinds of question, and
    `found[i]` says whether answerable question i has its answer in the top 5 when nothing
    is declined. A threshold only decides whether to answer at all, never which hits are
    shown, so the hit@5 kept under any threshold follows from these alone.
    """
    if not unanswerable or len(answerable) != len(found):
        return ()
    ordered = sorted(unanswerable)
    points = []
    for target in targets:
        needed = min(len(ordered), math.ceil(target * len(ordered) - 1e-9))
        # Scores below the threshold are declined, so it must lie above the needed-th score.
        threshold = math.floor(ordered[needed - 1] * 1000 + 1) / 1000 if needed else 0.0
        declined = sum(s < threshold for s in ordered) / len(ordered)
        kept = sum(f and s >= threshold for s, f in zip(answerable, found, strict=True))
        points.append(
            ThresholdPoint(target, threshold, declined, kept / len(found) if found else 0.0)
        )
    return tuple(points)


def decline_check(searcher: Searcher, indexed: set[str], questions: list[Question]) -> DeclineCheck:
    """Run after indexing only the articles in `indexed`.

    The figures at the searcher's own threshold come from the results a user would see;
    the sweep says where other thresholds would land.
    """
    inside = [q for q in questions if q.article_id in indexed]
    outside = [q for q in questions if q.article_id not in indexed]
    outside_scores = []
    declined_out = 0
    for q in outside:
        result = searcher.search(q.text, 5)
        declined_out += not result.matched
        outside_scores.append(result.best_score)
    inside_scores = []
    found = []
    declined_in = 0
    hit5_kept = 0
    for q in inside:
        raw = searcher.search(q.text, 5, apply_threshold=False)
        inside_scores.append(raw.best_score)
        found.append(_first_hit(raw, q) is not None)
        shown = searcher.search(q.text, 5)
        declined_in += not shown.matched
        hit5_kept += _first_hit(shown, q) is not None
    return DeclineCheck(
        declined_unanswerable=declined_out / len(outside) if outside else 0.0,
        unanswerable=len(outside),
        declined_answerable=declined_in / len(inside) if inside else 0.0,
        answerable=len(inside),
        hit5_all=sum(found) / len(inside) if inside else 0.0,
        hit5_kept=hit5_kept / len(inside) if inside else 0.0,
        sweep=calibrate(outside_scores, inside_scores, found),
    )

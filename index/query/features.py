"""What the learned ranker and confidence read about each candidate passage: cheap measures
(numpy and regular expressions, no model) of how well it matches the question.

Pure functions: the searcher gathers the inputs (`Candidate`), `feature_matrix` turns them
into one row per candidate, in the order of `FEATURE_NAMES`, which the model file repeats so
that a model trained on other features is refused at load time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from index.store.lexical import tokenize


class AnswerType(Enum):
    PERSON = "person"
    DATE = "date"
    NUMBER = "number"
    PLACE = "place"
    OTHER = "other"


# Checked in this order: "how many years" asks for a number, "what year" for a date.
_ASKS = (
    (AnswerType.NUMBER, re.compile(r"\bhow (many|much|long|old|far|large|big|tall|high)\b")),
    (AnswerType.NUMBER, re.compile(r"\bwhat (percentage|percent|number|amount|proportion)\b")),
    (
        AnswerType.DATE,
        re.compile(r"\b(when|(what|which) (year|month|day|date|decade|century|time period))\b"),
    ),
    (AnswerType.PERSON, re.compile(r"\b(who|whom|whose)\b")),
    (
        AnswerType.PLACE,
        re.compile(r"\b(where|(what|which) (country|city|state|region|town|place|continent))\b"),
    ),
)

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE = re.compile(
    rf"\b(1[0-9]{{3}}|20[0-9]{{2}})s?\b|\b({_MONTHS})\.?\s+\d{{1,2}}\b|\b\d{{1,2}}\s+({_MONTHS})\b"
    r"|\b(century|centuries|decade|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    # A month alone ("in October"); "May" only with a day, being a verb as often.
    r"|\b(january|february|march|april|june|july|august|september|october|november|december)\b",
    re.IGNORECASE,
)
# A whole number or number word: "new" is judged on what it matched.
_NUMBER_WORD = re.compile(
    r"\d[\d,.]*|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|dozen|half|percent)\b",
    re.IGNORECASE,
)
# A capitalised word after a lower-case one: a name, not a sentence's first word.
_NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+")
_PLACE_WORDS = re.compile(
    r"\b(city|country|state|province|region|river|island|mountains?|ocean|sea|county|"
    r"capital|town|village|continent|valley|coast|north|south|east|west|located|near)\b"
    r"|\b(in|at|from|near) (the )?[A-Z][a-z]+",
    re.IGNORECASE,
)
_PERSON_WORDS = re.compile(r"\b(he|she|his|her|mr|mrs|dr|king|queen|president|by)\b")


def answer_type(question: str) -> AnswerType:
    """The kind of thing `question` asks for, from its question words."""
    lowered = question.lower()
    for kind, pattern in _ASKS:
        if pattern.search(lowered):
            return kind
    return AnswerType.OTHER


def _new(found: str, asked: Collection[str]) -> bool:
    """Whether `found` says something beyond the question's terms `asked` (stems)."""
    return not asked or any(t not in asked for t in tokenize(found))


def holds_type(sentence: str, kind: AnswerType, asked: Collection[str] = ()) -> bool:
    """Whether `sentence` holds something of `kind`; False for OTHER, which asks for nothing
    particular. With `asked` (the question's terms), only a thing the question does not
    already name counts: "When did the 1973 crisis begin?" is not answered by "1973"."""
    if kind is AnswerType.DATE:
        return any(_new(m.group(0), asked) for m in _DATE.finditer(sentence))
    if kind is AnswerType.NUMBER:
        return any(_new(m.group(0), asked) for m in _NUMBER_WORD.finditer(sentence))
    if kind is AnswerType.PERSON:
        names = _NAME.findall(sentence)
        if not any(_new(n, asked) for n in names):
            return False
        return len(names) >= 2 or _PERSON_WORDS.search(sentence) is not None
    if kind is AnswerType.PLACE:
        return any(_new(m.group(0), asked) for m in _PLACE_WORDS.finditer(sentence))
    return False


def proximity(
    terms: Mapping[str, float], sentence: str, tokens: Sequence[str] | None = None
) -> float:
    """How close together the question's terms stand in `sentence`, in [0, 1]: the distinct
    terms found over the width of the shortest stretch holding them all (0 without any).
    `tokens` is `sentence` already tokenised, when the caller has it."""
    tokens = tokenize(sentence) if tokens is None else tokens
    positions: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        if token in terms:
            positions.setdefault(token, []).append(i)
    if not positions:
        return 0.0
    if len(positions) == 1:
        return 1.0 / max(1, len(terms))
    # Sweep for the shortest window covering one occurrence of every found term.
    events = sorted((p, t) for t, ps in positions.items() for p in ps)
    need, have, counts, best, left = len(positions), 0, dict[str, int](), math.inf, 0
    for pos, term in events:
        counts[term] = counts.get(term, 0) + 1
        have += counts[term] == 1
        while have == need:
            best = min(best, pos - events[left][0] + 1)
            gone = events[left][1]
            counts[gone] -= 1
            have -= counts[gone] == 0
            left += 1
    found_share = need / max(1, len(terms))
    return found_share * need / best


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked passage as the features read it."""

    dense: float
    lexical: float
    fused: float
    article: int
    title: str
    passage: str
    sentences: tuple[str, ...]
    # Where the passage starts, as a share of its article's length.
    position: float
    # Days from the article's date to `as_of` (or now); None when undated.
    age_days: float | None


FEATURE_NAMES = (
    "dense",
    "lexical",
    "fused",
    "dense_rank",
    "lexical_rank",
    "fused_rank",
    "title_overlap",
    "passage_overlap",
    "sentence_overlap",
    "sentence_overlap_bare",
    "proximity",
    "asks_type",
    "sentence_holds_type",
    "passage_holds_type",
    "sentence_new_type",
    "passage_new_type",
    "position",
    "dated",
    "age",
    "margin_next",
    "margin_top",
    "article_share",
    "question_terms",
)


_COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}


@dataclass(frozen=True, slots=True)
class _Read:
    """A sentence (or title) as the features read it."""

    tokens: list[str]
    present: set[str]
    # Holds the asked answer type; and one the question does not already name.
    typed: bool
    new: bool


def _share(terms: Mapping[str, float], total: float, *token_sets: set[str]) -> float:
    """`term_overlap` over already tokenised text (the union of `token_sets`)."""
    if total <= 0:
        return 0.0
    present = token_sets[0].union(*token_sets[1:]) if len(token_sets) > 1 else token_sets[0]
    return sum(w for t, w in terms.items() if t in present) / total


def _inverse_ranks(values: np.ndarray) -> np.ndarray:
    """1 for the highest value, 1/2 for the next, ...: a rank the model can weigh linearly."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    return 1.0 / ranks


def feature_matrix(
    terms: Mapping[str, float], kind: AnswerType, candidates: Sequence[Candidate]
) -> np.ndarray:
    """One row of `FEATURE_NAMES` per candidate, candidates in fused-rank order."""
    n = len(candidates)
    out = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float64)
    if n == 0:
        return out
    dense = np.array([c.dense for c in candidates])
    lexical = np.array([c.lexical for c in candidates])
    fused = np.array([c.fused for c in candidates])
    articles = np.array([c.article for c in candidates])
    asks = kind is not AnswerType.OTHER
    total = sum(terms.values())
    question_terms = math.log1p(len(terms))
    asked = frozenset(terms)
    # Neighbouring windows share sentences: each is read once per question.
    read: dict[str, _Read] = {}

    def reading(text: str) -> _Read:
        if text not in read:
            tokens = tokenize(text)
            typed = asks and holds_type(text, kind)
            read[text] = _Read(tokens, set(tokens), typed, typed and holds_type(text, kind, asked))
        return read[text]

    for i, c in enumerate(candidates):
        title = reading(c.title).present
        sentences = [reading(s) for s in c.sentences]
        sentence_sets = [r.present for r in sentences]
        whole = set().union(*sentence_sets) if sentence_sets else reading(c.passage).present
        with_title = [_share(terms, total, title, s) for s in sentence_sets]
        typed = [r.typed for r in sentences]
        new = [r.new for r in sentences]
        # The best sentence: most weighted terms, one holding the answer type winning ties.
        best = max(range(len(c.sentences)), key=lambda j: (with_title[j], new[j], -j), default=-1)
        row = out[i]
        row[_COLUMN["title_overlap"]] = _share(terms, total, title)
        row[_COLUMN["passage_overlap"]] = _share(terms, total, title, whole)
        if best >= 0:
            row[_COLUMN["sentence_overlap"]] = with_title[best]
            row[_COLUMN["sentence_overlap_bare"]] = _share(terms, total, sentence_sets[best])
            row[_COLUMN["proximity"]] = proximity(terms, "", sentences[best].tokens)
            row[_COLUMN["sentence_holds_type"]] = float(typed[best])
            row[_COLUMN["sentence_new_type"]] = float(new[best])
        row[_COLUMN["asks_type"]] = float(asks)
        row[_COLUMN["passage_holds_type"]] = float(any(typed))
        row[_COLUMN["passage_new_type"]] = float(any(new))
        row[_COLUMN["position"]] = c.position
        row[_COLUMN["dated"]] = float(c.age_days is not None)
        if c.age_days is not None:
            row[_COLUMN["age"]] = math.log1p(max(0.0, c.age_days)) / 10
        row[_COLUMN["question_terms"]] = question_terms
    for name, values in (
        ("dense", dense),
        ("lexical", lexical),
        ("fused", fused),
        ("dense_rank", _inverse_ranks(dense)),
        ("lexical_rank", _inverse_ranks(lexical)),
        ("fused_rank", _inverse_ranks(fused)),
        ("margin_next", fused - np.append(fused[1:], fused[-1] if n > 1 else 0.0)),
        ("margin_top", fused.max() - fused),
        ("article_share", (articles[:, None] == articles[None, :]).sum(axis=1) / n),
    ):
        out[:, _COLUMN[name]] = values
    return out


SENTENCE_FEATURE_NAMES = (
    "weighted_overlap",
    "weighted_best",
    "overlap",
    "overlap_best",
    "proximity",
    "asks_type",
    "holds_type",
    "new_type",
    "new_words",
    "first",
    "last",
    "length",
)
_SENTENCE_COLUMN = {name: i for i, name in enumerate(SENTENCE_FEATURE_NAMES)}


def sentence_features(
    texts: Sequence[str],
    weights: Mapping[str, float],
    terms: Mapping[str, float],
    kind: AnswerType,
) -> np.ndarray:
    """One row of `SENTENCE_FEATURE_NAMES` per sentence of one passage: what the quote
    model reads to choose the sentence that answers. `weights` are the question's terms
    weighted as the quote heuristic weighs them, `terms` by informativeness."""
    n = len(texts)
    out = np.zeros((n, len(SENTENCE_FEATURE_NAMES)), dtype=np.float64)
    if n == 0:
        return out
    c = _SENTENCE_COLUMN
    asks = kind is not AnswerType.OTHER
    asked = frozenset(terms)
    weight_total, term_total = sum(weights.values()), sum(terms.values())
    for i, text in enumerate(texts):
        tokens = tokenize(text)
        present = set(tokens)
        row = out[i]
        row[c["weighted_overlap"]] = _share(weights, weight_total, present)
        row[c["overlap"]] = _share(terms, term_total, present)
        row[c["proximity"]] = proximity(terms, text, tokens)
        row[c["asks_type"]] = float(asks)
        row[c["holds_type"]] = float(asks and holds_type(text, kind))
        row[c["new_type"]] = float(asks and holds_type(text, kind, asked))
        # An answer adds something the question does not say: words beyond its terms.
        row[c["new_words"]] = math.log1p(sum(t not in terms for t in present))
        row[c["length"]] = math.log1p(len(tokens))
    for column, best in (("weighted_overlap", "weighted_best"), ("overlap", "overlap_best")):
        out[:, c[best]] = out[:, c[column]] >= out[:, c[column]].max()
    out[0, c["first"]] = 1.0
    out[-1, c["last"]] = 1.0
    return out

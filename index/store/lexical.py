"""BM25 over passages (bm25s), with Snowball stemming and English stop words.

Scores are normalised per query to [0, 1]: a passage's BM25 score divided by the sum, over
the query's terms, of the best score that term reaches in any passage. That makes the lexical
side comparable with cosine similarity, and across questions, which fusion and the "no match"
threshold both need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from wordfreq import zipf_frequency

_TOKEN_RE = re.compile(r"\w+", re.UNICODE)
# Question words carry no topic; bm25s's English list leaves them in.
_QUESTION_WORDS = (
    "what which who whom whose when where why how did does do is are was were has have had"
)
_STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(_QUESTION_WORDS.split())
_stemmer = Stemmer.Stemmer("english")


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """A question's words as the lexical measures read them, tokenised once per search."""

    # Stemmed, stop words left out, in the question's order. Repeats are kept: BM25 counts a
    # word the question repeats once per occurrence.
    stems: tuple[str, ...]
    # Each stem, weighted by how rare its word is in English at large (see `informativeness`).
    informativeness: Mapping[str, float]


def query_terms(text: str) -> QueryTerms:
    words = _words(text)
    stems = _stemmer.stemWords(words)
    weights: dict[str, float] = {}
    for word, stem in zip(words, stems, strict=True):
        weights[stem] = max(weights.get(stem, 0.0), max(0.0, 7.0 - zipf_frequency(word, "en")))
    return QueryTerms(tuple(stems), MappingProxyType(weights))


def informativeness(text: str) -> Mapping[str, float]:
    """Each stemmed term of `text`, weighted by how rare its word is in English at large.

    The weight (7 minus the word's Zipf frequency, from wordfreq's bundled tables) does not
    depend on the collection, so a question's "say" counts for little and its "Kirby" for
    much even in a one-article collection, where collection statistics mean nothing.
    """
    return query_terms(text).informativeness


def tokenize(text: str) -> list[str]:
    return list(_stemmer.stemWords(_words(text)))


def _words(text: str) -> list[str]:
    return [w for w in _TOKEN_RE.findall(text.lower()) if w not in _STOPWORDS]


class LexicalIndex:
    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self._model = model
        self.size = size
        matrix = model.scores
        data = np.asarray(matrix["data"])
        indptr = np.asarray(matrix["indptr"])
        self._df = np.diff(indptr)
        self._term_best = np.zeros(len(indptr) - 1, dtype=np.float32)
        nonempty = np.flatnonzero(np.diff(indptr) > 0)
        if len(nonempty):
            self._term_best[nonempty] = np.maximum.reduceat(data, indptr[nonempty])

    @classmethod
    def build(cls, documents: list[str]) -> LexicalIndex:
        model = bm25s.BM25()
        # An empty token list would make bm25s skip the document and shift every row after it.
        corpus = [tokenize(doc) or ["\x00"] for doc in documents]
        # bm25s cannot index nothing; an empty collection keeps one placeholder row that
        # `scores` never reports (size stays 0).
        model.index(corpus or [["\x00"]], show_progress=False)
        return cls(model, len(corpus))

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        model = bm25s.BM25.load(str(folder), show_progress=False, mmap=False)
        return cls(model, size)

    def term_weights(self, terms: QueryTerms) -> dict[str, float]:
        """The question's terms, weighted by how much each can add to a BM25 score."""
        weights: dict[str, float] = {}
        for term in terms.stems:
            ids = self._model.get_tokens_ids([term])
            weights[term] = float(self._term_best[ids[0]]) if ids else 0.0
        return weights

    def scores(self, terms: QueryTerms) -> np.ndarray:
        """Normalised BM25 score of every passage for the question's `terms`, shape (size,)."""
        ids = self._model.get_tokens_ids(list(terms.stems))
        if not ids or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        ceiling = float(self._term_best[ids].sum())
        raw = self._model.get_scores_from_ids(ids)
        if ceiling <= 0:
            return np.zeros(self.size, dtype=np.float32)
        return (np.asarray(raw, dtype=np.float32) / ceiling).clip(0.0, 1.0)


def term_overlap(question_terms: Mapping[str, float], text: str) -> float:
    """Share of the question's term weight that `text` contains, in [0, 1]. Only `text` is
    tokenised here: the question's terms come analysed."""
    total = sum(question_terms.values())
    if total <= 0:
        return 0.0
    present = set(tokenize(text))
    return sum(w for t, w in question_terms.items() if t in present) / total

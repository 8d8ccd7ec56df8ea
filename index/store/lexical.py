"""BM25 over passages, with Snowball stemming and English stop words.

Scores are normalised per query to [0, 1]: a passage's BM25 score divided by the sum, over
the query's terms, of the best score that term reaches in any passage. That makes the lexical
side comparable with cosine similarity, and across questions, which fusion and the "no match"
threshold both need.

bm25s computes the index when building, and its files are the format on disk; answering reads
those arrays with numpy alone, memory-mapped, so an answering process neither imports bm25s
and scipy (a quarter of a second and 25 MB) nor holds the columns no question has touched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import Stemmer
from wordfreq import zipf_frequency

from index.errors import IndexCorruptError

_TOKEN_RE = re.compile(r"\w+", re.UNICODE)
# Lucene's English stop set, the one bm25s applies by default (a unit test holds them equal).
_ENGLISH_STOP_WORDS = (
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with"
)
# Question words carry no topic; the English stop set leaves them in.
_QUESTION_WORDS = (
    "what which who whom whose when where why how did does do is are was were has have had"
)
_STOPWORDS = frozenset(_ENGLISH_STOP_WORDS.split()) | frozenset(_QUESTION_WORDS.split())
_stemmer = Stemmer.Stemmer("english")

# bm25s's file names for its index, and the best score of each term, saved beside them so
# that loading need not read every column to find it.
_DATA, _INDICES, _INDPTR = "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy"
_VOCAB, _PARAMS, _TERM_BEST = "vocab.index.json", "params.index.json", "term_best.npy"
# The variant whose scores are all in the matrix; others add a score for absent terms.
_METHOD = "lucene"


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


@dataclass(frozen=True, slots=True)
class _Columns:
    """The BM25 score matrix, one column per term (compressed sparse columns)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray


class LexicalIndex:
    def __init__(
        self,
        columns: _Columns,
        vocabulary: dict[str, int],
        size: int,
        term_best: np.ndarray | None = None,
    ) -> None:
        self._columns = columns
        # bm25s lists an empty term without a column of its own; no question has it.
        terms = len(columns.indptr) - 1
        self._vocabulary = {t: i for t, i in vocabulary.items() if 0 <= i < terms}
        self.size = size
        self._term_best = term_best if term_best is not None else _best_per_term(columns)

    @classmethod
    def build(cls, documents: list[str]) -> LexicalIndex:
        import bm25s

        model = bm25s.BM25(method=_METHOD)
        # An empty token list would make bm25s skip the document and shift every row after it.
        corpus = [tokenize(doc) or ["\x00"] for doc in documents]
        # bm25s cannot index nothing; an empty collection keeps one placeholder row that
        # `scores` never reports (size stays 0).
        model.index(corpus or [["\x00"]], show_progress=False)
        matrix = model.scores
        columns = _Columns(
            np.asarray(matrix["data"], dtype=np.float32),
            np.asarray(matrix["indices"]),
            np.asarray(matrix["indptr"]),
        )
        return cls(columns, dict(model.vocab_dict), len(corpus))

    def save(self, folder: Path) -> None:
        np.save(folder / _DATA, self._columns.data)
        np.save(folder / _INDICES, self._columns.indices)
        np.save(folder / _INDPTR, self._columns.indptr)
        np.save(folder / _TERM_BEST, self._term_best)
        (folder / _VOCAB).write_text(
            json.dumps(self._vocabulary, ensure_ascii=False), encoding="utf-8"
        )
        params = {"method": _METHOD, "num_docs": self.size}
        (folder / _PARAMS).write_text(json.dumps(params), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        try:
            params = json.loads((folder / _PARAMS).read_text(encoding="utf-8"))
            if params.get("method", _METHOD) != _METHOD:
                raise IndexCorruptError(folder, f"BM25 variant {params.get('method')!r}")
            vocabulary = json.loads((folder / _VOCAB).read_text(encoding="utf-8"))
            columns = _Columns(
                np.load(folder / _DATA, mmap_mode="r"),
                np.load(folder / _INDICES, mmap_mode="r"),
                np.load(folder / _INDPTR),
            )
            best = folder / _TERM_BEST
            term_best = np.load(best) if best.is_file() else None
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(folder, f"the BM25 index cannot be read: {exc}") from None
        if not isinstance(vocabulary, dict):
            raise IndexCorruptError(folder, "the BM25 vocabulary is not a mapping")
        return cls(columns, vocabulary, size, term_best)

    def _ids(self, terms: list[str]) -> list[int]:
        return [self._vocabulary[t] for t in terms if t in self._vocabulary]

    def term_weights(self, terms: QueryTerms) -> dict[str, float]:
        """The question's terms, weighted by how much each can add to a BM25 score."""
        weights: dict[str, float] = {}
        for term in terms.stems:
            ids = self._ids([term])
            weights[term] = float(self._term_best[ids[0]]) if ids else 0.0
        return weights

    def scores(self, terms: QueryTerms) -> np.ndarray:
        """Normalised BM25 score of every passage for the question's `terms`, shape (size,)."""
        ids = self._ids(list(terms.stems))
        if not ids or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        ceiling = float(self._term_best[ids].sum())
        if ceiling <= 0:
            return np.zeros(self.size, dtype=np.float32)
        raw = np.zeros(self.size, dtype=np.float32)
        # Term by term, as bm25s sums them, so that scores match its own to the last bit.
        for term in ids:
            start, end = int(self._columns.indptr[term]), int(self._columns.indptr[term + 1])
            np.add.at(raw, self._columns.indices[start:end], self._columns.data[start:end])
        return (raw / ceiling).clip(0.0, 1.0)


def term_overlap(question_terms: Mapping[str, float], text: str) -> float:
    """Share of the question's term weight that `text` contains, in [0, 1]. Only `text` is
    tokenised here: the question's terms come analysed."""
    total = sum(question_terms.values())
    if total <= 0:
        return 0.0
    present = set(tokenize(text))
    return sum(w for t, w in question_terms.items() if t in present) / total


def _best_per_term(columns: _Columns) -> np.ndarray:
    best = np.zeros(len(columns.indptr) - 1, dtype=np.float32)
    nonempty = np.flatnonzero(np.diff(columns.indptr) > 0)
    if len(nonempty):
        best[nonempty] = np.maximum.reduceat(columns.data, columns.indptr[nonempty])
    return best

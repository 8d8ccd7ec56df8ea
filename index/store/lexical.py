"""BM25 over passages, with Snowball stemming and English stop words.

Scores are normalised per query to [0, 1]: a passage's BM25 score divided by the sum, over
the query's terms, of the best score that term reaches in any passage. That makes the lexical
side comparable with cosine similarity, and across questions, which fusion and the "no match"
threshold both need.

Each index segment keeps postings (term counts and passage lengths), not scores: the
collection statistics are computed at question time over the live passages of all segments,
so adding a segment or deleting passages never makes a stored number stale, and an updated
index scores exactly like a fresh build. Answering reads the postings with numpy alone,
memory-mapped (no bm25s or scipy: a quarter of a second and 25 MB), and only the postings of
the question's terms.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
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


# BM25's parameters: bm25s's defaults and its "lucene" variant, which today's figures were
# measured with.
K1 = 1.5
B = 0.75
_ROWS, _COUNTS, _INDPTR, _LENGTHS, _VOCAB = (
    "rows.npy",
    "counts.npy",
    "indptr.npy",
    "lengths.npy",
    "vocab.json",
)


@dataclass(frozen=True, slots=True)
class Postings:
    """One segment's lexical postings: for each term, the local rows of the passages holding
    it and how often; and each passage's length in terms. No collection statistic is stored,
    so a segment never goes stale when others are added or deleted."""

    vocabulary: Mapping[str, int]
    indptr: np.ndarray
    rows: np.ndarray
    counts: np.ndarray
    lengths: np.ndarray

    @classmethod
    def of(cls, documents: Sequence[str]) -> Postings:
        by_term: dict[str, list[tuple[int, int]]] = {}
        lengths = np.empty(len(documents), dtype=np.int32)
        for row, doc in enumerate(documents):
            # A passage without a term counts one, as bm25s counted its placeholder token.
            tokens = tokenize(doc) or ["\x00"]
            lengths[row] = len(tokens)
            for term, count in Counter(tokens).items():
                by_term.setdefault(term, []).append((row, count))
        return cls._of_lists(by_term, lengths)

    @classmethod
    def _of_lists(cls, by_term: dict[str, list[tuple[int, int]]], lengths: np.ndarray) -> Postings:
        terms = sorted(by_term)
        sizes = np.fromiter((len(by_term[t]) for t in terms), dtype=np.int64, count=len(terms))
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(sizes, out=indptr[1:])
        flat = [pair for t in terms for pair in by_term[t]]
        pairs = np.array(flat, dtype=np.int32).reshape(-1, 2)
        return cls(
            {t: i for i, t in enumerate(terms)},
            indptr,
            np.ascontiguousarray(pairs[:, 0]),
            np.ascontiguousarray(pairs[:, 1]),
            lengths,
        )

    @classmethod
    def merged(cls, parts: Sequence[tuple[Postings, np.ndarray]]) -> Postings:
        """The postings of the kept rows of `parts` (each with a boolean mask of the rows it
        keeps), renumbered one after the other."""
        by_term: dict[str, list[tuple[int, int]]] = {}
        lengths: list[np.ndarray] = []
        offset = 0
        for postings, keep in parts:
            renumber = np.cumsum(keep, dtype=np.int64) - 1 + offset
            for term, i in postings.vocabulary.items():
                start, end = int(postings.indptr[i]), int(postings.indptr[i + 1])
                rows = np.asarray(postings.rows[start:end])
                live = keep[rows]
                if live.any():
                    new = renumber[rows[live]].tolist()
                    counts = np.asarray(postings.counts[start:end])[live].tolist()
                    by_term.setdefault(term, []).extend(zip(new, counts, strict=True))
            lengths.append(np.asarray(postings.lengths)[keep])
            offset += int(keep.sum())
        joined = np.concatenate(lengths) if lengths else np.empty(0, np.int32)
        return cls._of_lists(by_term, joined.astype(np.int32))

    def __len__(self) -> int:
        return len(self.lengths)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / _ROWS, self.rows)
        np.save(folder / _COUNTS, self.counts)
        np.save(folder / _INDPTR, self.indptr)
        np.save(folder / _LENGTHS, self.lengths)
        (folder / _VOCAB).write_text(
            json.dumps(dict(self.vocabulary), ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> Postings:
        """Memory-mapped: a question reads the postings of its own terms only."""
        try:
            vocabulary = json.loads((folder / _VOCAB).read_text(encoding="utf-8"))
            postings = cls(
                vocabulary,
                np.load(folder / _INDPTR),
                np.load(folder / _ROWS, mmap_mode="r"),
                np.load(folder / _COUNTS, mmap_mode="r"),
                np.load(folder / _LENGTHS),
            )
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(folder, f"the BM25 postings cannot be read: {exc}") from None
        if not isinstance(vocabulary, dict) or len(postings.indptr) != len(vocabulary) + 1:
            raise IndexCorruptError(folder, "the BM25 vocabulary does not match its postings")
        return postings


@dataclass(frozen=True, slots=True)
class _TermScores:
    rows: np.ndarray
    scores: np.ndarray


class LexicalIndex:
    """BM25 over the live passages of every segment, with the statistics (document
    frequencies, passage count, average length) of those live passages only: the scores are
    those of one index built fresh from them, whatever the segments and deletions.

    Rows are global: segment i's local row r is row `offsets[i] + r`.
    """

    def __init__(
        self,
        segments: Sequence[Postings],
        live: np.ndarray | None = None,
    ) -> None:
        self._segments = tuple(segments)
        self._offsets = np.concatenate(
            [[0], np.cumsum([len(s) for s in self._segments], dtype=np.int64)]
        ).astype(np.int64)
        self.size = int(self._offsets[-1])
        # None: every row is live.
        self._live = live
        lengths = [np.asarray(s.lengths, dtype=np.int64) for s in self._segments]
        all_lengths = np.concatenate(lengths) if lengths else np.empty(0, np.int64)
        if live is not None:
            all_lengths = all_lengths[live]
        self._count = len(all_lengths)
        self._average = float(all_lengths.sum()) / self._count if self._count else 1.0
        self._lengths = lengths

    @classmethod
    def build(cls, documents: Sequence[str]) -> LexicalIndex:
        return cls([Postings.of(documents)])

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        postings = Postings.load(folder)
        if len(postings) != size:
            raise IndexCorruptError(folder, f"{len(postings)} passages, the index has {size}")
        return cls([postings])

    def save(self, folder: Path) -> None:
        """Only an index of one segment is saved whole; others are saved segment by segment."""
        (only,) = self._segments
        only.save(folder)

    def _term(self, term: str) -> _TermScores | None:
        """Global rows and BM25 scores of the live passages holding `term`."""
        found_rows: list[np.ndarray] = []
        found_counts: list[np.ndarray] = []
        found_lengths: list[np.ndarray] = []
        for i, segment in enumerate(self._segments):
            t = segment.vocabulary.get(term)
            if t is None:
                continue
            start, end = int(segment.indptr[t]), int(segment.indptr[t + 1])
            local = np.asarray(segment.rows[start:end], dtype=np.int64)
            rows = local + self._offsets[i]
            counts = np.asarray(segment.counts[start:end])
            lengths = self._lengths[i][local]
            if self._live is not None:
                keep = self._live[rows]
                rows, counts, lengths = rows[keep], counts[keep], lengths[keep]
            found_rows.append(rows)
            found_counts.append(counts)
            found_lengths.append(lengths)
        if not found_rows or not sum(len(r) for r in found_rows):
            return None
        rows = np.concatenate(found_rows)
        tf = np.concatenate(found_counts).astype(np.float64)
        dl = np.concatenate(found_lengths).astype(np.float64)
        df = len(rows)
        idf = math.log(1 + (self._count - df + 0.5) / (df + 0.5))
        scores = idf * tf / (K1 * ((1 - B) + B * dl / self._average) + tf)
        return _TermScores(rows, scores.astype(np.float32))

    @property
    def average_length(self) -> float:
        """The live passages' average length in terms: BM25's length normaliser."""
        return self._average

    def idf(self, term: str) -> float:
        """`term`'s inverse document frequency over the live passages of every segment, as
        `scores` weighs it (0 for a term no live passage holds)."""
        df = 0
        for i, segment in enumerate(self._segments):
            t = segment.vocabulary.get(term)
            if t is None:
                continue
            start, end = int(segment.indptr[t]), int(segment.indptr[t + 1])
            if self._live is None:
                df += end - start
            else:
                rows = np.asarray(segment.rows[start:end], dtype=np.int64) + self._offsets[i]
                df += int(self._live[rows].sum())
        if not df:
            return 0.0
        return math.log(1 + (self._count - df + 0.5) / (df + 0.5))

    def term_weights(self, terms: QueryTerms) -> dict[str, float]:
        """The question's terms, weighted by how much each can add to a BM25 score: the best
        score the term reaches in a live passage."""
        weights: dict[str, float] = {}
        for term in terms.stems:
            found = self._term(term)
            weights[term] = float(found.scores.max()) if found is not None else 0.0
        return weights

    def scores(self, terms: QueryTerms) -> np.ndarray:
        """Normalised BM25 score of every passage for the question's `terms`, shape (size,);
        0 for deleted passages."""
        known = {t: self._term(t) for t in set(terms.stems)}
        # A term the question repeats counts once per occurrence, as bm25s counted it.
        found = [known[t] for t in terms.stems if known[t] is not None]
        if not found or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        ceiling = float(sum(float(f.scores.max()) for f in found if f is not None))
        if ceiling <= 0:
            return np.zeros(self.size, dtype=np.float32)
        raw = np.zeros(self.size, dtype=np.float32)
        for term in found:
            if term is not None:
                np.add.at(raw, term.rows, term.scores)
        return (raw / ceiling).clip(0.0, 1.0)


def term_overlap(question_terms: Mapping[str, float], text: str) -> float:
    """Share of the question's term weight that `text` contains, in [0, 1]. Only `text` is
    tokenised here: the question's terms come analysed."""
    total = sum(question_terms.values())
    if total <= 0:
        return 0.0
    present = set(tokenize(text))
    return sum(w for t, w in question_terms.items() if t in present) / total

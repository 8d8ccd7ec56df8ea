"""Answer questions from a loaded index generation: ranked hits, each with its quote.

Loaded once and shared; `search` is blocking (model, FAISS, SQLite) and thread-safe, so
async callers run it in a worker thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from index.errors import IndexMismatchError
from index.models import (
    ArticleRef,
    Hit,
    Mode,
    SearchFilters,
    SearchResult,
    Sort,
    Span,
    passage_id,
)
from index.query.filters import (
    ArticleFacts,
    allowed_articles,
    is_restrictive,
    newest_first,
    outlet_names,
    within,
)
from index.query.hints import RankingHints
from index.query.links import deep_link
from index.query.question import clean_question
from index.query.quotes import best_sentence
from index.query.timewords import read_time_words
from index.query.when import Window
from index.store.database import Store
from index.store.layout import LEXICAL_NAME, STORE_NAME, VECTORS_NAME, DataDir
from index.store.lexical import LexicalIndex, informativeness, term_overlap
from index.store.manifest import MANIFEST_NAME, Manifest, read_manifest, verify_files
from index.store.vectors import AllowedRows, VectorIndex

log = logging.getLogger(__name__)


class EncodesQueries(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str], batch_size: int = ...) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class SearchTuning:
    lexical_weight: float = 0.5
    min_score: float = 0.5
    candidates: int = 50
    # Longer questions are cut: the model reads about 256 word pieces anyway, and a 100k
    # character paste would otherwise cost BM25 and the confidence check for nothing.
    max_question_chars: int = 300
    # Added to the ranking score of a passage from the period a question's time words name
    # ("this week"): a preference, not a filter. Measured with bench/dated_bench.py.
    time_boost: float = 0.1


@dataclass(frozen=True, slots=True)
class _RowFilter:
    mask: np.ndarray
    allowed: AllowedRows


@dataclass(frozen=True, slots=True)
class _Candidate:
    row: int
    score: float
    dense: float
    lexical: float


class Searcher:
    def __init__(self, folder: Path, embedder: EncodesQueries, tuning: SearchTuning) -> None:
        self.folder = folder
        self.manifest: Manifest = read_manifest(folder)
        if self.manifest.model != embedder.name:
            raise IndexMismatchError(
                folder / MANIFEST_NAME,
                f"built with model {self.manifest.model!r}, settings use {embedder.name!r}",
            )
        if self.manifest.dimension != embedder.dimension:
            raise IndexMismatchError(
                folder / MANIFEST_NAME,
                f"vectors have {self.manifest.dimension} dimensions, "
                f"the model gives {embedder.dimension}",
            )
        verify_files(folder, self.manifest)
        self._embedder = embedder
        self.tuning = tuning
        self._store = Store(folder / STORE_NAME)
        self._vectors = VectorIndex.load(folder / VECTORS_NAME)
        if self._vectors.dimension != embedder.dimension:
            raise IndexMismatchError(
                folder / VECTORS_NAME,
                f"vectors have {self._vectors.dimension} dimensions, "
                f"the model gives {embedder.dimension}",
            )
        self._lexical = LexicalIndex.load(folder / LEXICAL_NAME, len(self._vectors))
        self.articles: list[ArticleRef] = self._store.article_refs()
        self._article_rows = {a.id: i for i, a in enumerate(self.articles)}
        self._alternates = self._store.alternates()
        columns = self._store.passage_columns()
        self._text_keys = self._store.passage_text_keys()
        self._passage_article = columns.article
        self._passage_start = columns.start
        self._passage_end = columns.end
        self._facts = ArticleFacts.of(self.articles)
        self._masks: dict[frozenset[str], _RowFilter] = {}
        self._mask_lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path, embedder: EncodesQueries, tuning: SearchTuning) -> Searcher:
        return cls(DataDir(data_dir).current(), embedder, tuning)

    def close(self) -> None:
        self._store.close()

    @property
    def passage_count(self) -> int:
        return len(self._vectors)

    def passage_lengths(self) -> np.ndarray:
        return self._passage_end - self._passage_start

    def passage_id(self, row: int) -> str:
        return passage_id(
            self._article_id(row), int(self._passage_start[row]), int(self._passage_end[row])
        )

    def _article_id(self, row: int) -> str:
        return self.articles[int(self._passage_article[row])].id

    def article(self, article_id: str) -> tuple[ArticleRef, str] | None:
        """An article's reference and stored text, or None when this index lacks it."""
        row = self._article_rows.get(article_id)
        return None if row is None else (self.articles[row], self._store.article_text(row))

    def outlets(self, collections: Collection[str] | None = None) -> list[str]:
        """The outlets of the articles in `collections` (all when None)."""
        return outlet_names(self.articles, allowed_articles(self._facts, collections, None))

    def _rows(
        self, collections: Collection[str] | None, filters: SearchFilters | None
    ) -> _RowFilter | None:
        """The passages a question may retrieve, or None for all of them."""
        if not is_restrictive(filters):
            if collections is None:
                return None
            # Collections alone repeat with every question from a place: cached.
            key = frozenset(collections)
            with self._mask_lock:
                cached = self._masks.get(key)
                if cached is None:
                    cached = self._masks[key] = self._row_filter(collections, None)
                return cached
        return self._row_filter(collections, filters)

    def _row_filter(
        self, collections: Collection[str] | None, filters: SearchFilters | None
    ) -> _RowFilter:
        allowed = allowed_articles(self._facts, collections, filters)
        if allowed is None:
            allowed = np.ones(len(self.articles), dtype=bool)
        mask = allowed[self._passage_article] if len(self._passage_article) else np.zeros(0, bool)
        mask.setflags(write=False)
        return _RowFilter(mask, AllowedRows.of(np.flatnonzero(mask)))

    def _candidates(
        self,
        topic: str,
        query: np.ndarray,
        mode: Mode,
        collections: Collection[str] | None,
        filters: SearchFilters | None,
        window: Window | None,
        hints: RankingHints | None = None,
    ) -> list[_Candidate]:
        """The pool both sides retrieve within the filters, ranked by fused score. With a
        `window`, both sides also retrieve within it, so that its passages are in the pool
        even when many others match better, and they get the time boost."""
        lexical = self._lexical.scores(topic) if mode is not Mode.DENSE else None
        preferred = None
        if window is not None:
            preferred = self._row_filter(collections, within(filters, window.start, window.end))
        pool = self._pool(query, lexical, mode, self._rows(collections, filters))
        if preferred is not None:
            pool |= self._pool(query, lexical, mode, preferred)
        if not pool:
            return []
        rows = np.fromiter(pool, dtype=np.int64)
        dense = self._vectors.similarities(rows, query)
        lex = lexical[rows] if lexical is not None else np.zeros(len(rows), dtype=np.float32)
        weight = {Mode.DENSE: 0.0, Mode.LEXICAL: 1.0}.get(mode, self.tuning.lexical_weight)
        fused = (1 - weight) * dense + weight * lex
        if hints:
            fused = hints.adjust(
                fused, [self.passage_id(int(r)) for r in rows], [self._article_id(r) for r in rows]
            )
        if preferred is not None:
            fused = fused + self.tuning.time_boost * preferred.mask[rows]
        order = np.argsort(-fused, kind="stable")
        return [
            _Candidate(int(rows[i]), float(fused[i]), float(dense[i]), float(lex[i])) for i in order
        ]

    def _pool(
        self, query: np.ndarray, lexical: np.ndarray | None, mode: Mode, scope: _RowFilter | None
    ) -> set[int]:
        """The best rows of each side within `scope` (everything when None)."""
        n = self.tuning.candidates
        pool: set[int] = set()
        if mode is not Mode.LEXICAL:
            found = self._vectors.search(query, n, scope.allowed if scope is not None else None)
            pool.update(int(r) for r in found.rows)
        if lexical is not None:
            masked = lexical if scope is None else np.where(scope.mask, lexical, 0.0)
            if len(masked):
                top = np.argpartition(-masked, min(n, len(masked) - 1))[:n]
                pool.update(int(r) for r in top if masked[r] > 0)
        return pool

    def search(
        self,
        question: str,
        k: int = 3,
        collections: Collection[str] | None = None,
        mode: Mode = Mode.HYBRID,
        apply_threshold: bool = True,
        hints: RankingHints | None = None,
        filters: SearchFilters | None = None,
    ) -> SearchResult:
        """Top `k` hits for `question` among `collections` (all when None), within `filters`;
        `hints` (a server's demoted passages, a conversation's articles) adjust the ranking.

        Time words in the question ("this week") are resolved against `filters.as_of`, else
        the clock; the passages of that period are preferred, and the words themselves are
        left out of matching.
        """
        question = clean_question(question, self.tuning.max_question_chars)
        if not question or self.passage_count == 0:
            return SearchResult(question=question, hits=(), matched=False)
        now = filters.as_of if filters is not None and filters.as_of else datetime.now(UTC)
        words = read_time_words(question, now)
        topic = words.topic
        query = self._embedder.encode([topic])[0]
        candidates = self._candidates(topic, query, mode, collections, filters, words.window, hints)
        if not candidates:
            return SearchResult(question=question, hits=(), matched=False)
        weights = informativeness(topic)
        best = self._confidence(candidates[0], weights)
        if apply_threshold and best < self.tuning.min_score:
            nearest: list[ArticleRef] = []
            for c in candidates:
                ref = self.articles[int(self._passage_article[c.row])]
                if ref not in nearest:
                    nearest.append(ref)
                if len(nearest) == 3:
                    break
            return SearchResult(
                question, (), matched=False, nearest=tuple(nearest), best_score=best
            )
        # Once the best passage is confident, the rest are shown whatever their own score:
        # on the split-half check, 0.009 of answerable questions have their answer only in a
        # later passage that would not pass the threshold alone.
        if filters is not None and filters.sort is Sort.NEWEST:
            chosen = self._newest(candidates, k, weights if apply_threshold else None)
        else:
            chosen = self._diverse(candidates, k)
        hits = self._with_quotes(topic, chosen, weights)
        return SearchResult(question, tuple(hits), matched=True, best_score=best)

    def _confidence(self, candidate: _Candidate, weights: dict[str, float]) -> float:
        """How sure we are that `candidate` answers: its cosine similarity to the question,
        averaged with the share of the question's informative words found in its title and
        text, half over the whole passage and half within its best single sentence.

        Measured on the split-half check (`articlebot eval --no-match`), this separates
        questions about articles not in the index from answerable ones better than the
        ranking score, either side alone, or score margins. The sentence half is there
        because an answer is stated in one sentence: a passage that holds the question's
        words only scattered over several is more often about something else.
        """
        article = int(self._passage_article[candidate.row])
        title = self.articles[article].title
        start, end = int(self._passage_start[candidate.row]), int(self._passage_end[candidate.row])
        text = self._store.article_text(article)
        passage = term_overlap(weights, f"{title} {text[start:end]}")
        sentence = max(
            (
                term_overlap(weights, f"{title} {text[s.start : s.end]}")
                for s in self._store.passage_sentences(candidate.row)
            ),
            default=0.0,
        )
        return 0.5 * candidate.dense + 0.25 * passage + 0.25 * sentence

    def _diverse(self, candidates: list[_Candidate], k: int) -> list[tuple[_Candidate, list[int]]]:
        """Walk the ranking, skipping windows mostly covered by a chosen window of the same
        article, and folding passages with the same text (syndicated copies) into one hit.

        Neighbouring windows share only their edge sentence, so they stay: each brings new
        sentences, and the answer is often in the part the better-ranked one lacks.
        """
        chosen: list[tuple[_Candidate, list[int]]] = []
        by_text: dict[str, int] = {}
        for c in candidates:
            article = int(self._passage_article[c.row])
            start, end = int(self._passage_start[c.row]), int(self._passage_end[c.row])
            if any(
                int(self._passage_article[o.row]) == article
                and self._shared_chars(o.row, start, end) * 2
                > min(end - start, int(self._passage_end[o.row] - self._passage_start[o.row]))
                for o, _ in chosen
            ):
                continue
            key = self._text_keys[c.row]
            if key in by_text:
                copies = chosen[by_text[key]][1]
                if article not in copies:
                    copies.append(article)
            elif len(chosen) < k:
                by_text[key] = len(chosen)
                chosen.append((c, [article]))
        return chosen

    def _newest(
        self, candidates: list[_Candidate], k: int, weights: dict[str, float] | None
    ) -> list[tuple[_Candidate, list[int]]]:
        """The `k` newest of the candidates that answer well enough on their own (each above
        the no-match threshold; all of them when `weights` is None: no threshold)."""
        if weights is not None:
            candidates = [
                c for c in candidates if self._confidence(c, weights) >= self.tuning.min_score
            ]
        chosen = self._diverse(candidates, len(candidates))
        first = [float(self._facts.first[articles[0]]) for _, articles in chosen]
        return [chosen[i] for i in newest_first(first)[:k]]

    def _shared_chars(self, row: int, start: int, end: int) -> int:
        return max(
            0, min(end, int(self._passage_end[row])) - max(start, int(self._passage_start[row]))
        )

    def _with_quotes(
        self,
        question: str,
        chosen: list[tuple[_Candidate, list[int]]],
        weights: dict[str, float],
    ) -> list[Hit]:
        terms = self._lexical.term_weights(question)
        quoted: dict[int, set[Span]] = {}
        hits: list[Hit] = []
        for c, articles in chosen:
            text = self._store.article_text(articles[0])
            sentences = self._store.passage_sentences(c.row)
            taken = quoted.setdefault(articles[0], set())
            quote = best_sentence(
                sentences, [text[s.start : s.end] for s in sentences], terms, taken
            )
            taken.add(quote)
            start, end = int(self._passage_start[c.row]), int(self._passage_end[c.row])
            refs = [self.articles[a] for a in articles]
            # Syndicated copies merged at ingestion are sources of the hit like identical
            # passages found here.
            refs += [r for a in articles for r in self._alternates.get(a, ()) if r not in refs]
            hits.append(
                Hit(
                    article=refs[0],
                    char_start=start,
                    char_end=end,
                    text=text[start:end],
                    quote_start=quote.start,
                    quote_end=quote.end,
                    score=c.score,
                    dense_score=c.dense,
                    lexical_score=c.lexical,
                    also_in=tuple(refs[1:]),
                    confidence=self._confidence(c, weights),
                    link=deep_link(refs[0].url, text[quote.start : quote.end]),
                )
            )
        return hits

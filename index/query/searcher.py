"""Answer questions from a loaded index generation: ranked hits, each with its quote.

Loaded once and shared; `search` is blocking (model, FAISS, SQLite) and thread-safe, so
async callers run it in a worker thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.errors import IndexMismatchError
from index.models import (
    ArticleRef,
    Hit,
    JudgedPassage,
    Mode,
    SearchFilters,
    SearchResult,
    Sort,
    Span,
    passage_id,
)
from index.query.analysis import AnalysedQuestion, EncodesQueries, analyse
from index.query.confidence import confidence, overlap
from index.query.diversity import Pick, diverse, nearest_articles, newest
from index.query.features import (
    AnswerType,
    Candidate,
    answer_type,
    feature_matrix,
    sentence_features,
)
from index.query.filters import (
    ArticleFacts,
    allowed_articles,
    is_restrictive,
    outlet_names,
    within,
)
from index.query.fusion import Ranking, boost, fuse, lexical_share, rank, reorder_top
from index.query.hints import RankingHints
from index.query.learned import LearnedRanker
from index.query.learned import load as load_learned
from index.query.links import deep_link
from index.query.passage_text import PassageText
from index.query.question import clean_question
from index.query.quotes import LearnedQuotes, pick_quotes
from index.query.timewords import read_time_words
from index.query.tuning import SearchTuning
from index.store.layout import DataDir
from index.store.local_search import open_local
from index.store.manifest import MANIFEST_NAME, Manifest, read_manifest, verify_files
from index.store.search_backend import (
    OpensBackend,
    QuestionSearch,
    RowFilter,
    Scope,
    SearchBackend,
)
from index.store.segments import SegmentedStore, live_rows, read_state, verify_segment
from index.store.vectors import AllowedRows

# The engine and tests take these from here, with the searcher.
__all__ = ["EncodesQueries", "SearchTuning", "Searcher"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SentenceFeatures:
    """A passage's sentences with what the quote model reads about each."""

    spans: tuple[Span, ...]
    features: np.ndarray


@dataclass(frozen=True, slots=True)
class RankedFeatures:
    """The best candidates of a question in fused order, with what the learned models read
    about each: what `python -m bench.train_ranker` learns from."""

    rows: np.ndarray
    features: np.ndarray
    sentences: tuple[SentenceFeatures, ...]


class Searcher:
    def __init__(
        self,
        folder: Path,
        embedder: EncodesQueries,
        tuning: SearchTuning,
        learned: LearnedRanker | None = None,
        backend: OpensBackend = open_local,
    ) -> None:
        """`learned` is the model `tuning.ranker == "learned"` answers with: the committed
        file's when None (the training script passes the one it is fitting)."""
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
        # An index of an earlier release says so before its files are checked.
        state = read_state(folder)
        verify_files(folder, self.manifest)
        root = folder.parent
        for segment in state.segments:
            verify_segment(root, segment.name)
        self._embedder = embedder
        self.tuning = tuning
        self._store = SegmentedStore(root, state)
        self.articles: list[ArticleRef] = self._store.article_refs()
        self._alternates = self._store.alternates()
        columns = self._store.passage_columns()
        self._text_keys = self._store.passage_text_keys()
        self._passage_article = columns.article
        self._passage_start = columns.start
        self._passage_end = columns.end
        # Deleted rows (removed and changed articles of older segments) stay in the row
        # numbering and are masked out of every search; None when there are none.
        self._live = live_rows(state, self._passage_article)
        self.backend: SearchBackend = backend(
            root, state, self._store, self._live, embedder.dimension
        )
        self._article_rows = {
            a.id: i
            for i, a in enumerate(self.articles)
            if self._live.articles is None or self._live.articles[i]
        }
        self._facts = ArticleFacts.of(self.articles)
        # Each article's place in id order: passages tied on the ranking score are ordered by
        # (article id, start), the same in every index that holds them, not by row number.
        by_id = sorted(range(len(self.articles)), key=lambda a: self.articles[a].id)
        self._article_order = np.empty(len(self.articles), dtype=np.int64)
        self._article_order[by_id] = np.arange(len(self.articles))
        self._masks: dict[frozenset[str], RowFilter] = {}
        self._mask_lock = threading.Lock()
        self._everything = (
            self._row_filter(None, None)
            if self._live.passages is not None and self.backend.uses_row_masks
            else None
        )
        self._learned: LearnedRanker | None = None
        if tuning.ranker == "learned":
            self._learned = learned if learned is not None else load_learned()

    @classmethod
    def open(
        cls,
        data_dir: Path,
        embedder: EncodesQueries,
        tuning: SearchTuning,
        backend: OpensBackend = open_local,
    ) -> Searcher:
        return cls(DataDir(data_dir).current(), embedder, tuning, backend=backend)

    def close(self) -> None:
        self.backend.close()
        self._store.close()

    @property
    def passage_count(self) -> int:
        """Live passages."""
        live = self._live.passages
        return len(self._passage_article) if live is None else int(live.sum())

    @property
    def encoder(self) -> EncodesQueries:
        """What encodes this searcher's questions."""
        return self._embedder

    def article_passages(self, article_id: str) -> np.ndarray:
        """The rows of the live passages of `article_id` (none when this index lacks it)."""
        article = self._article_rows.get(article_id)
        if article is None:
            return np.zeros(0, dtype=np.int64)
        rows = self._passage_article == article
        if self._live.passages is not None:
            rows &= self._live.passages
        return np.flatnonzero(rows)

    def passage_span(self, row: int) -> Span:
        """Where passage `row` lies in its article's text."""
        return Span(int(self._passage_start[row]), int(self._passage_end[row]))

    def passage_sentences(self, row: int) -> tuple[Span, ...]:
        return self._store.passage_sentences(row)

    def question_vector(self, question: str) -> np.ndarray:
        """`question` encoded as `search` encodes it: cleaned, its time words left out."""
        text = clean_question(question, self.tuning.max_question_chars)
        return self._embedder.encode([read_time_words(text, datetime.now(UTC)).topic])[0]

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
        return outlet_names(
            self.articles, self._live_among(allowed_articles(self._facts, collections, None))
        )

    def _live_among(self, allowed: np.ndarray | None) -> np.ndarray | None:
        live = self._live.articles
        if live is None or allowed is None:
            return live if allowed is None else allowed
        return allowed & live

    def _rows(
        self, collections: Collection[str] | None, filters: SearchFilters | None
    ) -> RowFilter | None:
        """The passages a question may retrieve, or None for all of them."""
        if not is_restrictive(filters):
            if collections is None:
                return self._everything
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
    ) -> RowFilter:
        allowed = self._live_among(allowed_articles(self._facts, collections, filters))
        if allowed is None:
            allowed = np.ones(len(self.articles), dtype=bool)
        mask = allowed[self._passage_article] if len(self._passage_article) else np.zeros(0, bool)
        mask.setflags(write=False)
        return RowFilter(mask, AllowedRows.of(np.flatnonzero(mask)))

    def _ranking(
        self,
        query: AnalysedQuestion,
        mode: Mode,
        collections: Collection[str] | None,
        filters: SearchFilters | None,
        hints: RankingHints | None,
        also: np.ndarray | None = None,
    ) -> Ranking:
        """The pool both sides retrieve within the filters, ranked by fused score. With a time
        window, both sides also retrieve within it, so that its passages are in the pool even
        when many others match better, and they get the time boost. The rows of `also` within
        the filters join the pool whatever their scores."""
        found = self.backend.question(query.vector, query.terms, mode is not Mode.DENSE)
        preferred = None
        if query.window is not None:
            window = query.window
            preferred = self._scope(collections, within(filters, window.start, window.end))
        pool = self._pool(found, mode, self._scope(collections, filters, cached=True))
        if preferred is not None:
            pool |= self._pool(found, mode, preferred)
        if also is not None and len(also):
            scope = self._scope(collections, filters, cached=True)
            pool.update(int(r) for r in also[self._within_scope(scope, also)])
        rows = np.fromiter(pool, dtype=np.int64)
        rows = rows[
            np.lexsort(
                (self._passage_start[rows], self._article_order[self._passage_article[rows]])
            )
        ]
        scores = found.pool_scores(rows)
        dense, lex = scores.dense, scores.lexical
        fused = fuse(dense, lex, lexical_share(mode, self.tuning.lexical_weight))
        if hints:
            fused = hints.adjust(
                fused,
                [self.passage_id(int(r)) for r in rows],
                [self._article_id(r) for r in rows],
                self.tuning.demotion_penalty,
                self.tuning.preference_bonus,
            )
        if preferred is not None:
            fused = boost(fused, self._within_scope(preferred, rows), self.tuning.time_boost)
        return rank(rows, fused, dense, lex)

    def _scope(
        self,
        collections: Collection[str] | None,
        filters: SearchFilters | None,
        cached: bool = False,
    ) -> Scope:
        """The scope as the backend reads it; with a row mask when it filters by masks."""
        rows = None
        if self.backend.uses_row_masks:
            rows = (
                self._rows(collections, filters)
                if cached
                else self._row_filter(collections, filters)
            )
        return Scope(collections, filters, rows)

    def _within_scope(self, scope: Scope, rows: np.ndarray) -> np.ndarray:
        """Whether each of `rows` is within `scope`."""
        if scope.rows is not None:
            return scope.rows.mask[rows]
        allowed = self._live_among(allowed_articles(self._facts, scope.collections, scope.filters))
        if allowed is None:
            return np.ones(len(rows), dtype=bool)
        return allowed[self._passage_article[rows]]

    def _pool(self, found: QuestionSearch, mode: Mode, scope: Scope) -> set[int]:
        """The best rows of each side within `scope`."""
        n = self.tuning.candidates
        pool: set[int] = set()
        if mode is not Mode.LEXICAL:
            pool.update(int(r) for r in found.dense_top(n, scope))
        if mode is not Mode.DENSE:
            pool.update(int(r) for r in found.lexical_top(n, scope))
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
        query = analyse(question, now, self.backend, self._embedder)
        ranking = self._ranking(query, mode, collections, filters, hints)
        if not len(ranking):
            return SearchResult(question=question, hits=(), matched=False)
        judged = _Judged(self, query, ranking, now)
        best = judged.confidence(0)
        if apply_threshold and best < self.tuning.min_score:
            nearest = nearest_articles(self._passage_article[ranking.rows], 3)
            return SearchResult(
                question,
                (),
                matched=False,
                nearest=tuple(self.articles[a] for a in nearest),
                best_score=best,
            )
        # Once the best passage is confident, the rest are shown whatever their own score:
        # on the split-half check, 0.009 of answerable questions have their answer only in a
        # later passage that would not pass the threshold alone.
        if filters is not None and filters.sort is Sort.NEWEST:
            picks = self._newest(judged, k, apply_threshold)
        else:
            # The judged ranking: the learned ranker's order, whose positions the hits read.
            picks = self._diverse(judged.ranking.rows, k)
        return SearchResult(question, self._hits(judged, picks), matched=True, best_score=best)

    def judge_passages(
        self,
        question: str,
        article_ids: Collection[str],
        collections: Collection[str] | None = None,
        filters: SearchFilters | None = None,
        vector: np.ndarray | None = None,
    ) -> list[JudgedPassage]:
        """The best passage of each of `article_ids` that `question` may retrieve (within
        `collections` and `filters`), ranked and judged among all the others as `/ask` ranks
        and judges them, each on its own: what a watch posts. `vector` is the question as
        encoded before (a watch's, encoded when it was added); it is encoded here when None.
        An article not in this index, outside the filters, or whose passages the learned
        ranker does not reach is left out."""
        question = clean_question(question, self.tuning.max_question_chars)
        wanted = {self._article_rows[a] for a in article_ids if a in self._article_rows}
        if not question or not wanted:
            return []
        now = filters.as_of if filters is not None and filters.as_of else datetime.now(UTC)
        query = analyse(question, now, self.backend, self._embedder, vector)
        rows = np.flatnonzero(np.isin(self._passage_article, list(wanted)))
        if self._live.passages is not None:
            rows = rows[self._live.passages[rows]]
        ranking = self._ranking(query, Mode.HYBRID, collections, filters, None, also=rows)
        judged = _Judged(self, query, ranking, now)
        reach = len(ranking)
        if self._learned is not None:
            reach = min(reach, self._learned.depth)
        out: list[JudgedPassage] = []
        seen: set[int] = set()
        ranked = judged.ranking
        for i in range(reach):
            article = int(self._passage_article[ranked.rows[i]])
            if article in seen or article not in wanted:
                continue
            seen.add(article)
            out.append(
                JudgedPassage(
                    self.articles[article].id,
                    self.passage_span(int(ranked.rows[i])),
                    judged.standalone_confidence(i),
                    float(ranked.score[i]),
                    float(ranked.dense[i]),
                    float(ranked.lexical[i]),
                )
            )
        return out

    def _diverse(self, rows: np.ndarray, k: int) -> list[Pick]:
        return diverse(
            self._passage_article[rows],
            self._passage_start[rows],
            self._passage_end[rows],
            [self._text_keys[r] for r in rows],
            k,
            self.tuning.max_shared,
        )

    def _newest(self, judged: _Judged, k: int, apply_threshold: bool) -> list[Pick]:
        """The `k` newest of the ranked passages that answer well enough on their own (each
        above the no-match threshold; all of them without the threshold)."""
        positions = np.arange(len(judged.ranking))
        if apply_threshold:
            positions = positions[
                [judged.standalone_confidence(int(i)) >= self.tuning.min_score for i in positions]
            ]
        picks = newest(
            self._diverse(judged.ranking.rows[positions], len(positions)), self._facts.first, k
        )
        return [Pick(int(positions[p.position]), p.articles) for p in picks]

    def _hits(self, judged: _Judged, picks: list[Pick]) -> tuple[Hit, ...]:
        ranking = judged.ranking
        found = [judged.text(p.position) for p in picks]
        chooser = None
        if self._learned is not None:
            chooser = LearnedQuotes(
                self._learned.quote, judged.query.terms.informativeness, judged.kind
            )
        quotes = pick_quotes(found, judged.query.quote_weights, chooser)
        hits = []
        for pick, text, quote in zip(picks, found, quotes, strict=True):
            i = pick.position
            refs = [self.articles[a] for a in pick.articles]
            # Syndicated copies merged at ingestion are sources of the hit like identical
            # passages found here.
            refs += [r for a in pick.articles for r in self._alternates.get(a, ()) if r not in refs]
            hits.append(
                Hit(
                    article=refs[0],
                    char_start=text.passage.start,
                    char_end=text.passage.end,
                    text=text.excerpt(text.passage),
                    quote_start=quote.start,
                    quote_end=quote.end,
                    score=float(ranking.score[i]),
                    sentences=text.sentences,
                    dense_score=float(ranking.dense[i]),
                    lexical_score=float(ranking.lexical[i]),
                    also_in=tuple(refs[1:]),
                    confidence=judged.confidence(i),
                    link=deep_link(refs[0].url, text.excerpt(quote)),
                )
            )
        return tuple(hits)

    def ranked_features(
        self, question: str, depth: int, collections: Collection[str] | None = None
    ) -> RankedFeatures:
        """The first `depth` candidates of the fused ranking for `question`, with their
        features (hybrid mode, no filters, no hints)."""
        question = clean_question(question, self.tuning.max_question_chars)
        if not question or self.passage_count == 0:
            return RankedFeatures(
                np.zeros(0, np.int64), feature_matrix({}, AnswerType.OTHER, []), ()
            )
        now = datetime.now(UTC)
        query = analyse(question, now, self.backend, self._embedder)
        ranking = self._ranking(query, Mode.HYBRID, collections, None, None)
        judged = _Judged(self, query, ranking, now, learned=False)
        depth = min(depth, len(ranking))
        return RankedFeatures(
            ranking.rows[:depth],
            judged.features(depth),
            tuple(judged.sentence_features(i) for i in range(depth)),
        )

    def _candidate(
        self, text: PassageText, dense: float, lexical: float, fused: float, now: datetime
    ) -> Candidate:
        first = float(self._facts.first[text.article])
        return Candidate(
            dense=dense,
            lexical=lexical,
            fused=fused,
            article=text.article,
            title=text.title,
            passage=text.excerpt(text.passage),
            sentences=tuple(text.excerpt(s) for s in text.sentences),
            position=text.passage.start / max(1, len(text.text)),
            age_days=None if np.isnan(first) else (now.timestamp() - first) / 86_400,
        )

    def _passage_text(self, row: int, article_texts: dict[int, str]) -> PassageText:
        """Passage `row` with its article's text, read from SQLite unless `article_texts`
        holds it already (it keeps it for the next passage of that article)."""
        article = int(self._passage_article[row])
        if article not in article_texts:
            article_texts[article] = self._store.article_text(article)
        return PassageText(
            article=article,
            title=self.articles[article].title,
            text=article_texts[article],
            passage=Span(int(self._passage_start[row]), int(self._passage_end[row])),
            sentences=self._store.passage_sentences(row),
        )


class _Judged:
    """A search's ranking with each passage's text read from SQLite, and its confidence
    computed, at most once: the best passage is judged to decide whether to answer at all,
    then shown with its quote and confidence.

    With the learned ranker, the first candidates are reordered by it and their confidences
    are its confidence model's; a passage beyond them has confidence 0."""

    def __init__(
        self,
        searcher: Searcher,
        query: AnalysedQuestion,
        ranking: Ranking,
        now: datetime,
        learned: bool = True,
    ) -> None:
        self.query = query
        self.ranking = ranking
        self.kind = answer_type(query.topic)
        self._now = now
        self._searcher = searcher
        self._texts: dict[int, PassageText] = {}
        self._article_texts: dict[int, str] = {}
        self._confidences: dict[int, float] = {}
        # The learned confidence of each candidate judged on its own, not against the others.
        self._standalone: dict[int, float] = {}
        self._learned = searcher._learned if learned else None
        if self._learned is not None:
            self._rerank(self._learned)

    def features(self, depth: int) -> np.ndarray:
        """The features of the first `depth` passages, in ranking order."""
        r = self.ranking
        return feature_matrix(
            self.query.terms.informativeness,
            self.kind,
            [
                self._searcher._candidate(
                    self.text(i),
                    float(r.dense[i]),
                    float(r.lexical[i]),
                    float(r.score[i]),
                    self._now,
                )
                for i in range(depth)
            ],
        )

    def sentence_features(self, position: int) -> SentenceFeatures:
        text = self.text(position)
        return SentenceFeatures(
            text.sentences,
            sentence_features(
                [text.excerpt(s) for s in text.sentences],
                self.query.quote_weights,
                self.query.terms.informativeness,
                self.kind,
            ),
        )

    def _rerank(self, learned: LearnedRanker) -> None:
        depth = min(learned.depth, len(self.ranking))
        features = self.features(depth)
        scores = learned.ranker.logits(features)
        shown = self._searcher._diverse(self.ranking.rows[:depth], learned.keep_top)
        order = learned.order(scores, np.array([p.position for p in shown], dtype=np.int64))
        sure = learned.confidence.probabilities(learned.confidence_features(features, scores))
        self.ranking = reorder_top(self.ranking, order)
        self._texts = {new: self._texts[int(old)] for new, old in enumerate(order)}
        self._confidences = {new: float(sure[old]) for new, old in enumerate(order)}
        alone = learned.confidence.probabilities(learned.standalone_features(features, scores))
        self._standalone = {new: float(alone[old]) for new, old in enumerate(order)}

    def text(self, position: int) -> PassageText:
        if position not in self._texts:
            row = int(self.ranking.rows[position])
            self._texts[position] = self._searcher._passage_text(row, self._article_texts)
        return self._texts[position]

    def confidence(self, position: int) -> float:
        if position not in self._confidences:
            if self._learned is not None:
                return 0.0
            found = overlap(self.query.terms.informativeness, self.text(position))
            self._confidences[position] = confidence(
                float(self.ranking.dense[position]), found, self._searcher.tuning.confidence
            )
        return self._confidences[position]

    def standalone_confidence(self, position: int) -> float:
        """Whether the passage answers on its own: the fused confidence is judged so
        already; the learned one counts a candidate's lead over the others."""
        if self._learned is None:
            return self.confidence(position)
        return self._standalone.get(position, 0.0)

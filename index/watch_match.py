"""Watched questions matched against the articles an update brought, and only those.

After any update publishes a new index state (a poll, an upload, a link, a reindex, a merge,
a command-line build), `WatchMatcher.catch_up` finds the articles that are new: those in the
state's segments that the last matched state did not name, whose (id, digest) the matcher has
not seen before (a merge rewrites old articles into a new segment: seen, so not new; a changed
article has a new digest: new). Then every live watch is matched against the new passages:

- dense: one matrix product of the watches' question vectors (encoded once, when the watch was
  added, by the encoder `/ask` uses) with the new passages' stored vectors;
- lexical: BM25 of the new passages with the index's global statistics (each term's document
  frequency over all live passages, their average length), normalised per question as `/ask`
  normalises, by the best score each question term reaches, here among the passages scored;
- fused like `/ask`, within what the watch may see (its place's collection and the shared
  one, its outlets and `since`); in each new article, the best-ranked passage is judged by the
  confidence `/ask` uses, against the same `min_score`. A cheap upper bound of that confidence
  (the sentence share of words cannot exceed the passage share) leaves only the likely pairs
  to be judged exactly.
- under the learned ranker (`ARTICLEBOT_RANKER=learned`), whose confidence reads how a passage
  compares with the others in the whole index, the likely pairs are judged by the searcher
  itself: the watch's question is ranked over the index with the new articles' passages in
  the pool, and each article's best passage posts when its learned confidence, judged on its
  own, reaches `min_score`, as it would as `/ask`'s hit. Watches asking the same question
  within the same bounds share that judgement.

A watch gets at most one post per round (its matched articles as hits, copies with the same
text folded into one hit listing their outlets), never an article it was sent before, and at
most `posts_per_day` posts in 24 hours. The round is recorded in one transaction (posts,
articles sent, articles seen, the state matched), so a crash repeats it and nothing twice.

The work is in the new passages times the watches; the archive is touched only through the
document frequencies of the terms the new passages and the questions share.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from scipy import sparse

from index.answering import tuning_from
from index.models import (
    SHARED_COLLECTION,
    ArticleRef,
    Hit,
    JudgedPassage,
    SearchFilters,
    SearchResult,
    Span,
)
from index.query.confidence import Overlap, confidence
from index.query.diversity import diverse
from index.query.filters import ArticleFacts, allowed_articles
from index.query.links import deep_link
from index.query.passage_text import PassageText
from index.query.question import clean_question
from index.query.quotes import pick_quotes
from index.query.timewords import read_time_words
from index.query.tuning import SearchTuning
from index.store.database import Store
from index.store.files import DataFiles
from index.store.layout import LEXICAL_NAME, STORE_NAME, DataDir
from index.store.lexical import K1, B, LexicalIndex, Postings, QueryTerms, query_terms, tokenize
from index.store.manifest import read_manifest
from index.store.segments import (
    VECTORS_ARRAY,
    IndexState,
    live_rows,
    read_state,
    segment_folder,
)
from index.store.watches import DAY_SECONDS, Baseline, NewPost, Watch, WatchStore

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(__name__)

# The lock a matching round holds (`.watch.lock` in the data directory, or PostgreSQL's).
WATCH_LOCK = "watch"
# New passages are matched in blocks of about this many (whole articles), so the watches ×
# passages matrices stay small: 10,000 watches × 1,024 passages is 40 MB a matrix.
BLOCK_PASSAGES = 1024


@dataclass(frozen=True, slots=True)
class MatchRound:
    """What one `catch_up` did."""

    state: str | None = None
    # New articles and their passages (0 when the state was matched before, or is the first
    # one seen: the archive a watch starts from is never "new").
    articles: int = 0
    passages: int = 0
    watches: int = 0
    posts: int = 0
    seconds: float = 0.0
    # Another process was matching: this one did nothing.
    busy: bool = False


@dataclass(frozen=True, slots=True)
class _Question:
    """A watch's question analysed once (as `/ask` analyses it) and kept while it is live."""

    renewed_at: float
    topic: str
    terms: QueryTerms


@dataclass(slots=True)
class _Arrivals:
    """The new articles and their passages, read from the segments that hold them. Passage
    columns follow article order; an article's passages are contiguous."""

    refs: list[ArticleRef] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    alternates: list[tuple[ArticleRef, ...]] = field(default_factory=list)
    # [start, end) of each article's passage columns.
    spans: list[tuple[int, int]] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    passage_article: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    text_keys: list[str] = field(default_factory=list)
    # Where each passage's sentences and postings are: its segment's store and local row.
    stores: list[Store] = field(default_factory=list)
    passage_store: list[int] = field(default_factory=list)
    passage_local: list[int] = field(default_factory=list)
    # Per segment: its postings and the column of each of its local passage rows (-1: not new).
    postings: list[tuple[Postings, np.ndarray]] = field(default_factory=list)

    # Each passage's terms (title and text), and its sentences' (title and sentence), read
    # once: what `confidence.overlap` tokenises for every question, here for many questions.
    passage_terms: dict[int, frozenset[str]] = field(default_factory=dict)
    sentence_terms: dict[int, list[frozenset[str]]] = field(default_factory=dict)

    def close(self) -> None:
        for store in self.stores:
            store.close()

    def terms_of(self, column: int) -> frozenset[str]:
        known = self.passage_terms.get(column)
        if known is None:
            article = self.passage_article[column]
            text = self.texts[article][self.starts[column] : self.ends[column]]
            known = frozenset(tokenize(f"{self.refs[article].title} {text}"))
            self.passage_terms[column] = known
        return known

    def overlap(self, terms: Mapping[str, float], column: int) -> Overlap:
        """`confidence.overlap` of the passage in `column`, from its terms read once."""
        sentences = self.sentence_terms.get(column)
        if sentences is None:
            text = _passage_text(self, column)
            sentences = [
                frozenset(tokenize(f"{text.title} {text.excerpt(s)}")) for s in text.sentences
            ]
            self.sentence_terms[column] = sentences
        return Overlap(
            passage=_share(terms, self.terms_of(column)),
            sentence=max((_share(terms, found) for found in sentences), default=0.0),
        )


@dataclass(frozen=True, slots=True)
class _Match:
    watch: int
    article: int
    column: int
    fused: float
    dense: float
    lexical: float
    confidence: float


@dataclass(frozen=True, slots=True)
class _Likely:
    """A watch and a new article whose best passage may answer it: judged by the searcher."""

    watch: int
    article: int


class JudgesPassages(Protocol):
    """What judges a watch's likely articles under the learned ranker: the searcher."""

    def judge_passages(
        self,
        question: str,
        article_ids: Collection[str],
        collections: Collection[str] | None = None,
        filters: SearchFilters | None = None,
        vector: np.ndarray | None = None,
    ) -> list[JudgedPassage]: ...


class _Busy(Exception):
    pass


class WatchMatcher:
    def __init__(
        self,
        data_dir: Path,
        store: WatchStore,
        tuning: SearchTuning,
        *,
        posts_per_day: int,
        top_k: int,
        clock: Callable[[], float] = time.time,
        layout: DataDir | None = None,
        judge: Callable[[], JudgesPassages] | None = None,
    ) -> None:
        """`judge` gives the searcher over the live state when the learned ranker answers
        (None: the fused confidence judges)."""
        self.files = DataFiles(data_dir)
        # The index pointer and the locks of the state backend (files, or PostgreSQL).
        self.layout = layout or DataDir(data_dir)
        self.store = store
        self.tuning = tuning
        self.posts_per_day = posts_per_day
        self.top_k = top_k
        self._clock = clock
        self._judge = judge
        self._questions: dict[int, _Question] = {}
        self._segments: dict[str, _Segment] = {}
        self._watches: tuple[int, list[Watch]] | None = None
        # The watches' term matrices, kept while the same watches are live.
        self._terms: tuple[tuple[tuple[int, float], ...], _TermMatrices] | None = None

    def catch_up(self) -> MatchRound:
        """Match the live watches against whatever was published since the last round; a
        round already running in another process makes this one a no-op."""
        try:
            with self.layout.locks.exclusive(WATCH_LOCK, _Busy):
                return self._round()
        except _Busy:
            return MatchRound(busy=True)

    def _round(self) -> MatchRound:
        folder = self.layout.current_or_none()
        if folder is None:
            return MatchRound()
        now = self._clock()
        state = read_state(folder)
        names = frozenset(ref.name for ref in state.segments)
        baseline = self.store.baseline()
        if baseline is not None and baseline.state == folder.name:
            return MatchRound(folder.name)
        if baseline is None:
            # Watches start from the archive as it is: only what arrives later is new.
            self.store.commit_round(
                Baseline(folder.name, names), self._live_articles(state), [], now
            )
            log.info("watches: matching from index state %s on", folder.name)
            return MatchRound(folder.name)
        started = time.perf_counter()
        self.store.purge_expired(now)
        arrivals = self._arrivals(state, baseline)
        try:
            manifest = read_manifest(folder)
            # A watch encoded by another model means nothing to this index's vectors.
            watches = [
                w
                for w in self._active(now)
                if w.model == manifest.model and len(w.vector) == manifest.dimension
            ]
            posts: list[NewPost] = []
            if arrivals.refs and watches:
                lexical = self._lexical(state)
                posts = self._match(watches, arrivals, lexical, now)
            seen = list(zip((r.id for r in arrivals.refs), arrivals.digests, strict=True))
            self.store.commit_round(Baseline(folder.name, names), seen, posts, now)
        finally:
            arrivals.close()
        found = MatchRound(
            folder.name,
            len(arrivals.refs),
            len(arrivals.passage_article),
            len(watches),
            len(posts),
            time.perf_counter() - started,
        )
        if found.articles:
            log.info(
                "watches: %d new articles (%d passages) against %d watches: %d posts in %.3f s",
                found.articles,
                found.passages,
                found.watches,
                found.posts,
                found.seconds,
            )
        return found

    def _segment(self, name: str) -> _Segment:
        known = self._segments.get(name)
        if known is None:
            folder = segment_folder(self.files.root, name)
            store = Store(folder / STORE_NAME)
            try:
                articles = store.passage_columns().article
            finally:
                store.close()
            known = self._segments[name] = _Segment(Postings.load(folder / LEXICAL_NAME), articles)
        return known

    def _lexical(self, state: IndexState) -> LexicalIndex:
        """BM25 over the state's live passages: the global statistics. Segments are read
        once and kept while states name them, so a round reads only the new ones."""
        names = {ref.name for ref in state.segments}
        for gone in set(self._segments) - names:
            del self._segments[gone]
        segments = [self._segment(ref.name) for ref in state.segments]
        live = None
        if any(ref.deleted for ref in state.segments):
            offsets = np.cumsum([0, *(ref.articles for ref in state.segments)])
            articles = np.concatenate(
                [s.passage_article + offsets[i] for i, s in enumerate(segments)]
            )
            live = live_rows(state, articles).passages
        return LexicalIndex([s.postings for s in segments], live)

    def _active(self, now: float) -> list[Watch]:
        """The live watches, read again only when the store says they changed."""
        version = self.store.version()
        if self._watches is None or self._watches[0] != version:
            self._watches = (version, self.store.active(now))
        return [w for w in self._watches[1] if w.expires_at > now]

    def _live_articles(self, state: IndexState) -> list[tuple[str, str]]:
        out = []
        for ref in state.segments:
            store = Store(segment_folder(self.files.root, ref.name) / STORE_NAME)
            try:
                deleted = set(ref.deleted)
                out += [(i, d) for row, i, d, _ in store.article_index() if row not in deleted]
            finally:
                store.close()
        return out

    def _arrivals(self, state: IndexState, baseline: Baseline) -> _Arrivals:
        """The articles of the segments the baseline did not name that were never seen."""
        found = _Arrivals()
        for ref in state.segments:
            if ref.name in baseline.segments:
                continue
            folder = segment_folder(self.files.root, ref.name)
            store = Store(folder / STORE_NAME)
            deleted = set(ref.deleted)
            index = [r for r in store.article_index() if r[0] not in deleted]
            unseen = self.store.unseen([(i, d) for _, i, d, _ in index])
            rows = {row: d for row, i, d, _ in index if (i, d) in unseen}
            if not rows:
                store.close()
                continue
            found.stores.append(store)
            store_id = len(found.stores) - 1
            refs = store.article_refs()
            alternates = store.alternates()
            columns = store.passage_columns()
            keys = store.passage_text_keys()
            vectors = np.load(folder / VECTORS_ARRAY, mmap_mode="r")
            postings = self._segment(ref.name).postings
            column_of = np.full(len(columns.article), -1, dtype=np.int64)
            order = np.argsort(columns.article, kind="stable")
            wanted = sorted(rows)
            bounds = np.searchsorted(columns.article[order], wanted)
            for article_row, first in zip(wanted, bounds, strict=True):
                local = []
                i = int(first)
                while i < len(order) and columns.article[order[i]] == article_row:
                    local.append(int(order[i]))
                    i += 1
                start = len(found.passage_article)
                position = len(found.refs)
                found.refs.append(refs[article_row])
                found.texts.append(store.article_text(article_row))
                found.digests.append(rows[article_row])
                found.alternates.append(alternates.get(article_row, ()))
                for row in local:
                    column_of[row] = len(found.passage_article)
                    found.passage_article.append(position)
                    found.starts.append(int(columns.start[row]))
                    found.ends.append(int(columns.end[row]))
                    found.text_keys.append(keys[row])
                    found.passage_store.append(store_id)
                    found.passage_local.append(row)
                found.vectors.append(np.asarray(vectors[local], dtype=np.float32))
                found.spans.append((start, len(found.passage_article)))
            found.postings.append((postings, column_of))
        return found

    def _question(self, watch: Watch) -> _Question:
        known = self._questions.get(watch.id)
        if known is not None and known.renewed_at == watch.renewed_at:
            return known
        text = clean_question(watch.question, self.tuning.max_question_chars)
        topic = read_time_words(text, datetime.now(UTC)).topic
        analysed = _Question(watch.renewed_at, topic, query_terms(topic))
        self._questions[watch.id] = analysed
        return analysed

    def _match(
        self,
        watches: list[Watch],
        arrivals: _Arrivals,
        lexical: LexicalIndex,
        now: float,
    ) -> list[NewPost]:
        live = {w.id for w in watches}
        for gone in set(self._questions) - live:
            del self._questions[gone]
        questions = [self._question(w) for w in watches]
        key = tuple((w.id, w.renewed_at) for w in watches)
        if self._terms is None or self._terms[0] != key:
            self._terms = (key, _TermMatrices.of(questions))
        terms = self._terms[1]
        vectors = np.stack([w.vector for w in watches]).astype(np.float32)
        allowed = _allowed(watches, arrivals.refs)
        matches: list[_Match] = []
        likely: list[_Likely] = []
        for first, last in _blocks(arrivals.spans):
            matches += self._match_block(
                watches,
                questions,
                terms,
                vectors,
                allowed,
                arrivals,
                lexical,
                (first, last),
                likely if self._judge is not None else None,
            )
        if self._judge is not None:
            # The searcher is opened only when a pair is left to judge.
            matches = self._judged(self._judge(), watches, arrivals, likely) if likely else []
        return self._posts(watches, questions, arrivals, lexical, matches, now)

    def _match_block(
        self,
        watches: list[Watch],
        questions: list[_Question],
        terms: _TermMatrices,
        vectors: np.ndarray,
        allowed: np.ndarray,
        arrivals: _Arrivals,
        lexical: LexicalIndex,
        articles: tuple[int, int],
        likely: list[_Likely] | None,
    ) -> list[_Match]:
        """Articles [first, last) of the arrivals against every watch. With `likely`, the
        pairs the bound lets through are added to it for the searcher to judge, not judged
        here."""
        first, last = articles
        lo, hi = arrivals.spans[first][0], arrivals.spans[last - 1][1]
        if hi == lo:
            return []
        passages = np.concatenate([v for v in arrivals.vectors[first:last] if len(v)])
        dense = vectors @ passages.T
        lex = terms.bm25(arrivals, lexical, lo, hi)
        share = terms.passage_overlap(arrivals, lo, hi)
        weight = self.tuning.lexical_weight
        fused = (1 - weight) * dense + weight * lex
        columns_article = np.asarray(arrivals.passage_article[lo:hi])
        fused = np.where(allowed[:, columns_article], fused, -np.inf)
        weights = self.tuning.confidence
        out: list[_Match] = []
        for article in range(first, last):
            a, b = arrivals.spans[article]
            if a == b:
                continue
            block = fused[:, a - lo : b - lo]
            best = np.argmax(block, axis=1)
            rows = np.arange(len(watches))
            col = best + (a - lo)
            bound = (
                weights.dense * dense[rows, col]
                + (weights.passage + weights.sentence) * (share[rows, col])
            )
            passing = np.flatnonzero(
                np.isfinite(fused[rows, col]) & (bound >= self.tuning.min_score)
            )
            if likely is not None:
                likely += [_Likely(int(i), article) for i in passing]
                continue
            for i in passing:
                column = int(col[i]) + lo
                sure = confidence(
                    float(dense[i, col[i]]),
                    arrivals.overlap(questions[i].terms.informativeness, column),
                    weights,
                )
                if sure >= self.tuning.min_score:
                    out.append(
                        _Match(
                            int(i),
                            article,
                            column,
                            float(fused[i, col[i]]),
                            float(dense[i, col[i]]),
                            float(lex[i, col[i]]),
                            sure,
                        )
                    )
        return out

    def _judged(
        self,
        judge: JudgesPassages,
        watches: list[Watch],
        arrivals: _Arrivals,
        likely: list[_Likely],
    ) -> list[_Match]:
        """The likely pairs judged by the searcher: each watch's likely articles in one
        search, shared by the watches asking the same question within the same bounds."""
        by_watch: dict[int, list[int]] = {}
        for pair in likely:
            by_watch.setdefault(pair.watch, []).append(pair.article)
        position = {ref.id: i for i, ref in enumerate(arrivals.refs)}
        judged: dict[tuple[object, ...], list[JudgedPassage]] = {}
        out: list[_Match] = []
        for i, articles in by_watch.items():
            watch = watches[i]
            ids = tuple(sorted(arrivals.refs[a].id for a in articles))
            key = (watch.question, watch.collection, watch.outlets, watch.since, ids)
            found = judged.get(key)
            if found is None:
                found = judged[key] = judge.judge_passages(
                    watch.question,
                    ids,
                    watch.collections,
                    _filters(watch),
                    watch.vector,
                )
            for passage in found:
                article = position.get(passage.article_id)
                if passage.confidence < self.tuning.min_score or article is None:
                    continue
                column = _column(arrivals, article, passage.span)
                if column is None:
                    continue
                out.append(
                    _Match(
                        i,
                        article,
                        column,
                        passage.fused,
                        passage.dense,
                        passage.lexical,
                        passage.confidence,
                    )
                )
        return out

    def _posts(
        self,
        watches: list[Watch],
        questions: list[_Question],
        arrivals: _Arrivals,
        lexical: LexicalIndex,
        matches: list[_Match],
        now: float,
    ) -> list[NewPost]:
        by_watch: dict[int, list[_Match]] = {}
        for m in matches:
            by_watch.setdefault(m.watch, []).append(m)
        history = self.store.history([watches[i].id for i in by_watch], now - DAY_SECONDS)
        posts = []
        # Each term's best BM25 score in the index (what `/ask` weighs quote terms by), read
        # once a round whatever the number of questions sharing it.
        quote_weights: dict[str, float] = {}
        for i, found in by_watch.items():
            watch, question = watches[i], questions[i]
            past = history[watch.id]
            found = [m for m in found if arrivals.refs[m.article].id not in past.articles]
            if not found:
                continue
            if past.recent_posts >= self.posts_per_day:
                log.info(
                    "watch %d: %d posts in 24 hours, this match is not posted",
                    watch.id,
                    past.recent_posts,
                )
                continue
            found.sort(key=lambda m: -m.fused)
            picks = diverse(
                np.array([m.article for m in found]),
                np.array([arrivals.starts[m.column] for m in found]),
                np.array([arrivals.ends[m.column] for m in found]),
                [arrivals.text_keys[m.column] for m in found],
                self.top_k,
                self.tuning.max_shared,
            )
            texts = [_passage_text(arrivals, found[p.position].column) for p in picks]
            for t in question.terms.stems:
                if t not in quote_weights:
                    quote_weights[t] = _best_score(lexical, t)
            weights = {t: quote_weights[t] for t in question.terms.stems}
            quotes = pick_quotes(texts, weights)
            hits = []
            for pick, text, quote in zip(picks, texts, quotes, strict=True):
                m = found[pick.position]
                refs = [arrivals.refs[a] for a in pick.articles]
                refs += [r for a in pick.articles for r in arrivals.alternates[a] if r not in refs]
                hits.append(
                    Hit(
                        article=refs[0],
                        char_start=text.passage.start,
                        char_end=text.passage.end,
                        text=text.excerpt(text.passage),
                        quote_start=quote.start,
                        quote_end=quote.end,
                        score=m.fused,
                        sentences=text.sentences,
                        dense_score=m.dense,
                        lexical_score=m.lexical,
                        also_in=tuple(refs[1:]),
                        confidence=m.confidence,
                        link=deep_link(refs[0].url, text.excerpt(quote)),
                    )
                )
            result = SearchResult(
                watch.question,
                tuple(hits),
                matched=True,
                best_score=max(m.confidence for m in found),
            )
            articles = tuple(dict.fromkeys(arrivals.refs[m.article].id for m in found))
            posts.append(NewPost(watch.id, result, articles))
        return posts


@dataclass(frozen=True, slots=True)
class _TermMatrices:
    """The watches' question terms as sparse rows over one vocabulary: how often each stem
    occurs in the question (BM25 counts repeats) and its informativeness weight (the
    confidence's share of words)."""

    vocabulary: dict[str, int]
    counts: sparse.csr_matrix
    informativeness: sparse.csr_matrix
    totals: np.ndarray

    @classmethod
    def of(cls, questions: Sequence[_Question]) -> _TermMatrices:
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[float] = []
        weights: list[float] = []
        for i, q in enumerate(questions):
            repeats: dict[str, int] = {}
            for stem in q.terms.stems:
                repeats[stem] = repeats.get(stem, 0) + 1
            for stem in set(repeats) | set(q.terms.informativeness):
                rows.append(i)
                cols.append(vocabulary.setdefault(stem, len(vocabulary)))
                counts.append(float(repeats.get(stem, 0)))
                weights.append(float(q.terms.informativeness.get(stem, 0.0)))
        shape = (len(questions), max(1, len(vocabulary)))
        info = sparse.csr_matrix((weights, (rows, cols)), shape=shape, dtype=np.float32)
        return cls(
            vocabulary,
            sparse.csr_matrix((counts, (rows, cols)), shape=shape, dtype=np.float32),
            info,
            np.asarray(info.sum(axis=1)).ravel(),
        )

    def bm25(self, arrivals: _Arrivals, lexical: LexicalIndex, lo: int, hi: int) -> np.ndarray:
        """Normalised BM25 of passages [lo, hi) for every watch (watches × passages)."""
        found: dict[int, np.ndarray] = {}
        average = lexical.average_length
        for postings, column_of in arrivals.postings:
            shared = self.vocabulary.keys() & postings.vocabulary.keys()
            if not shared:
                continue
            rows = np.asarray(postings.rows, dtype=np.int64)
            counts = np.asarray(postings.counts, dtype=np.float64)
            lengths = np.asarray(postings.lengths, dtype=np.float64)
            for term in shared:
                t = postings.vocabulary[term]
                start, end = int(postings.indptr[t]), int(postings.indptr[t + 1])
                columns = column_of[rows[start:end]]
                keep = (columns >= lo) & (columns < hi)
                if not keep.any():
                    continue
                tf = counts[start:end][keep]
                dl = lengths[rows[start:end][keep]]
                row = found.setdefault(self.vocabulary[term], np.zeros(hi - lo, np.float64))
                row[columns[keep] - lo] += tf / (K1 * ((1 - B) + B * dl / average) + tf)
        if not found:
            return np.zeros((self.counts.shape[0], hi - lo), dtype=np.float32)
        cols = sorted(found)
        idf = np.array([lexical.idf(t) for t in self._terms(cols)], dtype=np.float64)
        saturation = np.stack([found[c] for c in cols]) * idf[:, None]
        query = self.counts[:, cols]
        raw = np.asarray(query @ saturation)
        ceiling = np.asarray(query @ saturation.max(axis=1)).ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(ceiling[:, None] > 0, raw / ceiling[:, None], 0.0)
        return scores.clip(0.0, 1.0).astype(np.float32)

    def passage_overlap(self, arrivals: _Arrivals, lo: int, hi: int) -> np.ndarray:
        """The share of each watch's informative word weight found in the title and text of
        passages [lo, hi) (watches × passages)."""
        rows: list[int] = []
        cols: list[int] = []
        for column in range(lo, hi):
            for stem in arrivals.terms_of(column):
                t = self.vocabulary.get(stem)
                if t is not None:
                    rows.append(t)
                    cols.append(column - lo)
        present = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(self.counts.shape[1], hi - lo),
        )
        found = np.asarray((self.informativeness @ present).todense())
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.totals[:, None] > 0, found / self.totals[:, None], 0.0)

    def _terms(self, cols: Sequence[int]) -> list[str]:
        names = {c: t for t, c in self.vocabulary.items()}
        return [names[c] for c in cols]


def _allowed(watches: Sequence[Watch], refs: Sequence[ArticleRef]) -> np.ndarray:
    """Watches × new articles: whether the watch may see the article (its collections, its
    outlets and `since`), by the filters `/ask` applies."""
    facts = ArticleFacts.of(refs)
    out = np.zeros((len(watches), len(refs)), dtype=bool)
    groups: dict[tuple[str, tuple[str, ...], str | None], list[int]] = {}
    for i, w in enumerate(watches):
        groups.setdefault((w.collection, w.outlets, w.since), []).append(i)
    for (collection, _, _), members in groups.items():
        mask = allowed_articles(
            facts, {SHARED_COLLECTION, collection}, _filters(watches[members[0]])
        )
        out[members] = True if mask is None else mask
    return out


def _filters(watch: Watch) -> SearchFilters:
    """The watch's bounds as `/ask` reads them: its outlets and `since`."""
    since = datetime.fromisoformat(watch.since) if watch.since else None
    return SearchFilters(since=since, outlets=watch.outlets)


def _column(arrivals: _Arrivals, article: int, span: Span) -> int | None:
    """The column of the new article's passage at `span` (None: the live index has another
    version of the article than the one arriving)."""
    a, b = arrivals.spans[article]
    for column in range(a, b):
        if arrivals.starts[column] == span.start and arrivals.ends[column] == span.end:
            return column
    return None


def _best_score(lexical: LexicalIndex, term: str) -> float:
    return lexical.term_weights(QueryTerms((term,), {}))[term]


def _share(terms: Mapping[str, float], present: frozenset[str]) -> float:
    """`lexical.term_overlap` over terms already read."""
    total = sum(terms.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in terms.items() if t in present) / total


def _blocks(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Runs of whole articles of about BLOCK_PASSAGES passages."""
    out = []
    first = 0
    for i, (_, end) in enumerate(spans):
        if end - spans[first][0] >= BLOCK_PASSAGES:
            out.append((first, i + 1))
            first = i + 1
    if first < len(spans):
        out.append((first, len(spans)))
    return out


def _passage_text(arrivals: _Arrivals, column: int) -> PassageText:
    article = arrivals.passage_article[column]
    store = arrivals.stores[arrivals.passage_store[column]]
    return PassageText(
        article=article,
        title=arrivals.refs[article].title,
        text=arrivals.texts[article],
        passage=Span(arrivals.starts[column], arrivals.ends[column]),
        sentences=store.passage_sentences(arrivals.passage_local[column]),
    )


@dataclass(frozen=True, slots=True)
class _Segment:
    """What the global BM25 statistics read of a segment, kept while states name it (a
    segment never changes): its postings (memory-mapped) and each passage's article row."""

    postings: Postings
    passage_article: np.ndarray


def watch_matcher(
    settings: Settings,
    store: WatchStore,
    layout: DataDir | None = None,
    searcher: Callable[[], JudgesPassages] | None = None,
) -> WatchMatcher:
    """The matcher as the settings configure it: `/ask`'s ranking, confidence and threshold.
    `searcher` gives the searcher over the live state, which judges under the learned
    ranker (required then)."""
    tuning = tuning_from(settings)
    if tuning.ranker == "learned" and searcher is None:
        raise ValueError("the learned ranker judges watches with the searcher: pass one")
    return WatchMatcher(
        settings.data_dir,
        store,
        tuning,
        posts_per_day=settings.watch_posts_per_day,
        top_k=settings.top_k,
        layout=layout,
        judge=searcher if tuning.ranker == "learned" else None,
    )

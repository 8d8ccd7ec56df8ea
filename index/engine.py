"""The engine as the faces use it: one object that answers, rebuilds and manages articles.

It owns the embedding model (loaded once) and the live `Searcher`. A rebuild writes a new
generation aside and only then swaps the searcher, so questions keep being answered from the
old index while a build runs. Every method blocks; async faces call them in a worker thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from config.settings import Settings
from index.build import QueryModelMaker, build_index
from index.encode.embedder import Embedder
from index.encode.export import CACHE_DIR, ExportableEmbedder, query_model_for_build
from index.encode.onnx import OnnxQueryEncoder, QueryModelRecord
from index.errors import (
    IndexMismatchError,
    IndexMissingError,
    InputError,
    PollBusyError,
    UnknownAnswerError,
)
from index.evaluate import (
    CUTOFFS,
    Dataset,
    DeclineCheck,
    Scores,
    decline_check,
    load_dataset,
    median_passage_chars,
    score,
    subset,
)
from index.ingest.canonical import canonical_url
from index.models import (
    SHARED_COLLECTION,
    AnswerPage,
    AnswerRecord,
    Article,
    BuildReport,
    FeedbackReport,
    FeedInfo,
    FollowupResult,
    Hit,
    Mode,
    ParsedArticle,
    PollReport,
    PreviousTurn,
    Progress,
    QuoteContext,
    ReadReport,
    SearchFilters,
    SearchResult,
    ShownHit,
    SourceProblem,
    VoteOutcome,
    passage_id,
)
from index.query.context import quote_context
from index.query.followup import expand, needs_context
from index.query.hints import RankingHints
from index.query.searcher import EncodesQueries, Searcher, SearchTuning
from index.query.when import ACCEPTED_FORMS, search_filters
from index.store.answers import AnswerStore, new_answer_id
from index.store.feedback import FeedbackStore
from index.store.feeds import FeedStore
from index.store.layout import DataDir
from index.store.library import Library
from index.store.manifest import MANIFEST_NAME, Manifest, read_manifest
from index.store.url_cache import UrlCache
from index.store.vectors import search_on_one_thread
from index.text.passages import PassagePlan
from index.text.sentences import split_sentences

# What the faces may use besides the Engine: they import nothing else from the engine's rooms.
__all__ = [
    "ACCEPTED_FORMS",
    "CUTOFFS",
    "Dataset",
    "DeclineCheck",
    "Engine",
    "FeedbackDesk",
    "IndexStatus",
    "Scores",
    "decline_check",
    "ensure_index",
    "load_dataset",
    "median_passage_chars",
    "score",
    "search_filters",
    "split_sentences",
    "subset",
]

# The readers and feed parsing (trafilatura, feedparser) are imported inside the methods that
# read: a process that only answers questions never loads them.
if TYPE_CHECKING:
    from index.ingest.feeds import FetchLimits
    from index.ingest.isolation import ReadBounds

log = logging.getLogger(__name__)

# "More" shows at most this many pages of an answer, the first included.
MAX_PAGES = 3


@dataclass(frozen=True, slots=True)
class IndexStatus:
    data_dir: Path
    generation: str
    model: str
    articles: int
    passages: int
    built_at: str
    collections: dict[str, int]


def plan_from(settings: Settings) -> PassagePlan:
    return PassagePlan(
        max_sentences=settings.passage_sentences,
        max_tokens=settings.max_passage_tokens,
        overlap=settings.passage_overlap,
    )


def read_bounds_from(settings: Settings) -> ReadBounds:
    from index.ingest.isolation import ReadBounds

    return ReadBounds(seconds=settings.read_timeout, memory_bytes=settings.read_memory_mb * 2**20)


def tuning_from(settings: Settings) -> SearchTuning:
    return SearchTuning(
        lexical_weight=settings.lexical_weight,
        min_score=settings.min_score,
        max_question_chars=settings.max_question_chars,
        ranker=settings.ranker,
    )


class FeedbackDesk:
    """What members said about answers, for admins; needs no model, so `articlebot feedback`
    opens it alone with `FeedbackDesk.open`."""

    def __init__(self, store: FeedbackStore, threshold: int) -> None:
        self.store = store
        self.threshold = threshold

    @classmethod
    def open(cls, settings: Settings) -> FeedbackDesk:
        return cls(FeedbackStore(settings.data_dir), settings.downvotes_to_demote)

    def report(self, scope: str, limit: int = 10) -> FeedbackReport:
        return FeedbackReport(
            scope,
            self.threshold,
            tuple(self.store.passages(scope, self.threshold, limit)),
            tuple(self.store.no_match(scope, limit)),
        )

    def scopes(self) -> list[str]:
        return self.store.scopes()

    def clear(self, scope: str, passage: str) -> int:
        removed = self.store.clear(scope, passage)
        if not removed:
            raise InputError(f"No votes on passage {passage!r} in {scope}.")
        return removed


class Engine:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """`embedder`, when given, is used for builds and questions alike; otherwise the
        sentence-transformers model is loaded only when a build needs it, and questions are
        encoded by the index's ONNX query model."""
        self.settings = settings
        self._embedder = embedder
        self._encode_with_embedder = embedder is not None
        self._model_lock = threading.Lock()
        self._onnx: OnnxQueryEncoder | None = None
        self._onnx_sha: str | None = None
        self.library = Library(settings.data_dir)
        self.feeds = FeedStore(settings.data_dir)
        self.url_cache = UrlCache(settings.data_dir)
        self._searcher: Searcher | None = None
        self._swap_lock = threading.Lock()
        self._answers: AnswerStore | None = None
        self._feedback: FeedbackStore | None = None
        self._state_lock = threading.Lock()

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def embedder(self) -> Embedder:
        """The sentence-transformers model (torch), loaded on first use."""
        with self._model_lock:
            if self._embedder is None:
                self._embedder = Embedder(self.settings.model)
            return self._embedder

    def searcher(self) -> Searcher:
        """The live searcher, opened on first use."""
        with self._swap_lock:
            if self._searcher is None:
                self._searcher = self._open_searcher()
            return self._searcher

    def _open_searcher(self) -> Searcher:
        folder = DataDir(self.data_dir).current()
        search_on_one_thread()
        return Searcher(folder, self._query_encoder(folder), tuning_from(self.settings))

    def _query_encoder(self, folder: Path) -> EncodesQueries:
        """The generation's ONNX query model; the torch model when it has none."""
        if self._encode_with_embedder or not self.settings.onnx_queries:
            return self.embedder
        manifest = read_manifest(folder)
        if manifest.model != self.settings.model:
            # Said here, before the torch fallback below could spend seconds loading a model.
            raise IndexMismatchError(
                folder / MANIFEST_NAME,
                f"built with model {manifest.model!r}, settings use {self.settings.model!r}",
            )
        record = QueryModelRecord.from_manifest(manifest.query_model)
        if record is None or record.file is None:
            reason = record.reason if record else "the index was built before ONNX query models"
            log.info("questions are encoded with torch: %s", reason)
            return self.embedder
        with self._model_lock:
            # Every generation built with the same model links the same file: one session.
            if self._onnx is None or self._onnx_sha != record.sha256:
                self._onnx = OnnxQueryEncoder((folder / record.file).parent)
                self._onnx_sha = record.sha256
            return self._onnx

    def _query_model_maker(self) -> QueryModelMaker | None:
        embedder = self.embedder
        if not isinstance(embedder, ExportableEmbedder):
            return None
        cache = self.data_dir / CACHE_DIR
        return lambda build: query_model_for_build(embedder, cache, build)

    def has_index(self) -> bool:
        return DataDir(self.data_dir).current_or_none() is not None

    def ask(
        self,
        question: str,
        k: int | None = None,
        collections: Collection[str] | None = None,
        mode: Mode = Mode.HYBRID,
        scope: str | None = None,
        filters: SearchFilters | None = None,
    ) -> SearchResult:
        """The answer to `question` within `filters`; passages demoted by `scope`'s votes
        rank lower."""
        return self.searcher().search(
            question,
            k or self.settings.top_k,
            collections,
            mode,
            hints=self._hints(scope),
            filters=filters,
        )

    def outlets(self, collections: Collection[str] | None = None) -> list[str]:
        """The outlets (article `source`) searchable in `collections`, for autocomplete."""
        return self.searcher().outlets(collections)

    # ------------------------------------------------------------ answers, votes, follow-ups

    def answers(self) -> AnswerStore:
        with self._state_lock:
            if self._answers is None:
                self._answers = AnswerStore(self.data_dir, self.settings.answer_retention_days)
            return self._answers

    def feedback(self) -> FeedbackStore:
        with self._state_lock:
            if self._feedback is None:
                self._feedback = FeedbackStore(self.data_dir)
            return self._feedback

    def _hints(self, scope: str | None, prefer: Collection[str] = ()) -> RankingHints | None:
        demoted = (
            self.feedback().demoted(scope, self.settings.downvotes_to_demote)
            if scope is not None
            else frozenset()
        )
        hints = RankingHints(demoted, frozenset(prefer))
        return hints if hints else None

    def remember_answer(
        self,
        result: SearchResult,
        *,
        scope: str,
        asker: str,
        k: int,
        collections: Collection[str] | None = None,
        private: bool = False,
        filters: SearchFilters | None = None,
    ) -> str:
        """Store a sent answer (for later buttons) and return its id; a "no match" answer
        also goes into `scope`'s log of what the collection is missing."""
        record = AnswerRecord(
            id=new_answer_id(),
            scope=scope,
            question=result.question,
            collections=None if collections is None else tuple(sorted(collections)),
            k=k,
            asker=asker,
            private=private,
            created_at=time.time(),
            matched=result.matched,
            pages=(tuple(_shown(h) for h in result.hits),),
            filters=filters,
        )
        self.answers().add(record)
        if not result.matched:
            self.feedback().log_no_match(scope, result.question)
        return record.id

    def answer(self, answer_id: str, scope: str | None = None) -> AnswerRecord:
        """A stored answer; one from another scope is as unknown as a missing one."""
        record = self.answers().get(answer_id)
        if scope is not None and record.scope != scope:
            raise UnknownAnswerError()
        return record

    def more(self, answer_id: str, page: int, scope: str | None = None) -> AnswerPage:
        """Page `page` (0-based, below MAX_PAGES) of an answer: the next hits for the same
        question, collections and scope."""
        record = self.answer(answer_id, scope)
        if not record.matched:
            raise InputError("That question had no match; there is nothing more to show.")
        if not 0 <= page < MAX_PAGES:
            raise InputError(f"An answer has at most {MAX_PAGES} pages.")
        # One result past this page says whether another page exists.
        wanted = record.k * (page + 1) + 1
        full = self.searcher().search(
            record.question,
            wanted,
            record.collections,
            apply_threshold=False,
            hints=self._hints(record.scope),
            filters=record.filters,
        )
        hits = full.hits[record.k * page : record.k * (page + 1)]
        self.answers().set_page(answer_id, page, [_shown(h) for h in hits])
        last = page == MAX_PAGES - 1 or len(full.hits) < wanted or not hits
        result = SearchResult(record.question, hits, bool(hits), best_score=full.best_score)
        return AnswerPage(record, page, result, last)

    def context(
        self, answer_id: str, scope: str | None = None, page: int = 0, rank: int = 0
    ) -> QuoteContext:
        """The paragraph around the quote of hit `rank` on page `page` of an answer."""
        hit = self._shown_hit(self.answer(answer_id, scope), page, rank)
        found = self.searcher().article(hit.article_id)
        if found is None:
            raise InputError("That article is no longer in the index.")
        ref, text = found
        return quote_context(ref, text, hit.quote_start, hit.quote_end)

    def vote(
        self, scope: str, answer_id: str, passage: str, member: str, value: int
    ) -> VoteOutcome:
        """`member`'s vote (+1 or -1) on `passage` of an answer; it replaces their earlier
        vote on the same answer."""
        if value not in (1, -1):
            raise InputError("A vote is +1 or -1.")
        record = self.answer(answer_id, scope)
        hit = next((h for p in record.pages for h in p if h.passage_id == passage), None)
        if hit is None:
            raise InputError("That passage is not part of this answer.")
        return self.feedback().vote(
            scope, answer_id, hit, member, value, self.settings.downvotes_to_demote
        )

    def feedback_report(self, scope: str, limit: int = 10) -> FeedbackReport:
        return self.feedback_desk().report(scope, limit)

    def feedback_scopes(self) -> list[str]:
        return self.feedback_desk().scopes()

    def clear_votes(self, scope: str, passage: str) -> int:
        """Forget every vote on `passage` in `scope`; returns how many there were."""
        return self.feedback_desk().clear(scope, passage)

    def feedback_desk(self) -> FeedbackDesk:
        return FeedbackDesk(self.feedback(), self.settings.downvotes_to_demote)

    def ask_followup(
        self,
        question: str,
        previous: str | PreviousTurn,
        k: int | None = None,
        collections: Collection[str] | None = None,
        scope: str | None = None,
    ) -> FollowupResult:
        """Answer `question` as a reply to an earlier answer (its id) or question."""
        if isinstance(previous, str):
            record = self.answer(previous, scope)
            first = record.pages[0] if record.pages else ()
            previous = PreviousTurn(record.question, tuple(h.article_id for h in first))
        k = k or self.settings.top_k
        alone = self.ask(question, k, collections, scope=scope)
        if not needs_context(question, alone.best_score, self.settings.followup_confidence):
            return FollowupResult(alone, question, with_context=False)
        searched = expand(question, previous.question)
        result = self.searcher().search(
            searched, k, collections, hints=self._hints(scope, previous.article_ids)
        )
        # The user asked their own words; the terms added are how it was searched.
        shown = SearchResult(
            question, result.hits, result.matched, result.nearest, result.best_score
        )
        return FollowupResult(shown, searched, with_context=True)

    @staticmethod
    def _shown_hit(record: AnswerRecord, page: int, rank: int) -> ShownHit:
        if page >= len(record.pages) or rank >= len(record.pages[page]):
            raise InputError("That answer has no such passage.")
        return record.pages[page][rank]

    def read(self, sources: Sequence[str] | None = None) -> ReadReport:
        """The operator's sources (settings, or those given), every admin-added article and
        every feed article. URL sources are fetched conditionally: an unchanged page comes
        from the cache."""
        from index.ingest.isolation import ReaderProcess
        from index.ingest.readers import read_sources

        s = self.settings
        # One reading process for the whole build; each file is bounded in time and memory.
        with ReaderProcess(read_bounds_from(s)) as reader:
            report = read_sources(
                sources if sources else s.sources,
                max_bytes=s.max_article_bytes,
                max_collection_bytes=s.max_collection_bytes,
                timeout=s.fetch_timeout,
                allow_private=True,
                run=reader.run,
                fetch=self.url_cache.fetch,
            )
        report.articles.extend(self.library.read_all())
        report.articles.extend(self.feeds.articles())
        return report

    def rebuild(
        self, sources: Sequence[str] | None = None, progress: Progress | None = None
    ) -> BuildReport:
        # The lock is taken before reading, so a second build says "busy" at once instead of
        # after fetching every source.
        with DataDir(self.data_dir).build_lock():
            report = self.read(sources)
            return self.build_from(report.articles, report, progress, lock_held=True)

    def build_from(
        self,
        articles: Sequence[ParsedArticle],
        read_report: ReadReport | None = None,
        progress: Progress | None = None,
        lock_held: bool = False,
    ) -> BuildReport:
        build = build_index(
            self.data_dir,
            articles,
            self.embedder,
            plan_from(self.settings),
            batch_size=self.settings.batch_size,
            problems=read_report.problems if read_report else (),
            progress=progress,
            lock_held=lock_held,
            query_model=self._query_model_maker(),
            approximate_from=self.settings.approximate_from or None,
        )
        if not build.up_to_date or self._searcher is None:
            fresh = self._open_searcher()
            # The old searcher is not closed: a question may still be running on it in another
            # thread. It is freed when the last such reference goes.
            with self._swap_lock:
                self._searcher = fresh
        return build

    def read_upload(
        self, data: bytes, name: str, collection: str
    ) -> tuple[list[ParsedArticle], list[SourceProblem]]:
        """Articles in one uploaded file, named `name`, for `collection`; nothing is stored.

        The bytes are untrusted: they are parsed in a child process, bounded in time and
        memory, so a hostile file costs the caller an `InputError`, never the process."""
        from index.ingest.isolation import ReaderProcess
        from index.ingest.readers import iter_bytes, split_items

        job = functools.partial(
            iter_bytes, data, name, name, name, collection, self.settings.max_article_bytes
        )
        with ReaderProcess(read_bounds_from(self.settings)) as reader:
            return split_items(reader.run(job, name))

    def read_link(
        self, url: str, *, max_bytes: int, timeout: float, allow_private: bool, collection: str
    ) -> ParsedArticle:
        """The article at `url`, fetched under the given guard and parsed in a bounded child
        process; nothing is stored."""
        from index.ingest.isolation import ReaderProcess
        from index.ingest.readers import read_url

        with ReaderProcess(read_bounds_from(self.settings)) as reader:
            return read_url(
                url,
                max_bytes=max_bytes,
                timeout=timeout,
                allow_private=allow_private,
                collection=collection,
                run=reader.run,
            )

    def add_articles(self, collection: str, articles: list[ParsedArticle]) -> list[Article]:
        return self.library.add(collection, articles)

    def remove_article(self, collection: str, article_id: str) -> Article:
        return self.library.remove(collection, article_id)

    def list_articles(self, collection: str) -> list[Article]:
        return [p.article for p in self.library.articles(collection)]

    # --- feeds ------------------------------------------------------------------------------

    def fetch_limits(self, collection: str) -> FetchLimits:
        """The operator's own feeds may be on a private network; servers' feeds may not,
        unless the operator allowed private addresses."""
        from index.ingest.feeds import FetchLimits

        s = self.settings
        return FetchLimits(
            max_bytes=s.max_article_bytes,
            timeout=s.fetch_timeout,
            allow_private=collection == SHARED_COLLECTION or s.allow_private_urls,
        )

    def add_feed(self, collection: str, url: str, channel_id: int | None = None) -> FeedInfo:
        """Follow the feed at `url` (or the one a site's page links to) in `collection`.

        It is fetched once to check it is a feed; its entries come in at the next poll."""
        from index.ingest.feeds import fetch_feed

        url = url.strip()
        fetched = fetch_feed(url, self.fetch_limits(collection), discover=True)
        title = fetched.feed.title if fetched.feed is not None else None
        feed = self.feeds.add_feed(collection, fetched.url, title, channel_id, _now())
        log.info("%s: following feed %s", collection, fetched.url)
        return self.feeds.info(feed)

    def remove_feed(self, collection: str, feed: str) -> FeedInfo:
        """Stop following a feed (by id or URL) and drop its articles; the caller rebuilds."""
        row = self.feeds.find_feed(collection, feed)
        info = self.feeds.info(row)
        removed = self.feeds.remove_feed(row)
        log.info("%s: removed feed %s and its %d articles", collection, row.url, removed)
        return info

    def list_feeds(self, collection: str | None = None) -> list[FeedInfo]:
        self._follow_settings_feeds()
        return [self.feeds.info(f) for f in self.feeds.feeds(collection)]

    def poll_feeds(self, collection: str | None = None, force: bool = False) -> PollReport:
        """Poll every due feed (all with `force`), add their new articles, prune by retention,
        then rebuild once, embedding only new passages, and swap the index in."""
        from index.poll import FeedPoller, PollPolicy

        with self._poll_lock():
            self._follow_settings_feeds()
            s = self.settings
            poller = FeedPoller(
                self.feeds,
                PollPolicy(
                    interval=timedelta(minutes=s.feed_poll_minutes),
                    max_new_entries=s.feed_max_new_entries,
                    max_age_days=s.feed_max_age_days,
                    max_articles=s.feed_max_articles,
                ),
                self.fetch_limits,
                self._hand_added_urls,
            )
            outcome = poller.poll(collection, force, _now())
            report = PollReport(feeds=outcome.results, pruned=outcome.pruned)
            # A change stored by a poll whose build did not finish is built by the next one.
            if outcome.changed:
                self._pending.touch()
            if self._pending.exists():
                report.build = self.rebuild()
                self._pending.unlink()
            return report

    def feeds_due(self) -> bool:
        """Whether a poll now would fetch anything (or finish a build a poll left undone)."""
        self._follow_settings_feeds()
        return bool(self.feeds.due(None, _now(), force=False)) or self._pending.exists()

    @property
    def _pending(self) -> Path:
        return self.data_dir / ".feeds-pending"

    def _follow_settings_feeds(self) -> None:
        if self.settings.feeds:
            urls = [url.strip() for url in self.settings.feeds]
            self.feeds.ensure_feeds(SHARED_COLLECTION, urls, _now())

    def _hand_added_urls(self, collection: str) -> set[str]:
        if collection == SHARED_COLLECTION:
            return set()
        return {
            canonical_url(p.article.url)
            for p in self.library.articles(collection)
            if p.article.url and p.article.url.startswith(("http://", "https://"))
        }

    @contextlib.contextmanager
    def _poll_lock(self) -> Iterator[None]:
        """One poll at a time per data directory, across processes (the bot and cron)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / ".feeds.lock").open("a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PollBusyError() from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def status(self) -> IndexStatus:
        """What the live index holds; from memory once the searcher is loaded (the bot asks
        for it with every answer)."""
        with self._swap_lock:
            searcher = self._searcher
        if searcher is None:
            return self.status_of(self.data_dir)
        return _status(self.data_dir, searcher.folder.name, searcher.manifest)

    @staticmethod
    def require_index(data_dir: Path) -> None:
        """Raise `IndexMissingError` (with what to run) when `data_dir` holds no index yet."""
        DataDir(data_dir).current()

    @staticmethod
    def status_of(data_dir: Path) -> IndexStatus:
        """What the live index holds, read from its manifest without loading the model."""
        folder = DataDir(data_dir).current()
        return _status(data_dir, folder.name, read_manifest(folder))


def _shown(hit: Hit) -> ShownHit:
    return ShownHit(
        passage_id=passage_id(hit.article.id, hit.char_start, hit.char_end),
        article_id=hit.article.id,
        title=hit.article.title,
        url=hit.article.url,
        quote=hit.quote,
        quote_start=hit.quote_start,
        quote_end=hit.quote_end,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _status(data_dir: Path, generation: str, manifest: Manifest) -> IndexStatus:
    return IndexStatus(
        data_dir=data_dir,
        generation=generation,
        model=manifest.model,
        articles=manifest.articles,
        passages=manifest.passages,
        built_at=manifest.built_at,
        collections=dict(manifest.collections),
    )


def ensure_index(engine: Engine, progress: Progress | None = None) -> BuildReport | None:
    """Build the index when the data directory has none yet (first run)."""
    try:
        engine.searcher()
        return None
    except IndexMissingError:
        log.info(
            "no index in %s yet; building it from %s", engine.data_dir, engine.settings.sources
        )
        return engine.rebuild(progress=progress)

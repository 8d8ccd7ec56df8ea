"""The engine as the faces use it: one object that answers, rebuilds and manages articles.

It owns the embedding model (loaded once) and the live `Searcher`. A rebuild writes a new
generation aside and only then swaps the searcher, so questions keep being answered from the
old index while a build runs. Every method blocks; async faces call them in a worker thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config.settings import Settings
from index.build import build_index
from index.encode.embedder import Embedder
from index.errors import IndexMissingError, PollBusyError
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
from index.ingest.feeds import FetchLimits, fetch_feed
from index.ingest.readers import parse_bytes, read_sources, read_url
from index.models import (
    SHARED_COLLECTION,
    Article,
    BuildReport,
    FeedInfo,
    Mode,
    ParsedArticle,
    PollReport,
    Progress,
    ReadReport,
    SearchResult,
    SourceProblem,
)
from index.poll import FeedPoller, PollPolicy
from index.query.searcher import Searcher, SearchTuning
from index.store.feeds import FeedStore
from index.store.layout import DataDir
from index.store.library import Library
from index.store.manifest import Manifest, read_manifest
from index.store.url_cache import UrlCache
from index.text.passages import PassagePlan
from index.text.sentences import split_sentences

# What the faces may use besides the Engine: they import nothing else from the engine's rooms.
__all__ = [
    "CUTOFFS",
    "Dataset",
    "DeclineCheck",
    "Engine",
    "IndexStatus",
    "Scores",
    "decline_check",
    "ensure_index",
    "load_dataset",
    "median_passage_chars",
    "score",
    "split_sentences",
    "subset",
]

log = logging.getLogger(__name__)


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


def tuning_from(settings: Settings) -> SearchTuning:
    return SearchTuning(lexical_weight=settings.lexical_weight, min_score=settings.min_score)


class Engine:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self.library = Library(settings.data_dir)
        self.feeds = FeedStore(settings.data_dir)
        self.url_cache = UrlCache(settings.data_dir)
        self._searcher: Searcher | None = None
        self._swap_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use: managing feeds or articles does not need it."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = Embedder(self.settings.model)
            return self._embedder

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def searcher(self) -> Searcher:
        """The live searcher, opened on first use."""
        with self._swap_lock:
            if self._searcher is None:
                self._searcher = Searcher.open(
                    self.data_dir, self.embedder, tuning_from(self.settings)
                )
            return self._searcher

    def has_index(self) -> bool:
        return DataDir(self.data_dir).current_or_none() is not None

    def ask(
        self,
        question: str,
        k: int | None = None,
        collections: Collection[str] | None = None,
        mode: Mode = Mode.HYBRID,
    ) -> SearchResult:
        return self.searcher().search(question, k or self.settings.top_k, collections, mode)

    def read(self, sources: Sequence[str] | None = None) -> ReadReport:
        """The operator's sources (settings, or those given), every admin-added article and
        every feed article. URL sources are fetched conditionally: an unchanged page comes
        from the cache."""
        s = self.settings
        report = read_sources(
            sources if sources else s.sources,
            max_bytes=s.max_article_bytes,
            timeout=s.fetch_timeout,
            allow_private=True,
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
        )
        if not build.up_to_date or self._searcher is None:
            fresh = Searcher.open(self.data_dir, self.embedder, tuning_from(self.settings))
            # The old searcher is not closed: a question may still be running on it in another
            # thread. It is freed when the last such reference goes.
            with self._swap_lock:
                self._searcher = fresh
        return build

    def read_upload(
        self, data: bytes, name: str, collection: str
    ) -> tuple[list[ParsedArticle], list[SourceProblem]]:
        """Articles in one uploaded file, named `name`, for `collection`; nothing is stored."""
        return parse_bytes(data, name, name, name, collection)

    def read_link(self, url: str, max_bytes: int, collection: str) -> ParsedArticle:
        """The article at `url`, fetched under the user-facing guard (private addresses
        refused unless the operator allowed them); nothing is stored."""
        s = self.settings
        return read_url(
            url,
            max_bytes=max_bytes,
            timeout=s.fetch_timeout,
            allow_private=s.allow_private_urls,
            collection=collection,
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
        s = self.settings
        return FetchLimits(
            max_bytes=s.max_article_bytes,
            timeout=s.fetch_timeout,
            allow_private=collection == SHARED_COLLECTION or s.allow_private_urls,
        )

    def add_feed(self, collection: str, url: str, channel_id: int | None = None) -> FeedInfo:
        """Follow the feed at `url` (or the one a site's page links to) in `collection`.

        It is fetched once to check it is a feed; its entries come in at the next poll."""
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

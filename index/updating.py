"""The update side: reading sources (in the isolated reader), admin-added articles, feeds and
their polls, index builds. It loads torch for embedding and trafilatura/feedparser for
reading, so only the worker (and the command line) holds it; an answering process never does.
Once the model's ONNX export is cached, passages are embedded by ONNX Runtime and torch is not
loaded at all.

A build publishes a new index state (CURRENT); answering processes pick it up themselves.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from config.settings import Settings
from index.backends import search_mirror
from index.build import (
    EncodesText,
    NotReusable,
    QueryModelMaker,
    article_digest,
    build_index,
    update_index,
)
from index.encode.embedder import Embedder, model_location
from index.encode.export import (
    ExportableEmbedder,
    QueryExportError,
    cached_export,
    cached_folder,
    place_query_model,
    query_model_for_build,
)
from index.encode.onnx_passages import OnnxPassageEncoder
from index.encode.slot import EmbedderSlot
from index.errors import InputError, PollBusyError
from index.ingest.canonical import canonical_url
from index.merge import merge_segments
from index.models import (
    SHARED_COLLECTION,
    Article,
    BuildReport,
    FeedInfo,
    MergeReport,
    ParsedArticle,
    PollReport,
    Progress,
    ReadReport,
    SourceProblem,
)
from index.store.backend import StateStores
from index.store.locks import POLL
from index.store.source_cache import SourceCache
from index.store.url_cache import UrlCache
from index.text.passages import PassagePlan
from index.upgrade import upgrade_generation

# The readers and feed parsing (trafilatura, feedparser) are imported inside the methods that
# read, so importing this module costs nothing until something is read.
if TYPE_CHECKING:
    from index.ingest.feeds import FetchLimits
    from index.ingest.isolation import ReadBounds

log = logging.getLogger(__name__)

_T = TypeVar("_T")


def plan_from(settings: Settings) -> PassagePlan:
    return PassagePlan(
        max_sentences=settings.passage_sentences,
        max_tokens=settings.max_passage_tokens,
        overlap=settings.passage_overlap,
    )


def read_bounds_from(settings: Settings) -> ReadBounds:
    from index.ingest.isolation import ReadBounds

    return ReadBounds(seconds=settings.read_timeout, memory_bytes=settings.read_memory_mb * 2**20)


class Updater:
    """Everything that changes the articles or the index."""

    def __init__(
        self,
        settings: Settings,
        models: EmbedderSlot | None = None,
        stores: StateStores | None = None,
    ) -> None:
        self.settings = settings
        self.models = models or EmbedderSlot(settings.model)
        self.stores = stores or StateStores.open(settings)
        self.files = self.stores.files
        self.layout = self.stores.layout()
        self.library = self.stores.library()
        self.feeds = self.stores.feeds()
        self.url_cache = UrlCache(settings.data_dir)
        self._encoder_lock = threading.Lock()
        self._onnx_passages: OnnxPassageEncoder | None = None
        self._onnx_tried = False

    @property
    def embedder(self) -> Embedder:
        """The sentence-transformers model (torch), loaded on first use."""
        return self.models.get()

    @property
    def passage_encoder(self) -> EncodesText:
        """What embeds passages: the float32 ONNX export when the cache has it (no torch in
        this process), else the torch model, which is then exported for the next update."""
        if self.models.given or not self.settings.onnx_passages:
            return self.embedder
        with self._encoder_lock:
            if not self._onnx_tried:
                self._onnx_passages = self._open_onnx_passages()
                self._onnx_tried = True
        return self._onnx_passages or self.embedder

    def _cached_export(self) -> Path | None:
        model = self.settings.model
        return cached_folder(model, model_location(model), self.files.query_models)

    def _open_onnx_passages(self) -> OnnxPassageEncoder | None:
        cache = self.files.query_models
        folder = self._cached_export()
        if folder is None:
            embedder = self.embedder
            if not isinstance(embedder, ExportableEmbedder):
                return None
            try:
                folder = cached_export(embedder, cache)
            except QueryExportError as exc:
                log.info("passages are embedded with torch: %s", exc)
                return None
        return OnnxPassageEncoder(folder)

    def _query_model_maker(self) -> QueryModelMaker | None:
        cached = None if self.models.given else self._cached_export()
        if cached is not None:
            # Placed from the cache: the torch model is not needed, nor loaded.
            model = self.settings.model
            return lambda build: place_query_model(cached, model, build)
        embedder = self.embedder
        if not isinstance(embedder, ExportableEmbedder):
            return None
        cache = self.files.query_models
        return lambda build: query_model_for_build(embedder, cache, build)

    # --- reading ----------------------------------------------------------------------------

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
                cache=SourceCache(self.settings.data_dir),
            )
        report.articles.extend(self.library.read_all())
        report.articles.extend(self.feeds.articles())
        return report

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

    # --- builds -----------------------------------------------------------------------------

    def rebuild(
        self, sources: Sequence[str] | None = None, progress: Progress | None = None
    ) -> BuildReport:
        # The lock is taken before reading, so a second build says "busy" at once instead of
        # after fetching every source.
        with self.layout.build_lock():
            # A marker set before this read (a crash between a store change and its build)
            # is settled by this build, which reads every store; one set during the read
            # belongs to a change still on its way to the index, and stays.
            pending = _mtime(self.files.update_pending)
            report = self.read(sources)
            built = self.build_from(report.articles, report, progress, lock_held=True)
            if pending is not None and _mtime(self.files.update_pending) == pending:
                self.files.update_pending.unlink(missing_ok=True)
            return built

    def upgrade(self, lock_held: bool = False) -> BuildReport | None:
        """Turn an index of an earlier release's layout into a one-segment state, keeping its
        vectors (None: nothing to upgrade). Every build does this first."""
        return upgrade_generation(
            self.settings.data_dir,
            approximate_from=self.settings.approximate_from or None,
            lock_held=lock_held,
            layout=self.layout,
        )

    def build_from(
        self,
        articles: Sequence[ParsedArticle],
        read_report: ReadReport | None = None,
        progress: Progress | None = None,
        lock_held: bool = False,
    ) -> BuildReport:
        self.upgrade(lock_held)
        return self._merged(
            build_index(
                self.settings.data_dir,
                articles,
                self.passage_encoder,
                plan_from(self.settings),
                batch_size=self.settings.batch_size,
                problems=read_report.problems if read_report else (),
                progress=progress,
                lock_held=lock_held,
                query_model=self._query_model_maker(),
                approximate_from=self.settings.approximate_from or None,
                layout=self.layout,
                mirror=search_mirror(self.settings),
            ),
            lock_held,
        )

    def _merged(self, report: BuildReport, lock_held: bool) -> BuildReport:
        if not report.up_to_date:
            # Each update adds a segment; the tiered policy merges small ones as they pile up
            # (quick, reading nothing, when none is due), so questions search few segments.
            merge_segments(
                self.settings.data_dir,
                approximate_from=self.settings.approximate_from or None,
                lock_held=lock_held,
                layout=self.layout,
                mirror=search_mirror(self.settings),
            )
        return report

    def merge(self, everything: bool = False, progress: Progress | None = None) -> MergeReport:
        """Run the merge policy now, or merge every segment into one with `everything` (the
        IVF centres are trained again when the merge sees the lists drifted)."""
        with self.layout.build_lock():
            self.upgrade(lock_held=True)
            return merge_segments(
                self.settings.data_dir,
                everything=everything,
                approximate_from=self.settings.approximate_from or None,
                lock_held=True,
                layout=self.layout,
                progress=progress,
                mirror=search_mirror(self.settings),
            )

    # --- changes applied as they are --------------------------------------------------------
    #
    # A job that changes the library or the feeds gives the index exactly that change: the
    # articles as a full build would read them from the store (same ids, text and metadata),
    # and the ids that leave. The `.update-pending` marker is set before a store changes and
    # cleared once the index has the change; a marker left by a crash means the stores moved
    # ahead of the index in a way nobody recorded, so the next change is a full build.

    def _mark_changing(self) -> bool:
        """Set the marker; True when it was already set (an earlier change never built)."""
        marker = self.files.update_pending
        unbuilt = marker.exists()
        marker.touch()
        return unbuilt

    def _index_change(
        self,
        add: Sequence[ParsedArticle],
        remove: Collection[str],
        unbuilt: bool,
        progress: Progress | None,
        expected: Mapping[str, str] | None = None,
    ) -> BuildReport:
        with self.layout.build_lock():
            self.upgrade(lock_held=True)
            report = None if unbuilt else self._update(add, remove, expected, progress)
            if report is None:
                read = self.read()
                report = self.build_from(read.articles, read, progress, lock_held=True)
            self.files.update_pending.unlink(missing_ok=True)
            return report

    def _update(
        self,
        add: Sequence[ParsedArticle],
        remove: Collection[str],
        expected: Mapping[str, str] | None,
        progress: Progress | None,
    ) -> BuildReport | None:
        """The change applied to the live state; None when only a full build will do."""
        try:
            report = update_index(
                self.settings.data_dir,
                self.passage_encoder,
                plan_from(self.settings),
                add=add,
                remove=remove,
                expected=expected,
                batch_size=self.settings.batch_size,
                progress=progress,
                lock_held=True,
                query_model=self._query_model_maker(),
                approximate_from=self.settings.approximate_from or None,
                layout=self.layout,
                mirror=search_mirror(self.settings),
            )
        except NotReusable as why:
            log.info("a full build instead of an update: %s", why)
            return None
        return self._merged(report, lock_held=True)

    def add_and_index(
        self, collection: str, articles: list[ParsedArticle], progress: Progress | None = None
    ) -> tuple[list[Article], BuildReport]:
        """Add `articles` to the collection's library and to the index."""
        unbuilt = self._mark_changing()
        added = self._refusable(unbuilt, lambda: self.library.add(collection, articles))
        ids = {a.id for a in added}
        stored = [p for p in self.library.articles(collection) if p.article.id in ids]
        return added, self._index_change(stored, (), unbuilt, progress)

    def remove_and_index(
        self, collection: str, article_id: str, progress: Progress | None = None
    ) -> tuple[Article, BuildReport]:
        """Remove an article from the collection's library and from the index."""
        unbuilt = self._mark_changing()
        removed = self._refusable(unbuilt, lambda: self.library.remove(collection, article_id))
        # A feed article under the same id was hidden by the hand-added one (a full build
        # reads the library first); it takes the place again.
        hidden = [p for p in self.feeds.articles(collection) if p.article.id == removed.id]
        build = self._index_change(hidden, () if hidden else {removed.id}, unbuilt, progress)
        return removed, build

    def unfollow_and_index(
        self, collection: str, feed: str, progress: Progress | None = None
    ) -> tuple[FeedInfo, BuildReport | None]:
        """Stop following a feed in `collection`; its articles there leave the index."""
        self.feeds.find_feed(collection, feed)
        before = self._feed_digests(collection)
        unbuilt = self._mark_changing()
        info = self._refusable(unbuilt, lambda: self.remove_feed(collection, feed))
        if not info.items and not unbuilt:
            self.files.update_pending.unlink(missing_ok=True)
            return info, None
        add, remove = self._feed_changes(before, collection)
        return info, self._index_change(add, remove, unbuilt, progress, before)

    def _refusable(self, unbuilt: bool, change: Callable[[], _T]) -> _T:
        try:
            return change()
        except InputError:
            # Refused before writing (the stores write atomically): nothing is pending.
            if not unbuilt:
                self.files.update_pending.unlink(missing_ok=True)
            raise

    def _feed_digests(self, collection: str | None) -> dict[str, str]:
        return {p.article.id: article_digest(p) for p in self.feeds.articles(collection)}

    def _feed_changes(
        self, before: Mapping[str, str], collection: str | None
    ) -> tuple[list[ParsedArticle], set[str]]:
        """The feed articles added or changed since `before` (index id -> digest), and the
        ids that left."""
        after = self.feeds.articles(collection)
        kept = {p.article.id for p in after}
        add = [p for p in after if before.get(p.article.id) != article_digest(p)]
        return add, {article_id for article_id in before if article_id not in kept}

    # --- articles ---------------------------------------------------------------------------

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
        then give the index what changed (a full build when an earlier change was never
        built)."""
        from index.poll import FeedPoller, PollPolicy

        # One poll at a time per data directory, across processes (the worker and cron).
        with self.layout.locks.exclusive(POLL, PollBusyError):
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
            # A shared feed brings articles to every collection that follows it, so the whole
            # feed store is compared, whichever collection asked.
            before = self._feed_digests(None)
            unbuilt = self._mark_changing()
            outcome = poller.poll(collection, force, _now())
            report = PollReport(feeds=outcome.results, pruned=outcome.pruned)
            if outcome.changed or unbuilt:
                add, remove = self._feed_changes(before, None)
                report.build = self._index_change(add, remove, unbuilt, None, before)
            else:
                self.files.update_pending.unlink(missing_ok=True)
            return report

    def feeds_due(self) -> bool:
        """Whether a poll now would fetch anything (or finish a build a poll left undone)."""
        self._follow_settings_feeds()
        return bool(self.feeds.due(None, _now(), force=False)) or self.files.update_pending.exists()

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


def _now() -> datetime:
    return datetime.now(UTC)


def _mtime(path: Path) -> int | None:
    """When `path` was last modified (ns), or None when it is not there."""
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None

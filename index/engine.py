"""The engine as the faces use it: the query side (`index.answering.Answering`) and, in a
process that updates, the update side (`index.updating.Updater`) over one data directory.

The answering process (`articlebot run`) uses `Answering` alone and hands every update to the
worker through the job queue (`index.store.jobs`); the command line and the terminal chat use
`Engine`, which does both in one process. A build writes a new state aside and publishes it;
the query side swaps its searcher when it sees the new state, so questions keep being
answered from the old one while a build runs. Every method blocks; async faces call them in a
worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from config.settings import Settings
from index.answering import (
    MAX_PAGES,
    Answering,
    FeedbackDesk,
    IndexStatus,
    require_index,
    status_of,
    tuning_from,
)
from index.encode.embedder import Embedder
from index.encode.slot import EmbedderSlot
from index.errors import IndexMissingError
from index.evaluate import (
    CUTOFFS,
    Dataset,
    DeclineCheck,
    Scores,
    decline_check,
    load_dataset,
    median_passage_chars,
    score,
    spread,
    subset,
)
from index.jobs import JobDesk
from index.models import (
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
from index.query.when import ACCEPTED_FORMS, search_filters
from index.store.backend import StateStores, upgrade_database
from index.store.feeds import FeedStore
from index.store.library import Library
from index.store.slots import SpacedSlots
from index.store.watches import Watch, WatchAdded, WatchPost, WatchTarget, result_json
from index.updating import Updater, plan_from
from index.watching import EncodedQuestion, WatchDesk, WatchPlace

if TYPE_CHECKING:
    from index.ingest.feeds import FetchLimits
    from index.watch_match import MatchRound

# What the faces may use besides the Engine: they import nothing else from the engine's rooms.
__all__ = [
    "ACCEPTED_FORMS",
    "CUTOFFS",
    "MAX_PAGES",
    "Answering",
    "AnsweringEngine",
    "Dataset",
    "DeclineCheck",
    "Engine",
    "FeedbackDesk",
    "IndexStatus",
    "Scores",
    "StateStores",
    "Watch",
    "WatchAdded",
    "WatchDesk",
    "WatchPlace",
    "WatchPost",
    "WatchTarget",
    "decline_check",
    "ensure_index",
    "has_index",
    "load_dataset",
    "median_passage_chars",
    "plan_from",
    "result_json",
    "score",
    "search_filters",
    "spread",
    "subset",
    "tuning_from",
    "upgrade_database",
]

log = logging.getLogger(__name__)


class AnsweringEngine(Answering):
    """What the answering process (`articlebot run`) holds: the query side, the job desk that
    hands every update to the worker, and read-only views of server articles and feeds."""

    def __init__(
        self,
        settings: Settings,
        models: EmbedderSlot | None = None,
        stores: StateStores | None = None,
    ) -> None:
        super().__init__(settings, models, stores)
        self.jobs = JobDesk(self.stores.jobs())
        self._library = self.stores.library()
        self._feed_store = self.stores.feeds()
        self._start_slots: SpacedSlots | None = None
        self.watches = WatchDesk(self.settings, self._encode_watched, self.stores.watches())

    @property
    def start_slots(self) -> SpacedSlots:
        """Starts spaced across every process sharing this state (the shards' IDENTIFYs)."""
        if self._start_slots is None:
            self._start_slots = self.stores.slots()
        return self._start_slots

    def _encode_watched(self, question: str) -> EncodedQuestion:
        """A watched question's vector, by the encoder `/ask` uses on the live index."""
        searcher = self.searcher()
        return EncodedQuestion(searcher.manifest.model, searcher.question_vector(question))

    def list_articles(self, collection: str) -> list[Article]:
        return [p.article for p in self._library.articles(collection)]

    def list_feeds(self, collection: str | None = None) -> list[FeedInfo]:
        return [self._feed_store.info(f) for f in self._feed_store.feeds(collection)]


class Engine(AnsweringEngine):
    """Both sides in one process, sharing one model: the command line, the chat, the tests."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """`embedder`, when given, is used for builds and questions alike; otherwise the
        sentence-transformers model is loaded only when a build needs it, and questions are
        encoded by the index's ONNX query model."""
        models = EmbedderSlot(settings.model, embedder)
        super().__init__(settings, models)
        self.updates = Updater(settings, models, self.stores)

    @property
    def embedder(self) -> Embedder:
        return self.updates.embedder

    @property
    def library(self) -> Library:
        return self.updates.library

    @property
    def feeds(self) -> FeedStore:
        return self.updates.feeds

    def read(self, sources: Sequence[str] | None = None) -> ReadReport:
        return self.updates.read(sources)

    def rebuild(
        self, sources: Sequence[str] | None = None, progress: Progress | None = None
    ) -> BuildReport:
        build = self.updates.rebuild(sources, progress)
        self.searcher()
        return build

    def merge(self, everything: bool = False, progress: Progress | None = None) -> MergeReport:
        return self.updates.merge(everything, progress)

    def build_from(
        self,
        articles: Sequence[ParsedArticle],
        read_report: ReadReport | None = None,
        progress: Progress | None = None,
        lock_held: bool = False,
    ) -> BuildReport:
        build = self.updates.build_from(articles, read_report, progress, lock_held)
        # Opened now, not at the next question: a build that cannot be searched fails here.
        self.searcher()
        return build

    def read_upload(
        self, data: bytes, name: str, collection: str
    ) -> tuple[list[ParsedArticle], list[SourceProblem]]:
        return self.updates.read_upload(data, name, collection)

    def read_link(
        self, url: str, *, max_bytes: int, timeout: float, allow_private: bool, collection: str
    ) -> ParsedArticle:
        return self.updates.read_link(
            url,
            max_bytes=max_bytes,
            timeout=timeout,
            allow_private=allow_private,
            collection=collection,
        )

    def add_articles(self, collection: str, articles: list[ParsedArticle]) -> list[Article]:
        return self.updates.add_articles(collection, articles)

    def remove_article(self, collection: str, article_id: str) -> Article:
        return self.updates.remove_article(collection, article_id)

    def list_articles(self, collection: str) -> list[Article]:
        return self.updates.list_articles(collection)

    def fetch_limits(self, collection: str) -> FetchLimits:
        return self.updates.fetch_limits(collection)

    def add_feed(self, collection: str, url: str, channel_id: int | None = None) -> FeedInfo:
        return self.updates.add_feed(collection, url, channel_id)

    def remove_feed(self, collection: str, feed: str) -> FeedInfo:
        return self.updates.remove_feed(collection, feed)

    def unfollow_and_index(
        self, collection: str, feed: str, progress: Progress | None = None
    ) -> tuple[FeedInfo, BuildReport | None]:
        info, build = self.updates.unfollow_and_index(collection, feed, progress)
        if build is not None:
            self.searcher()
        return info, build

    def list_feeds(self, collection: str | None = None) -> list[FeedInfo]:
        return self.updates.list_feeds(collection)

    def poll_feeds(self, collection: str | None = None, force: bool = False) -> PollReport:
        report = self.updates.poll_feeds(collection, force)
        if report.build is not None:
            self.searcher()
        return report

    def feeds_due(self) -> bool:
        return self.updates.feeds_due()

    def match_watches(self) -> MatchRound:
        """Match the watches against what was published since the last round (the worker
        does this after every update; the command line, for when no worker runs). Imported
        here: the matcher's scipy has no place in the answering process."""
        from index.watch_match import watch_matcher

        return watch_matcher(
            self.settings, self.watches.store, self.layout, searcher=self.searcher
        ).catch_up()

    @staticmethod
    def require_index(settings: Settings) -> None:
        stores = StateStores.open(settings)
        try:
            require_index(stores.layout())
        finally:
            stores.close()

    @staticmethod
    def status_of(settings: Settings) -> IndexStatus:
        stores = StateStores.open(settings)
        try:
            return status_of(stores.layout())
        finally:
            stores.close()


def has_index(stores: StateStores) -> bool:
    """Whether a published index exists (a cheap check: one pointer read)."""
    return stores.layout().current_or_none() is not None


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

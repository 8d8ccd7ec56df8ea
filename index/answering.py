"""The query side: the live searcher and its query encoder, ask, follow-ups, stored answers
and votes. Needs no torch when the index has an ONNX query model, reads nothing from the
network, writes no index: an answering process holds only this.

The live searcher follows the index pointer: before each question it is read (the CURRENT
file, or one row in PostgreSQL), and a newly published state is opened and swapped in, so the
bot answers from the worker's latest build without a restart. A question already running
keeps its searcher.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings
from index.backends import search_backend, search_place
from index.encode.onnx import OnnxQueryEncoder, QueryModelRecord
from index.encode.slot import EmbedderSlot
from index.errors import IndexMismatchError, InputError, UnknownAnswerError
from index.models import (
    AnswerPage,
    AnswerRecord,
    FeedbackReport,
    FollowupResult,
    Hit,
    Mode,
    PreviousTurn,
    QuoteContext,
    SearchFilters,
    SearchResult,
    ShownHit,
    VoteOutcome,
    passage_id,
)
from index.query.context import quote_context
from index.query.followup import expand, needs_context
from index.query.hints import RankingHints
from index.query.searcher import EncodesQueries, Searcher, SearchTuning
from index.store.answers import AnswerStore, new_answer_id
from index.store.backend import StateStores
from index.store.feedback import FeedbackStore
from index.store.layout import DataDir
from index.store.manifest import MANIFEST_NAME, Manifest, read_manifest
from index.store.vectors import search_on_one_thread

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
        return cls(StateStores.open(settings).feedback(), settings.downvotes_to_demote)

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


class LiveSearcher:
    """The searcher over the published index state, reopened when the pointer changes."""

    def __init__(self, settings: Settings, models: EmbedderSlot, layout: DataDir) -> None:
        self.settings = settings
        self.models = models
        self.layout = layout
        self._searcher: Searcher | None = None
        self._swap_lock = threading.Lock()
        self._encoder_lock = threading.Lock()
        self._onnx: OnnxQueryEncoder | None = None
        self._onnx_sha: str | None = None

    def get(self) -> Searcher:
        """The searcher over the current state: opened on first use, and again whenever a
        new state was published since (one pointer read per call)."""
        with self._swap_lock:
            live = self._published_name()
            if self._searcher is None or (live is not None and self._searcher.folder.name != live):
                fresh = self._open()
                if self._searcher is not None:
                    log.info("index state %s is live", fresh.folder.name)
                # The old searcher is not closed: a question may still run on it in another
                # thread; it is freed when the last reference goes.
                self._searcher = fresh
            return self._searcher

    def loaded(self) -> Searcher | None:
        with self._swap_lock:
            return self._searcher

    def _published_name(self) -> str | None:
        return self.layout.pointer.read() or None

    def _open(self) -> Searcher:
        folder = self.layout.current()
        search_on_one_thread()
        return Searcher(
            folder,
            self._query_encoder(folder),
            tuning_from(self.settings),
            backend=search_backend(self.settings),
        )

    def _query_encoder(self, folder: Path) -> EncodesQueries:
        """The state's ONNX query model; the torch model when it has none."""
        if self.models.given or not self.settings.onnx_queries:
            return self.models.get()
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
            return self.models.get()
        with self._encoder_lock:
            # Every state built with the same model links the same file: one session.
            if self._onnx is None or self._onnx_sha != record.sha256:
                self._onnx = OnnxQueryEncoder((folder / record.file).parent)
                self._onnx_sha = record.sha256
            return self._onnx


class Answering:
    """Questions, follow-ups, stored answers and votes over the live index."""

    def __init__(
        self,
        settings: Settings,
        models: EmbedderSlot | None = None,
        stores: StateStores | None = None,
    ) -> None:
        self.settings = settings
        self.stores = stores or StateStores.open(settings)
        self.layout = self.stores.layout()
        self.live = LiveSearcher(settings, models or EmbedderSlot(settings.model), self.layout)
        self._answers: AnswerStore | None = None
        self._feedback: FeedbackStore | None = None
        self._state_lock = threading.Lock()

    @property
    def searched_in(self) -> str:
        """Where questions are searched, for the operator's log (never the URI)."""
        return search_place(self.settings)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def searcher(self) -> Searcher:
        """The live searcher, opened on first use and swapped when a new state is published."""
        return self.live.get()

    def has_index(self) -> bool:
        return self.layout.current_or_none() is not None

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

    def answers(self) -> AnswerStore:
        with self._state_lock:
            if self._answers is None:
                self._answers = self.stores.answers(self.settings.answer_retention_days)
            return self._answers

    def feedback(self) -> FeedbackStore:
        with self._state_lock:
            if self._feedback is None:
                self._feedback = self.stores.feedback()
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
        hit = _shown_hit(self.answer(answer_id, scope), page, rank)
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

    def feedback_desk(self) -> FeedbackDesk:
        return FeedbackDesk(self.feedback(), self.settings.downvotes_to_demote)

    def feedback_report(self, scope: str, limit: int = 10) -> FeedbackReport:
        return self.feedback_desk().report(scope, limit)

    def feedback_scopes(self) -> list[str]:
        return self.feedback_desk().scopes()

    def clear_votes(self, scope: str, passage: str) -> int:
        """Forget every vote on `passage` in `scope`; returns how many there were."""
        return self.feedback_desk().clear(scope, passage)

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

    def status(self) -> IndexStatus:
        """What the live index holds; from memory once the searcher is loaded (the bot asks
        for it with every answer)."""
        searcher = self.live.loaded()
        if searcher is None:
            return status_of(self.layout)
        return _status(self.data_dir, searcher.folder.name, searcher.manifest)


def require_index(layout: DataDir) -> None:
    """Raise `IndexMissingError` (with what to run) when the data directory holds no index
    yet."""
    layout.current()


def status_of(layout: DataDir) -> IndexStatus:
    """What the live index holds, read from its manifest without loading the model."""
    folder = layout.current()
    return _status(layout.root, folder.name, read_manifest(folder))


def _shown_hit(record: AnswerRecord, page: int, rank: int) -> ShownHit:
    if page >= len(record.pages) or rank >= len(record.pages[page]):
        raise InputError("That answer has no such passage.")
    return record.pages[page][rank]


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

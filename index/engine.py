"""The engine as the faces use it: one object that answers, rebuilds and manages articles.

It owns the embedding model (loaded once) and the live `Searcher`. A rebuild writes a new
generation aside and only then swaps the searcher, so questions keep being answered from the
old index while a build runs. Every method blocks; async faces call them in a worker thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings
from index.build import QueryModelMaker, build_index
from index.encode.embedder import Embedder
from index.encode.export import CACHE_DIR, ExportableEmbedder, query_model_for_build
from index.encode.onnx import OnnxQueryEncoder, QueryModelRecord
from index.errors import IndexMismatchError, IndexMissingError
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
from index.models import (
    Article,
    BuildReport,
    Mode,
    ParsedArticle,
    Progress,
    ReadReport,
    SearchResult,
    SourceProblem,
)
from index.query.searcher import EncodesQueries, Searcher, SearchTuning
from index.store.layout import DataDir
from index.store.library import Library
from index.store.manifest import MANIFEST_NAME, Manifest, read_manifest
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
        self._searcher: Searcher | None = None
        self._swap_lock = threading.Lock()

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
    ) -> SearchResult:
        return self.searcher().search(question, k or self.settings.top_k, collections, mode)

    def read(self, sources: Sequence[str] | None = None) -> ReadReport:
        """The operator's sources (settings, or those given) plus every admin-added article."""
        from index.ingest.readers import read_sources

        s = self.settings
        report = read_sources(
            sources if sources else s.sources,
            max_bytes=s.max_article_bytes,
            timeout=s.fetch_timeout,
            allow_private=True,
        )
        report.articles.extend(self.library.read_all())
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
        """Articles in one uploaded file, named `name`, for `collection`; nothing is stored."""
        from index.ingest.readers import parse_bytes

        return parse_bytes(data, name, name, name, collection)

    def read_link(
        self, url: str, *, max_bytes: int, timeout: float, allow_private: bool, collection: str
    ) -> ParsedArticle:
        """The article at `url`, fetched under the given guard; nothing is stored."""
        from index.ingest.readers import read_url

        return read_url(
            url,
            max_bytes=max_bytes,
            timeout=timeout,
            allow_private=allow_private,
            collection=collection,
        )

    def add_articles(self, collection: str, articles: list[ParsedArticle]) -> list[Article]:
        return self.library.add(collection, articles)

    def remove_article(self, collection: str, article_id: str) -> Article:
        return self.library.remove(collection, article_id)

    def list_articles(self, collection: str) -> list[Article]:
        return [p.article for p in self.library.articles(collection)]

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

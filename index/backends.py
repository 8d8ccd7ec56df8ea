"""Which search backend the settings choose, for the query side (the searcher's backend) and
the update side (the mirror builds and merges publish through): the local segments alone,
or Milvus too when `ARTICLEBOT_MILVUS_URI` is set."""

from __future__ import annotations

from config.settings import Settings
from index.store.local_search import open_local
from index.store.milvus.collection import MilvusTarget
from index.store.milvus.mirror import MilvusMirror
from index.store.milvus.search import milvus_opener
from index.store.mirroring import MirrorsIndex
from index.store.search_backend import OpensBackend


def milvus_target(settings: Settings) -> MilvusTarget | None:
    if settings.milvus_uri is None:
        return None
    return MilvusTarget(settings.milvus_uri, settings.milvus_collection)


def search_backend(settings: Settings) -> OpensBackend:
    target = milvus_target(settings)
    return open_local if target is None else milvus_opener(target)


def search_place(settings: Settings) -> str:
    """Where questions are searched, for the log: never the URI, which may hold credentials."""
    target = milvus_target(settings)
    return "the local index files" if target is None else f"Milvus collection {target.collection}"


def search_mirror(settings: Settings) -> MirrorsIndex | None:
    target = milvus_target(settings)
    return None if target is None else MilvusMirror(target)

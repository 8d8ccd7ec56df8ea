"""A question's scope as a Milvus filter expression, with the semantics of
`index/query/filters.py` (which the local backend applies as row masks): collections, the
date window (an article's day covers the whole UTC day; undated articles are outside every
window but not excluded by `as_of` alone) and outlets (compared by `outlet_key`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from index.models import SearchFilters
from index.query.filters import outlet_key
from index.store.milvus.collection import COLLECTION, DATED, FIRST, LAST, OUTLET


@dataclass(frozen=True, slots=True)
class Expression:
    """`text` is the filter ("" for none); `empty` says no passage can qualify."""

    text: str
    empty: bool = False


def literal(value: str) -> str:
    """A string literal of Milvus's expression language."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _one_of(field: str, values: Iterable[str]) -> str:
    return f"{field} in [{', '.join(literal(v) for v in sorted(set(values)))}]"


def scope_expression(
    collections: Collection[str] | None, filters: SearchFilters | None
) -> Expression:
    parts: list[str] = []
    if collections is not None:
        if not collections:
            return Expression("", empty=True)
        parts.append(_one_of(COLLECTION, collections))
    if filters is not None:
        if filters.since is not None:
            parts.append(f"({DATED} and {LAST} >= {filters.since.timestamp()!r})")
        if filters.until is not None:
            parts.append(f"({DATED} and {FIRST} < {filters.until.timestamp()!r})")
        if filters.as_of is not None:
            parts.append(f"(not {DATED} or {FIRST} <= {filters.as_of.timestamp()!r})")
        if filters.outlets:
            wanted = {outlet_key(o) for o in filters.outlets} - {""}
            if not wanted:
                return Expression("", empty=True)
            parts.append(_one_of(OUTLET, wanted))
    return Expression(" and ".join(parts))


def keys_expression(keys: Iterable[int]) -> str:
    return f"id in [{', '.join(str(int(k)) for k in keys)}]"

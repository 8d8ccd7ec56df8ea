"""Which articles a question may retrieve: its collections, date window, outlets and `as_of`.

Pure functions over per-article arrays computed once per loaded index, so a filter costs a
few vectorised comparisons per question, whatever the index size. The searcher turns the
article mask into a passage mask and applies it inside retrieval (a FAISS ID selector and a
mask on BM25 scores), before top-k.

Time semantics: `since` is inclusive, `until` exclusive (a window parser gives the end of
the last day it names). An article dated to the day covers that whole day (UTC): it is in a
window when its day overlaps it, and it is not "after `as_of`" unless its day starts after it.
An article without a date is outside every window, but not excluded by `as_of` alone: nothing
says it came later.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from index.models import ArticleRef, SearchFilters

DAY_SECONDS = 86_400.0


def article_moment(iso: str | None) -> tuple[datetime, bool] | None:
    """A stored date as an aware datetime (naive values count as UTC), and whether it gives a
    time of day; None when there is no date or it is not ISO 8601."""
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    timed = "T" in iso or " " in iso.strip()
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)), timed


def outlet_key(source: str | None) -> str:
    return " ".join((source or "").split()).casefold()


@dataclass(frozen=True, slots=True)
class ArticleFacts:
    """What filters look at, one entry per article row. Times are POSIX seconds: `first` and
    `last` are the first and last moment the article's date covers (equal for a timed date,
    a whole day for a day), NaN for an article without a date."""

    collection: np.ndarray
    collection_names: tuple[str, ...]
    first: np.ndarray
    last: np.ndarray
    outlet: tuple[str, ...]

    @classmethod
    def of(cls, refs: Sequence[ArticleRef]) -> ArticleFacts:
        names = tuple(sorted({r.collection for r in refs}))
        code = {c: i for i, c in enumerate(names)}
        first = np.full(len(refs), np.nan)
        last = np.full(len(refs), np.nan)
        for i, ref in enumerate(refs):
            found = article_moment(ref.date)
            if found is None:
                continue
            moment, timed = found
            first[i] = moment.timestamp()
            # The last moment of the day, so a day is never "after" a moment within it.
            last[i] = first[i] if timed else first[i] + DAY_SECONDS - 1e-3
        return cls(
            collection=np.array([code[r.collection] for r in refs], dtype=np.int64),
            collection_names=names,
            first=first,
            last=last,
            outlet=tuple(outlet_key(r.source) for r in refs),
        )

    def __len__(self) -> int:
        return len(self.outlet)


def is_restrictive(filters: SearchFilters | None) -> bool:
    return filters is not None and (
        filters.since is not None
        or filters.until is not None
        or bool(filters.outlets)
        or filters.as_of is not None
    )


def allowed_articles(
    facts: ArticleFacts, collections: Collection[str] | None, filters: SearchFilters | None
) -> np.ndarray | None:
    """A boolean mask over article rows, or None when everything is allowed."""
    if collections is None and not is_restrictive(filters):
        return None
    mask = np.ones(len(facts), dtype=bool)
    if collections is not None:
        codes = [i for i, c in enumerate(facts.collection_names) if c in set(collections)]
        mask &= np.isin(facts.collection, codes)
    if filters is None:
        return mask
    # NaN compares False, so undated articles drop out of any window.
    if filters.since is not None:
        mask &= facts.last >= filters.since.timestamp()
    if filters.until is not None:
        mask &= facts.first < filters.until.timestamp()
    if filters.as_of is not None:
        mask &= ~(facts.first > filters.as_of.timestamp())
    if filters.outlets:
        wanted = {outlet_key(o) for o in filters.outlets} - {""}
        mask &= np.fromiter((o in wanted for o in facts.outlet), dtype=bool, count=len(facts))
    return mask


def newest_first(first: Sequence[float]) -> list[int]:
    """Positions of `first` (POSIX seconds, NaN for undated) newest first, undated last, ties
    in their given order."""
    dated = [i for i, t in enumerate(first) if not np.isnan(t)]
    undated = [i for i, t in enumerate(first) if np.isnan(t)]
    return sorted(dated, key=lambda i: -first[i]) + undated


def outlet_names(refs: Sequence[ArticleRef], allowed: np.ndarray | None) -> list[str]:
    """The distinct outlets (`source`) of the allowed articles, in any case once, sorted."""
    names: dict[str, str] = {}
    for i, ref in enumerate(refs):
        key = outlet_key(ref.source)
        if key and (allowed is None or allowed[i]):
            names.setdefault(key, " ".join((ref.source or "").split()))
    return [names[key] for key in sorted(names)]


def within(filters: SearchFilters | None, start: datetime, end: datetime) -> SearchFilters:
    """`filters` narrowed to the period `[start, end)`."""
    base = filters or SearchFilters()
    since = start if base.since is None else max(base.since, start)
    until = end if base.until is None else min(base.until, end)
    return replace(base, since=since, until=until)

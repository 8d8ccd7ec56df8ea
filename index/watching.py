"""Watched questions as the faces manage them: add (or renew), list, remove, and the posts
the matcher made for them. Light like the rest of the query side: SQLite and the query
encoder, which turns each question into its vector once, when it is added, exactly as `/ask`
encodes it, so a watch is judged by the same confidence rule.

The matching itself runs where updates run (`index/watch_match.py`, called by the worker after
each update and by `articlebot watch matches`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np

from config.settings import Settings
from index.errors import InputError
from index.query.question import clean_question
from index.query.when import search_filters
from index.store.files import DataFiles
from index.store.watches import (
    NewWatch,
    SqliteWatchStore,
    Watch,
    WatchAdded,
    WatchLimits,
    WatchPost,
    WatchStore,
    WatchTarget,
)


@dataclass(frozen=True, slots=True)
class EncodedQuestion:
    """A question's vector and the model that made it (a watch of another model is not
    matched: its vector means nothing to this index)."""

    model: str
    vector: np.ndarray


# The query side's encoder: `/ask`'s, bound to the live index.
Encoder = Callable[[str], EncodedQuestion]


@dataclass(frozen=True, slots=True)
class WatchPlace:
    """Where a watch is added: the place's own collection (a server's, or the shared one),
    who adds it, and where its matches go."""

    collection: str
    owner: str
    target: WatchTarget
    channel_id: int = 0


class WatchDesk:
    def __init__(
        self,
        settings: Settings,
        encode: Encoder,
        store: WatchStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store: WatchStore = store or SqliteWatchStore(DataFiles(settings.data_dir).watches)
        self._encode = encode
        self._clock = clock

    @property
    def limits(self) -> WatchLimits:
        s = self.settings
        return WatchLimits(s.watch_max_per_member, s.watch_max_per_server, s.watch_expiry_days)

    def add(
        self,
        question: str,
        place: WatchPlace,
        *,
        outlets: Collection[str] = (),
        since: str | None = None,
    ) -> WatchAdded:
        """Watch `question` in `place`, or renew the same watch; `since` takes the dates and
        phrases `/ask` takes, resolved now."""
        text = clean_question(question, self.settings.max_question_chars)
        if not text:
            raise InputError("A watched question needs some words.")
        filters = search_filters(since=since, outlets=list(outlets))
        encoded = self._encode(text)
        watch = NewWatch(
            collection=place.collection,
            owner=place.owner,
            target=place.target,
            question=text,
            model=encoded.model,
            vector=encoded.vector,
            channel_id=place.channel_id,
            outlets=filters.outlets,
            since=filters.since.isoformat() if filters.since else None,
        )
        return self.store.add(watch, self.limits, self._clock())

    def watches(self, *, owner: str | None = None, collection: str | None = None) -> list[Watch]:
        return self.store.watches(self._clock(), owner=owner, collection=collection)

    def remove(self, watch_id: int, *, owner: str | None, channels_of: str | None = None) -> Watch:
        """Remove watch `watch_id` if it is `owner`'s (any owner's when None), or a channel
        watch of the collection `channels_of` (a server's admin); any other is unknown."""
        found = self.store.get(watch_id, self._clock())
        mine = found is not None and (owner is None or found.owner == owner)
        channel = (
            found is not None
            and channels_of is not None
            and found.collection == channels_of
            and found.target is WatchTarget.CHANNEL
        )
        if found is None or not (mine or channel):
            raise InputError(f"You have no watch {watch_id}; /watch list shows yours.")
        self.store.remove(watch_id)
        return found

    def posts(self, targets: Collection[WatchTarget], limit: int = 20) -> list[WatchPost]:
        return self.store.unposted(limit, targets)

    def mark_posted(self, post_id: int) -> None:
        self.store.mark_posted(post_id, self._clock())

    def member_unreachable(self, owner: str, collection: str | None = None) -> int:
        """The member left (`collection`'s server) or closed their DMs: their DM watches go."""
        return self.store.remove_member(owner, collection)

    def channel_unreachable(self, channel_id: int) -> int:
        return self.store.remove_channel(channel_id)

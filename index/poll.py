"""One poll of the feeds that are due: fetch each subscription once (conditionally) for every
collection that follows it, turn its new entries into articles (each page fetched and stored
once), fold syndicated copies into the article they copy, prune by retention per collection.

Each feed fails alone: its error is recorded, its next poll backs off, the others go on.
Nothing here embeds: the engine rebuilds once afterwards when something changed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from index.errors import InputError
from index.ingest.canonical import canonical_url
from index.ingest.feeds import FeedEntry, FetchLimits, entry_article, fetch_feed
from index.ingest.fetch import check_host
from index.models import Article, ArticleRef, FeedPollResult, ParsedArticle
from index.store.feeds import FeedRow, FeedStore, Subscription, index_id
from index.text.minhash import NEAR_DUPLICATE, signature, similarity

log = logging.getLogger(__name__)

# A failing feed is retried after the interval times 2**errors, at most this long.
MAX_BACKOFF = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    interval: timedelta
    max_new_entries: int
    max_age_days: float
    max_articles: int


@dataclass(slots=True)
class PollOutcome:
    results: list[FeedPollResult] = field(default_factory=list)
    pruned: int = 0
    changed: bool = False


@dataclass(frozen=True, slots=True)
class _Made:
    """An entry's article, read once for every collection that takes it."""

    parsed: ParsedArticle
    canonical: str | None
    links: tuple[str, ...]
    from_summary: bool
    signature: np.ndarray


@dataclass(slots=True)
class _EntryOutcome:
    """What one entry did: the articles it added per collection, whether any collection's
    articles changed, and whether it cost work (counted against the per-poll budget)."""

    added: dict[str, ArticleRef] = field(default_factory=dict)
    changed: bool = False
    worked: bool = False


class FeedPoller:
    def __init__(
        self,
        store: FeedStore,
        policy: PollPolicy,
        limits: Callable[[str], FetchLimits],
        hand_added_urls: Callable[[str], set[str]],
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self._limits = limits
        self._hand_added_urls = hand_added_urls
        self._rng = rng or random.Random()

    def poll(self, collection: str | None, force: bool, now: datetime) -> PollOutcome:
        outcome = PollOutcome()
        for feed in self.store.due(collection, now, force):
            results, changed = self.poll_one(feed, now)
            outcome.results.extend(results)
            outcome.changed |= changed
        collections = [collection] if collection is not None else self.store.collections()
        for name in collections:
            outcome.pruned += self.store.prune(
                name, self.policy.max_age_days, self.policy.max_articles, now
            )
        outcome.changed |= outcome.pruned > 0
        return outcome

    def _jittered(self, delay: timedelta) -> timedelta:
        # Feeds added together would otherwise be polled together for ever.
        return delay * self._rng.uniform(0.9, 1.1)

    def _limits_for(self, followers: Sequence[FeedRow]) -> FetchLimits:
        # The operator following a feed vouches for it (its pages may be on a private
        # network); every collection then gets the same articles.
        return max((self._limits(f.collection) for f in followers), key=lambda x: x.allow_private)

    def poll_one(self, feed: Subscription, now: datetime) -> tuple[list[FeedPollResult], bool]:
        """One result per collection that follows the feed, and whether any collection's
        articles changed. The feed is fetched once whatever the number of followers."""
        followers = self.store.followers(feed)
        if not followers:
            return [], False
        limits = self._limits_for(followers)
        try:
            fetched = fetch_feed(feed.url, limits, etag=feed.etag, last_modified=feed.last_modified)
        except InputError as exc:
            reason = str(exc).removeprefix(f"{feed.url}: ")
            delay = min(self.policy.interval * 2 ** min(feed.errors + 1, 16), MAX_BACKOFF)
            self.store.record_failure(feed, reason, now, now + self._jittered(delay))
            log.warning("feed %s (%d followers): %s", feed.url, len(followers), reason)
            return [FeedPollResult(self.store.info(f), error=reason) for f in followers], False
        next_poll = now + self._jittered(self.policy.interval)
        if fetched.feed is None:
            self.store.record_success(
                feed,
                title=None,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                now=now,
                next_poll=next_poll,
            )
            return [FeedPollResult(self.store.info(f), not_modified=True) for f in followers], False
        title = fetched.feed.title
        added: dict[str, list[ArticleRef]] = {f.collection: [] for f in followers}
        changed = False
        budget = self.policy.max_new_entries
        hand_added = {f.collection: self._hand_added_urls(f.collection) for f in followers}
        complete = True
        for entry in fetched.feed.entries:
            if budget == 0:
                complete = False
                break
            outcome = self._entry(feed, followers, entry, title, hand_added, limits, now)
            if not outcome.worked:
                continue
            budget -= 1
            for collection, ref in outcome.added.items():
                added[collection].append(ref)
            changed |= outcome.changed
        # Entries left for the next poll: it must get the whole feed again, not a 304.
        self.store.record_success(
            feed,
            title=title,
            etag=fetched.etag if complete else None,
            last_modified=fetched.last_modified if complete else None,
            now=now,
            next_poll=next_poll,
        )
        for collection, refs in added.items():
            if refs:
                log.info("feed %s (%s): %d new articles", feed.url, collection, len(refs))
        results = [
            FeedPollResult(self.store.info(f), added=tuple(added[f.collection])) for f in followers
        ]
        return results, changed

    def _entry(
        self,
        feed: Subscription,
        followers: Sequence[FeedRow],
        entry: FeedEntry,
        feed_title: str | None,
        hand_added: dict[str, set[str]],
        limits: FetchLimits,
        now: datetime,
    ) -> _EntryOutcome:
        """One entry for every follower: known ones cost nothing (or record one more source);
        for the others its page is read once and the article added, or merged as another
        outlet's copy, collection by collection."""
        outcome = _EntryOutcome()
        link = canonical_url(entry.link) if entry.link else f"{feed.url}#{entry.key}"
        wanted = []
        for follow in followers:
            if link in hand_added[follow.collection]:
                continue
            known = self.store.known(follow.collection, [link])
            if known is None:
                wanted.append(follow)
            elif self._also_from(follow, known, link, feed_title, now):
                outcome.changed = outcome.worked = True
        if not wanted:
            return outcome
        outcome.worked = True
        made = self._made(entry, feed, feed_title, wanted[0].collection, link, limits)
        if isinstance(made, InputError):
            log.info("feed %s: entry %s skipped: %s", feed.url, link, made)
            for follow in wanted:
                self.store.mark_seen(follow.collection, [link], None, now)
            return outcome
        for follow in wanted:
            result = self._take(follow, made, link, feed_title, hand_added, now)
            if isinstance(result, ArticleRef):
                outcome.added[follow.collection] = result
            outcome.changed |= result is not None
        return outcome

    def _made(
        self,
        entry: FeedEntry,
        feed: Subscription,
        feed_title: str | None,
        collection: str,
        link: str,
        limits: FetchLimits,
    ) -> _Made | InputError:
        """The entry's article: the stored one when another collection already holds it,
        else read from its page (or the entry) now; the error when it cannot be read."""
        stored = self.store.stored([link]) if self._may_reuse(link, limits) else None
        if stored is not None:
            canonical = stored.parsed.article.url
            return _Made(
                stored.parsed, canonical, stored.urls, stored.from_summary, stored.signature
            )
        try:
            made = entry_article(entry, feed.url, feed_title, collection, limits)
        except InputError as exc:
            return exc
        if made.from_summary:
            log.info(
                "feed %s: %s indexed from the feed summary (%s)", feed.url, link, made.page_error
            )
        text = made.parsed.article.text
        return _Made(made.parsed, made.canonical, made.links, made.from_summary, signature(text))

    @staticmethod
    def _may_reuse(link: str, limits: FetchLimits) -> bool:
        # A page read for the operator (private addresses allowed) is not handed to a
        # collection that could not have fetched it.
        if limits.allow_private or not link.startswith(("http://", "https://")):
            return True
        try:
            check_host(link, allow_private=False)
        except InputError:
            return False
        return True

    def _take(
        self,
        follow: FeedRow,
        made: _Made,
        link: str,
        feed_title: str | None,
        hand_added: dict[str, set[str]],
        now: datetime,
    ) -> ArticleRef | bool | None:
        """`made` in one collection: added (its ref), merged as another outlet's copy (True),
        or nothing to do (None)."""
        collection = follow.collection
        article = replace(made.parsed.article, collection=collection)
        urls = sorted({link, article.id, *made.links})
        if made.canonical is not None and made.canonical in hand_added[collection]:
            self.store.mark_seen(collection, urls, None, now)
            return None
        known = self.store.known(collection, urls)
        if known:
            return self._also_from(follow, known, link, feed_title, now) or None
        existing = self.store.signatures(collection)
        scores = similarity(made.signature, existing.matrix)
        if len(scores) and float(scores.max()) >= NEAR_DUPLICATE:
            original = existing.ids[int(np.argmax(scores))]
            self.store.add_alternate(collection, original, article, follow.id, urls, now)
            log.info("feed %s: %s is a copy of %s in %s", follow.url, link, original, collection)
            return True
        self.store.add_article(
            replace(made.parsed, article=article),
            follow.id,
            made.from_summary,
            made.signature,
            urls,
            now,
        )
        return ArticleRef(
            index_id(collection, article.id),
            article.title,
            article.date,
            article.source,
            article.url,
            collection,
        )

    def _also_from(
        self,
        feed: FeedRow,
        article_id: str,
        link: str,
        feed_title: str | None,
        now: datetime,
    ) -> bool:
        """The same entry in another feed: that feed becomes one more source of the article."""
        collection = feed.collection
        original = self.store.article(collection, article_id) if article_id else None
        if original is None or self.store.has_source(collection, article_id, feed.id):
            return False
        self.store.add_alternate(
            collection,
            article_id,
            Article(
                id=link,
                title=original.title,
                text="",
                date=original.date,
                source=feed_title or feed.url,
                url=link,
                collection=collection,
            ),
            feed.id,
            [link],
            now,
        )
        return True

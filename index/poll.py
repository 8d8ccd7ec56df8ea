"""One poll of the feeds that are due: fetch each (conditionally), turn its new entries into
articles, fold syndicated copies into the article they copy, prune by retention.

Each feed fails alone: its error is recorded, its next poll backs off, the others go on.
Nothing here embeds: the engine rebuilds once afterwards when something changed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from index.errors import InputError
from index.ingest.canonical import canonical_url
from index.ingest.feeds import FeedEntry, FetchLimits, entry_article, fetch_feed
from index.models import Article, ArticleRef, FeedPollResult
from index.store.feeds import FeedRow, FeedStore
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
            result, changed = self.poll_one(feed, now)
            outcome.results.append(result)
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

    def poll_one(self, feed: FeedRow, now: datetime) -> tuple[FeedPollResult, bool]:
        """The feed's result, and whether the collection's articles changed."""
        limits = self._limits(feed.collection)
        try:
            fetched = fetch_feed(feed.url, limits, etag=feed.etag, last_modified=feed.last_modified)
        except InputError as exc:
            reason = str(exc).removeprefix(f"{feed.url}: ")
            delay = min(self.policy.interval * 2 ** min(feed.errors + 1, 16), MAX_BACKOFF)
            self.store.record_failure(feed, reason, now, now + self._jittered(delay))
            log.warning("feed %s (%s): %s", feed.url, feed.collection, reason)
            return FeedPollResult(self.store.info(feed), error=reason), False
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
            return FeedPollResult(self.store.info(feed), not_modified=True), False
        title = fetched.feed.title
        added: list[ArticleRef] = []
        changed = False
        budget = self.policy.max_new_entries
        hand_added = self._hand_added_urls(feed.collection)
        complete = True
        for entry in fetched.feed.entries:
            if budget == 0:
                complete = False
                break
            outcome = self._entry(feed, entry, title, hand_added, limits, now)
            if outcome is None:
                continue
            budget -= 1
            if isinstance(outcome, ArticleRef):
                added.append(outcome)
            changed |= outcome is not False
        # Entries left for the next poll: it must get the whole feed again, not a 304.
        self.store.record_success(
            feed,
            title=title,
            etag=fetched.etag if complete else None,
            last_modified=fetched.last_modified if complete else None,
            now=now,
            next_poll=next_poll,
        )
        if added:
            log.info("feed %s (%s): %d new articles", feed.url, feed.collection, len(added))
        return FeedPollResult(self.store.info(feed), added=tuple(added)), changed

    def _entry(
        self,
        feed: FeedRow,
        entry: FeedEntry,
        feed_title: str | None,
        hand_added: set[str],
        limits: FetchLimits,
        now: datetime,
    ) -> ArticleRef | bool | None:
        """A new entry made into an article (its ref), merged as another outlet's copy
        (True), or unreadable (False); None when the entry was known and cost nothing."""
        collection = feed.collection
        link = canonical_url(entry.link) if entry.link else f"{feed.url}#{entry.key}"
        if link in hand_added:
            return None
        known = self.store.known(collection, [link])
        if known is not None:
            return self._also_from(feed, known, link, feed_title, now) or None
        try:
            made = entry_article(entry, feed.url, feed_title, collection, limits)
        except InputError as exc:
            log.info("feed %s: entry %s skipped: %s", feed.url, link, exc)
            self.store.mark_seen(collection, [link], None, now)
            return False
        article = made.parsed.article
        urls = sorted({link, article.id, *made.links})
        if made.canonical is not None and made.canonical in hand_added:
            self.store.mark_seen(collection, urls, None, now)
            return None
        known = self.store.known(collection, urls)
        if known:
            return self._also_from(feed, known, link, feed_title, now) or None
        if made.from_summary:
            log.info(
                "feed %s: %s indexed from the feed summary (%s)",
                feed.url,
                link,
                made.page_error,
            )
        sig = signature(article.text)
        existing = self.store.signatures(collection)
        scores = similarity(sig, existing.matrix)
        if len(scores) and float(scores.max()) >= NEAR_DUPLICATE:
            original = existing.ids[int(np.argmax(scores))]
            self.store.add_alternate(collection, original, article, feed.id, urls, now)
            log.info("feed %s: %s is a copy of %s", feed.url, link, original)
            return True
        self.store.add_article(made.parsed, feed.id, made.from_summary, sig, urls, now)
        return ArticleRef(
            article.id, article.title, article.date, article.source, article.url, collection
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

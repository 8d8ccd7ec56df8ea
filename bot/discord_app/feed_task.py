"""The bot's feed poller: one background task, started in `setup_hook`, that polls the due
feeds every `feed_poll_minutes` (with jitter) and posts new headlines to each feed's channel.

The poll itself (network, extraction, embedding) runs in a worker thread, never on the event
loop. It takes the bot's build slot, so it never runs beside an admin's reindex; when the slot
is busy the round is skipped and the next one catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING

import discord

from bot.discord_app.render_feeds import headlines_embed
from index.errors import ArticlebotError
from index.models import FeedPollResult, PollReport

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot

log = logging.getLogger(__name__)


class FeedTask:
    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._rng = random.Random()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="feed-poller")

    def wake(self) -> None:
        """Poll now rather than at the next interval (a feed was just added)."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        interval = self.bot.settings.feed_poll_minutes * 60
        while not self.bot.is_closed():
            await self.poll_once()
            # Jitter: bots started together do not poll the same sites in step.
            delay = interval * self._rng.uniform(0.9, 1.1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()

    async def poll_once(self) -> None:
        try:
            report = await self._poll()
        except ArticlebotError as error:
            log.warning("feed poll skipped: %s", error)
            return
        except Exception:
            # The loop must outlive any one poll; the next round tries again.
            log.exception("feed poll failed")
            return
        for result in report.feeds if report is not None else ():
            if result.added and result.feed.channel_id:
                await self._post(result, result.feed.channel_id)

    async def _poll(self) -> PollReport | None:
        engine = self.bot.engine
        if not await asyncio.to_thread(engine.feeds_due):
            return None
        if self.bot.builds.busy:
            log.info("feed poll skipped: a build is running")
            return None
        with self.bot.builds.hold():
            return await asyncio.to_thread(engine.poll_feeds)

    async def _post(self, result: FeedPollResult, channel_id: int) -> None:
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                log.warning("feed %s: channel %s cannot take messages", result.feed.url, channel_id)
                return
            await channel.send(
                embed=headlines_embed(result), allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException as error:
            log.warning(
                "feed %s: cannot post to channel %s: %s", result.feed.url, channel_id, error
            )

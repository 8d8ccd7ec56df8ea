"""The bot's feed headlines: one background task, started in `setup_hook`, that posts the
headlines the worker's polls recorded to each feed's channel.

The worker polls and indexes; the bot only reads the `headlines` table (a small SQLite query
in a worker thread, every few seconds), claims each headline it posts and marks it posted once
its message is sent, so a headline is posted once even across restarts of either process (a
crash between the send and the mark would post it again, once the claim has lapsed: the only
repeat possible).

With several bot processes (shards), each posts only the headlines of channels its shards hold
(`ownership.ChannelOwnership`), and the claim makes the post single even while a shard moves
between processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from typing import TYPE_CHECKING

import discord

from bot.discord_app.ownership import ChannelOwnership
from bot.discord_app.render_feeds import headlines_embed
from index.errors import ArticlebotError
from index.jobs import Headline, headline_of

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot

log = logging.getLogger(__name__)

# How often the bot looks for headlines to post.
CHECK_SECONDS = 2.0
BATCH = 20
# How long a claimed headline is this process's to post before another may take it over.
CLAIM_SECONDS = 60.0


class FeedTask:
    def __init__(self, bot: ArticleBot, check_seconds: float = CHECK_SECONDS) -> None:
        self.bot = bot
        self.check_seconds = check_seconds
        self._task: asyncio.Task[None] | None = None
        self.claimant = f"{os.uname().nodename}:{os.getpid()}:{secrets.token_hex(3)}"
        self.ownership = ChannelOwnership(bot)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="feed-headlines")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        while not self.bot.is_closed():
            await self.post_pending()
            await asyncio.sleep(self.check_seconds)

    async def post_pending(self) -> None:
        queue = self.bot.engine.jobs.queue
        try:
            pending = await asyncio.to_thread(queue.unposted_headlines, BATCH)
        except ArticlebotError as error:
            log.warning("cannot read the headlines to post: %s", error)
            return
        for headline in pending:
            if not await self.ownership.ours(headline.channel_id):
                continue
            claimed = await asyncio.to_thread(
                queue.claim_headline, headline.id, self.claimant, CLAIM_SECONDS
            )
            if not claimed:
                continue
            await self._post(headline)
            await asyncio.to_thread(queue.mark_posted, headline.id)

    async def _post(self, headline: Headline) -> None:
        result = headline_of(headline.body)
        channel_id = headline.channel_id
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                log.warning("feed %s: channel %s cannot take messages", result.feed.url, channel_id)
                return
            await channel.send(
                embed=headlines_embed(result), allowed_mentions=discord.AllowedMentions.none()
            )
            log.info("feed %s: headlines posted to channel %s", result.feed.url, channel_id)
        except discord.HTTPException as error:
            # A channel gone or closed to the bot: the headline is dropped, not retried forever.
            log.warning(
                "feed %s: cannot post to channel %s: %s", result.feed.url, channel_id, error
            )

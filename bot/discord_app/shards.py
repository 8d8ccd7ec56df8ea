"""A bot process that runs some of the bot's shards (`articlebot run --shards 0-3
--shard-count 8`), beside other such processes that share the same state.

Discord sends each server's events to one shard, `(guild_id >> 22) % shard_count`, and DMs to
shard 0, so a process answers the servers its shards hold. What must happen once across the
processes goes through the shared state: answers (their buttons work in whichever process
gets the press), headline claims, and the IDENTIFY slots taken here. Discord lets a bot start
`max_concurrency` sessions per 5 seconds, one per bucket `shard_id % max_concurrency`, counted
over all its processes: each shard takes its bucket's slot in the shared store before it
IDENTIFYs, whichever process it runs in.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from discord.ext import commands

from bot.discord_app.client import ArticleBot
from config.settings import Settings

if TYPE_CHECKING:
    from index.engine import AnsweringEngine

log = logging.getLogger(__name__)

# Discord's spacing of session starts within one rate-limit bucket, counted where the
# IDENTIFYs arrive; the slot is taken before the IDENTIFY is sent, and one sent a few
# milliseconds faster than the one before it would arrive too soon: half a second of margin.
IDENTIFY_INTERVAL = 5.0
IDENTIFY_MARGIN = 0.5


class ShardedArticleBot(ArticleBot, commands.AutoShardedBot):
    def __init__(
        self, settings: Settings, engine: AnsweringEngine | None = None, **options: Any
    ) -> None:
        super().__init__(
            settings,
            engine,
            shard_ids=list(settings.shard_ids),
            shard_count=settings.shard_count,
            **options,
        )
        self.max_concurrency = 1

    @property
    def sharded(self) -> bool:
        return True

    def holds(self, guild_id: int | None) -> bool:
        return shard_of(guild_id, self.settings.shard_count) in self.settings.shard_ids

    async def launch_shards(self) -> None:
        limits = await self.fetch_session_start_limits()
        self.max_concurrency = max(1, limits.max_concurrency)
        if limits.remaining <= 0:
            log.warning(
                "Discord allows no more session starts for %.0f minutes: the shards will be "
                "refused until then",
                limits.reset_after / 60_000,
            )
        log.info(
            "running shards %s of %d (session starts: %d per %gs)",
            ",".join(map(str, self.settings.shard_ids)),
            self.settings.shard_count,
            self.max_concurrency,
            IDENTIFY_INTERVAL,
        )
        await super().launch_shards()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for this shard's bucket slot in the shared store, which every process of the
        bot takes from, instead of discord.py's per-process 5 s sleep."""
        key = f"discord-identify:{(shard_id or 0) % self.max_concurrency}"
        slots = self.engine.start_slots
        while True:
            wait = await asyncio.to_thread(slots.take, key, IDENTIFY_INTERVAL + IDENTIFY_MARGIN)
            if wait <= 0:
                log.info("shard %s: identifying", shard_id)
                return
            log.info("shard %s: another shard is identifying; waiting %.1fs", shard_id, wait)
            await asyncio.sleep(wait)


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard Discord sends a server's events to; DMs arrive on shard 0."""
    return 0 if guild_id is None else (guild_id >> 22) % shard_count


def bot_for(settings: Settings) -> ArticleBot:
    """The bot these settings run: sharded when a shard count is set, else unsharded."""
    if settings.shard_count:
        return ShardedArticleBot(settings)
    return ArticleBot(settings)

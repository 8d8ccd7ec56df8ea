"""The bot's watch posts: one background task, started in `setup_hook`, that delivers the
posts the worker's matching recorded: to the member by DM, or to the watch's channel.

Each post is the usual answer (embed, buttons that keep working after a restart), with the
watched question noted, sent without pings, then marked delivered, so a post goes out once
across restarts of either process (a crash between the send and the mark would send it
again: the only repeat possible). A member who left the server, or who does not take DMs
from the bot (403), loses their DM watches quietly; a channel gone or closed to the bot loses
its watches: no post is retried for ever.

With several bot processes (shards), the one holding shard 0 (the DMs' shard) delivers every
watch post, channels included (a post goes over REST, whatever shard holds its server), so
each is made once without claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord

from bot.discord_app.answers import AnswerOrigin
from bot.discord_app.render_watch import watch_note
from bot.discord_app.scope import own_collection
from index.engine import WatchPost, WatchTarget
from index.errors import ArticlebotError

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0
BATCH = 20
GUILD_PREFIX = "guild:"


class WatchTask:
    def __init__(self, bot: ArticleBot, check_seconds: float = CHECK_SECONDS) -> None:
        self.bot = bot
        self.check_seconds = check_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="watch-posts")

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
        if not self.bot.holds(None):
            return
        desk = self.bot.engine.watches
        try:
            pending = await asyncio.to_thread(
                desk.posts, (WatchTarget.DM, WatchTarget.CHANNEL), BATCH
            )
        except ArticlebotError as error:
            log.warning("cannot read the watch posts: %s", error)
            return
        for post in pending:
            try:
                await self._post(post)
            except ArticlebotError as error:
                log.warning("watch %d: the post could not be made: %s", post.watch.id, error)
            await asyncio.to_thread(desk.mark_posted, post.id)

    async def _post(self, post: WatchPost) -> None:
        watch = post.watch
        guild_id = _guild_of(watch.collection)
        if watch.target is WatchTarget.CHANNEL:
            destination = await self._channel(watch.channel_id)
            scope = own_collection(guild_id) if guild_id is not None else f"dm:{watch.owner}"
        else:
            destination = await self._member(watch.owner, guild_id, watch.collection)
            # Buttons pressed in a DM are answered in the member's DM scope.
            scope = f"dm:{watch.owner}"
        if destination is None:
            return
        origin = AnswerOrigin(
            scope, int(watch.owner), len(post.result.hits) or 1, watch.collections
        )
        message = await self.bot.answers.present(post.result, origin)
        try:
            await destination.send(
                embed=watch_note(message.embed, watch.question),
                view=message.view,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.Forbidden:
            await self._unreachable(post)
        except discord.HTTPException as error:
            log.warning("watch %d: cannot post: %s", watch.id, error)

    async def _channel(self, channel_id: int) -> discord.abc.Messageable | None:
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        except (discord.NotFound, discord.Forbidden):
            removed = await asyncio.to_thread(
                self.bot.engine.watches.channel_unreachable, channel_id
            )
            log.info("channel %s is gone: %d watches removed", channel_id, removed)
            return None
        return channel if isinstance(channel, discord.abc.Messageable) else None

    async def _member(
        self, owner: str, guild_id: int | None, collection: str
    ) -> discord.abc.Messageable | None:
        """The member to DM, or None when they left the server the watch was added in (or
        the bot did)."""
        user_id = int(owner)
        if guild_id is not None and not await self._in_guild(guild_id, user_id):
            removed = await asyncio.to_thread(
                self.bot.engine.watches.member_unreachable, owner, collection
            )
            log.info("member %s left %s: %d watches removed", owner, collection, removed)
            return None
        try:
            return self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
        except discord.NotFound:
            removed = await asyncio.to_thread(self.bot.engine.watches.member_unreachable, owner)
            log.info("user %s is gone: %d watches removed", owner, removed)
            return None

    async def _in_guild(self, guild_id: int, user_id: int) -> bool:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return False
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound:
            return False
        return True

    async def _unreachable(self, post: WatchPost) -> None:
        watch = post.watch
        desk = self.bot.engine.watches
        if watch.target is WatchTarget.CHANNEL:
            removed = await asyncio.to_thread(desk.channel_unreachable, watch.channel_id)
            log.info("channel %s refuses posts: %d watches removed", watch.channel_id, removed)
        else:
            removed = await asyncio.to_thread(desk.member_unreachable, watch.owner)
            log.info("member %s takes no DMs: %d watches removed", watch.owner, removed)


def _guild_of(collection: str) -> int | None:
    if collection.startswith(GUILD_PREFIX) and collection[len(GUILD_PREFIX) :].isdigit():
        return int(collection[len(GUILD_PREFIX) :])
    return None

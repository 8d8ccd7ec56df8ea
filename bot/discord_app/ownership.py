"""Which bot process posts to a channel when several share the bot's shards: the one whose
shards hold the channel's server (DMs, and channels that cannot be looked up, belong to the
process holding shard 0). Posts the bot makes on its own (feed headlines) ask this first, then
claim the post in the shared store, so each is made once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot


class ChannelOwnership:
    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot
        # Channel -> its server (None: a DM), learned once per channel out of this process's
        # cache; a server does not move between channels.
        self._servers: dict[int, int | None] = {}

    async def ours(self, channel_id: int) -> bool:
        """Whether this process posts to the channel. Unsharded, always; sharded, when its
        server is on one of our shards (a channel in our cache is: Discord sent us its
        server), else as its server, looked up once over REST, says."""
        bot = self.bot
        if not bot.sharded or bot.get_channel(channel_id) is not None:
            return True
        if channel_id not in self._servers:
            try:
                channel = await bot.fetch_channel(channel_id)
            except discord.HTTPException:
                # Gone or closed to the bot: shard 0's process tries, and drops it.
                return bot.holds(None)
            guild = getattr(channel, "guild", None)
            self._servers[channel_id] = guild.id if guild is not None else None
        return bot.holds(self._servers[channel_id])

"""Which servers a sharded bot process holds: Discord's `(guild_id >> 22) % shard_count`, and
DMs on shard 0."""

from __future__ import annotations

from bot.discord_app.client import ArticleBot
from bot.discord_app.shards import ShardedArticleBot, bot_for, shard_of
from config import load_settings

# Snowflakes whose timestamp part (id >> 22) is 40, 41, 42 and 43.
GUILDS = [stamp << 22 | 12345 for stamp in (40, 41, 42, 43)]


def test_a_server_belongs_to_the_shard_of_its_id_and_dms_to_shard_0() -> None:
    assert [shard_of(guild, 4) for guild in GUILDS] == [0, 1, 2, 3]
    assert [shard_of(guild, 2) for guild in GUILDS] == [0, 1, 0, 1]
    assert shard_of(None, 4) == 0


async def test_a_process_holds_the_servers_and_dms_of_its_shards_only() -> None:
    second = bot_for(load_settings({}, env_file=None, shards="1,3", shard_count=4))
    first = bot_for(load_settings({}, env_file=None, shards="0", shard_count=4))
    alone = bot_for(load_settings({}, env_file=None))

    assert isinstance(second, ShardedArticleBot) and second.sharded
    assert (second.shard_ids, second.shard_count) == ([1, 3], 4)
    assert [second.holds(guild) for guild in GUILDS] == [False, True, False, True]
    assert not second.holds(None) and first.holds(None)
    assert type(alone) is ArticleBot and not alone.sharded
    assert all(alone.holds(guild) for guild in [*GUILDS, None])

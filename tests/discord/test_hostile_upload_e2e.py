"""A hostile attachment to `/articles add` costs its uploader an error, never the bot: other
servers keep being answered meanwhile and the build slot is free again afterwards."""

from __future__ import annotations

import asyncio

from bot.discord_app.client import ArticleBot
from index.engine import Engine
from tests.discord.checks import unescape
from tests.discord.conftest import LIGHTHOUSE
from tests.discord.fake_discord import FakeDiscord
from tests.discord.test_admin_e2e import ask, finished, titles
from tests.unit.ingest.hostile import alias_bomb


async def test_alias_bomb_upload_is_refused_while_another_server_is_answered(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord, engine: Engine
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    other = fake.add_guild("Other Guild", owner_id=world.owner.id)
    other_channel = fake.add_channel(other.id, "general")
    fake.add_member(other.id, world.member.id)
    bomb = alias_bomb()
    upload = fake.add_attachment(bomb, "bomb.md", "text/markdown")

    adding = asyncio.create_task(
        fake.invoke_slash(
            "articles add", {"file": upload}, channel_id=world.channel.id, user_id=world.admin.id
        )
    )
    answer = await ask(
        fake, "Who is the Pentagon press secretary?", other_channel.id, world.member.id
    )
    refused = await finished(await adding, "bomb.md")
    # The build slot was given back: the same admin can add a good file right after.
    good = fake.add_attachment(LIGHTHOUSE.encode(), "lighthouse.txt", "text/plain")
    added = await fake.invoke_slash(
        "articles add", {"file": good}, channel_id=world.channel.id, user_id=world.admin.id
    )
    done = await finished(added, "Added ")

    assert len(bomb) < 1024
    assert titles(answer)
    assert refused.ephemeral
    assert unescape(refused.content).startswith(
        "bomb.md: bad YAML front matter (aliases (*name) are not allowed in front matter"
    )
    assert done.content.startswith("Added 1 article to this server")
    assert [a.title for a in engine.list_articles(f"guild:{world.guild.id}")] == [
        "Zorblatt lighthouse repainted in cobalt blue"
    ]

"""The fake Discord speaks the real protocol: the unmodified discord.py client logs in, syncs,
answers slash commands and mentions, survives gateway drops, and meets Discord's rules.

Raw HTTP / WebSocket tests cover what discord.py refuses to send by itself (a second callback,
11 embeds) and the gateway close codes.
"""

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands

from tests.discord.fake_discord import (
    FakeDiscord,
    FakeDiscordError,
    UnknownCommandError,
)

STARTUP_TIMEOUT = 10.0
ANSWER_TIMEOUT = 5.0
NO_PINGS = discord.AllowedMentions.none()


class Probe:
    """Lets commands report what happened to the test, and wait for its go-ahead."""

    def __init__(self) -> None:
        self._results: dict[str, asyncio.Future[Any]] = {}
        self.release = asyncio.Event()

    def _future(self, key: str) -> asyncio.Future[Any]:
        if key not in self._results:
            self._results[key] = asyncio.get_running_loop().create_future()
        return self._results[key]

    def report(self, key: str, value: Any) -> None:
        future = self._future(key)
        if not future.done():
            future.set_result(value)

    async def result(self, key: str) -> Any:
        return await asyncio.wait_for(self._future(key), ANSWER_TIMEOUT)

    async def go_ahead(self) -> None:
        await asyncio.wait_for(self.release.wait(), STARTUP_TIMEOUT)


class ProbeBot(discord.Client):
    """A minimal bot: a few slash commands and a reply to mentions."""

    def __init__(self, *, intents: discord.Intents) -> None:
        super().__init__(intents=intents, guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.probe = Probe()
        self.seen: asyncio.Queue[discord.Message] = asyncio.Queue()
        _add_commands(self.tree, self.probe)

    async def on_message(self, message: discord.Message) -> None:
        if self.user is None or message.author.id == self.user.id:
            return
        await self.seen.put(message)
        if self.user in message.mentions:
            await message.reply(
                f"heard: {message.content}", mention_author=False, allowed_mentions=NO_PINGS
            )


def _add_commands(tree: app_commands.CommandTree, probe: Probe) -> None:
    @tree.command(description="Answers at once")
    async def ping(interaction: discord.Interaction) -> None:
        probe.report("ping", interaction)
        await interaction.response.send_message("pong", allowed_mentions=NO_PINGS)

    @tree.command(description="Defers, then answers in a followup")
    async def ask(interaction: discord.Interaction, question: str) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"answer: {question}", allowed_mentions=NO_PINGS)

    @tree.command(description="Tries a 2001-character answer")
    async def long(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("x" * 2001)
        except discord.HTTPException as error:
            probe.report("long", error)
            await interaction.response.send_message("too long")

    @tree.command(description="Tries an oversized embed")
    async def bigembed(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message(embed=discord.Embed(description="y" * 4097))
        except discord.HTTPException as error:
            probe.report("bigembed", error)
            await interaction.response.send_message("too big")

    @tree.command(description="Answers only when the test says so")
    async def late(interaction: discord.Interaction) -> None:
        await probe.go_ahead()
        try:
            await interaction.response.send_message("late")
        except discord.NotFound as error:
            probe.report("late", error)

    @tree.command(description="Sends followups too early and too late")
    async def tokenrules(interaction: discord.Interaction) -> None:
        try:
            await interaction.followup.send("too early")
        except discord.NotFound as error:
            probe.report("early", error)
        await interaction.response.defer()
        await probe.go_ahead()
        try:
            await interaction.followup.send("too late")
        except discord.HTTPException as error:
            probe.report("expired", error)

    @tree.command(description="Admins only")
    @app_commands.default_permissions(manage_guild=True)
    async def reindex(interaction: discord.Interaction) -> None:
        allowed = interaction.permissions.manage_guild
        await interaction.response.send_message(
            "reindexing" if allowed else "not allowed", ephemeral=True
        )

    @tree.command(description="Edits, fetches and deletes its responses")
    async def edits(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.edit_original_response(content="first")
        original = await interaction.original_response()
        followup = await interaction.followup.send("second", wait=True)
        await followup.edit(content="second, edited")
        await interaction.delete_original_response()
        probe.report("edits", original.content)

    @tree.command(description="Answers with a file")
    async def upload(interaction: discord.Interaction) -> None:
        file = discord.File(io.BytesIO(b"abc"), filename="a.txt")
        await interaction.response.send_message("here", file=file)

    # Typing one of these keys makes the suggestions break the rule named by the key.
    Choice = app_commands.Choice
    rule_breakers = {
        "many": [Choice(name=f"word {i}", value=f"w{i}") for i in range(26)],
        "long name": [Choice(name="n" * 101, value="w")],
        "long value": [Choice(name="word", value="v" * 101)],
        "empty name": [Choice(name="", value="w")],
    }

    @tree.command(description="Suggests words as the user types")
    async def pick(interaction: discord.Interaction, word: str) -> None:
        await interaction.response.send_message(f"picked {word}")

    @pick.autocomplete("word")
    async def suggest(interaction: discord.Interaction, typed: str) -> list[Choice[str]]:
        if typed == "late":
            await probe.go_ahead()
        at_limits = [
            Choice(name=f"{typed} {i}".ljust(100, "."), value="v" * 100) for i in range(25)
        ]
        try:
            await interaction.response.autocomplete(rule_breakers.get(typed, at_limits))
        except discord.HTTPException as error:
            probe.report(typed, error)
        # After a refusal discord.py answers with what this returns.
        return []

    kb = app_commands.Group(name="kb", description="Knowledge base")
    articles = app_commands.Group(name="articles", description="Articles", parent=kb)

    @articles.command(name="add", description="Adds an article from a file")
    async def add(interaction: discord.Interaction, file: discord.Attachment) -> None:
        data = await file.read()
        await interaction.response.send_message(f"{file.filename}: {len(data)} bytes")

    tree.add_command(kb)


async def _start(bot: ProbeBot, token: str) -> asyncio.Task[None]:
    """Start the bot and return its task once on_ready has fired (or raise why it did not)."""
    runner = asyncio.create_task(bot.start(token))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait(
        {runner, ready}, timeout=STARTUP_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    if ready in done:
        return runner
    ready.cancel()
    if runner in done:
        runner.result()
    raise TimeoutError("the bot did not become ready")


@contextlib.asynccontextmanager
async def running_bot(
    token: str, intents: discord.Intents | None = None
) -> AsyncIterator[ProbeBot]:
    bot = ProbeBot(intents=intents or discord.Intents.default())
    try:
        runner = await _start(bot, token)
        yield bot
    finally:
        await bot.close()
    await asyncio.wait_for(runner, STARTUP_TIMEOUT)


@pytest.fixture
async def bot(discord_at_fake: FakeDiscord) -> AsyncIterator[ProbeBot]:
    async with running_bot(discord_at_fake.token) as client:
        yield client


async def sync_to_guild(bot: ProbeBot, fake: FakeDiscord) -> None:
    guild = discord.Object(id=fake.world.guild.id)
    bot.tree.copy_global_to(guild=guild)
    await bot.tree.sync(guild=guild)


def _auth(fake: FakeDiscord) -> dict[str, str]:
    return {"Authorization": f"Bot {fake.token}"}


def _row(buttons: int, label: str = "b", custom_id: str | None = None) -> dict[str, Any]:
    return {
        "type": 1,
        "components": [
            {"type": 2, "style": 1, "label": label, "custom_id": custom_id or f"b{n}"}
            for n in range(buttons)
        ],
    }


def _error_at(errors: dict[str, Any], path: tuple[str, ...]) -> list[dict[str, str]]:
    node = errors
    for key in path:
        node = node[key]
    found: list[dict[str, str]] = node["_errors"]
    return found


# --------------------------------------------------------------------------- login and REST


async def test_login_ready_and_guild_cached(bot: ProbeBot, discord_at_fake: FakeDiscord) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    assert bot.user is not None and bot.user.id == fake.bot_user.id
    assert bot.application_id == fake.application_id
    guild = bot.get_guild(world.guild.id)
    assert guild is not None and guild.name == "Test Guild"
    assert guild.owner_id == world.owner.id
    assert guild.me is not None
    assert guild.get_channel(world.channel.id) is not None

    identify = [frame for frame in fake.gateway_log if frame.direction == "in" and frame.op == 2]
    assert identify[0].payload["d"]["intents"] == discord.Intents.default().value
    (socket,) = fake.find_requests("GET", "/gateway")
    assert socket.query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    (me,) = fake.find_requests("GET", "/users/@me")
    assert me.headers["Authorization"] == f"Bot {fake.token}"


async def test_rest_requires_bot_token_and_answers_plain_json(fake_discord: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake_discord.api_base}/users/@me") as response:
            assert response.status == 401
            assert response.headers["Content-Type"] == "application/json"
            assert await response.json() == {"message": "401: Unauthorized", "code": 0}
        async with http.get(
            f"{fake_discord.api_base}/gateway/bot", headers=_auth(fake_discord)
        ) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/json"
            assert (await response.json())["url"] == fake_discord.gateway_url


async def test_wrong_token_is_a_login_failure(discord_at_fake: FakeDiscord) -> None:
    bot = ProbeBot(intents=discord.Intents.default())
    try:
        with pytest.raises(discord.LoginFailure):
            await asyncio.wait_for(bot.start("not-the-token"), STARTUP_TIMEOUT)
    finally:
        await bot.close()


async def test_privileged_intent_not_enabled_is_refused(discord_at_fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    bot = ProbeBot(intents=intents)
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(bot.start(discord_at_fake.token), STARTUP_TIMEOUT)
    finally:
        await bot.close()


async def test_enabled_privileged_intents_show_content_and_members(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enabled = {"message_content", "members"}
    async with FakeDiscord(token="t", privileged_intents=enabled) as fake:
        world = fake.add_standard_world()
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
        )
        intents = discord.Intents.default()
        intents.message_content = intents.members = True
        async with running_bot(fake.token, intents) as bot:
            guild = bot.get_guild(world.guild.id)
            assert guild is not None and guild.chunked
            assert {m.id for m in guild.members} == set(world.guild.members)
            await fake.post_user_message(world.channel.id, world.member.id, "plain words")
            seen = await asyncio.wait_for(bot.seen.get(), ANSWER_TIMEOUT)
            assert seen.content == "plain words"


# --------------------------------------------------------------------------- slash commands


async def test_guild_sync_then_direct_response(bot: ProbeBot, discord_at_fake: FakeDiscord) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)
    assert "ping" in {command["name"] for command in fake.synced_commands(world.guild.id)}

    ix = await fake.invoke_slash("ping", channel_id=world.channel.id, user_id=world.member.id)
    answer = await ix.wait_for_final(ANSWER_TIMEOUT)

    assert answer.content == "pong"
    assert not answer.pings
    assert ix.response_type == 4
    assert ix.response_delay is not None and ix.response_delay < 3
    interaction = await bot.probe.result("ping")
    assert isinstance(interaction.user, discord.Member)
    assert interaction.guild_id == world.guild.id
    (callback,) = fake.find_requests("POST", rf"/interactions/{ix.id}/.+/callback")
    assert callback.query == {"with_response": "1"}


async def test_defer_then_followup(bot: ProbeBot, discord_at_fake: FakeDiscord) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)

    ix = await fake.invoke_slash(
        "ask", {"question": "what happened?"}, channel_id=world.channel.id, user_id=world.admin.id
    )
    answer = await ix.wait_for_final(ANSWER_TIMEOUT)

    assert answer.content == "answer: what happened?"
    assert ix.response_type == 5
    assert ix.followups == [answer] and answer is ix.original
    assert [event.kind for event in ix.timeline] == ["dispatch", "callback", "followup"]


async def test_overlong_content_is_rejected_with_50035(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)

    ix = await fake.invoke_slash("long", channel_id=world.channel.id, user_id=world.member.id)
    error = await bot.probe.result("long")

    assert isinstance(error, discord.HTTPException)
    assert (error.status, error.code) == (400, 50035)
    assert "data.content" in str(error)
    assert (await ix.wait_for_final(ANSWER_TIMEOUT)).content == "too long"


async def test_oversized_embed_is_rejected(bot: ProbeBot, discord_at_fake: FakeDiscord) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)

    ix = await fake.invoke_slash("bigembed", channel_id=world.channel.id, user_id=world.member.id)
    error = await bot.probe.result("bigembed")

    assert isinstance(error, discord.HTTPException)
    assert error.code == 50035
    assert "data.embeds.0.description" in str(error)
    assert (await ix.wait_for_final(ANSWER_TIMEOUT)).content == "too big"


async def test_first_response_after_three_seconds_gets_10062(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)

    ix = await fake.invoke_slash("late", channel_id=world.channel.id, user_id=world.member.id)
    await ix.wait_until_expired(timeout=5)
    bot.probe.release.set()
    error = await bot.probe.result("late")

    assert isinstance(error, discord.NotFound)
    assert error.code == 10062
    assert not ix.acknowledged
    assert [(event.kind, event.status) for event in ix.timeline][-1] == ("callback", 404)


async def test_second_callback_gets_40060(bot: ProbeBot, discord_at_fake: FakeDiscord) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)
    ix = await fake.invoke_slash("ping", channel_id=world.channel.id, user_id=world.member.id)
    await ix.wait_for_final(ANSWER_TIMEOUT)

    # discord.py refuses a second response locally (InteractionResponded), so go around it.
    url = f"{fake.api_base}/interactions/{ix.id}/{ix.token}/callback?with_response=1"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"type": 4, "data": {"content": "again"}}) as response,
    ):
        assert response.status == 400
        assert response.headers["Content-Type"] == "application/json"
        body = await response.json()
    assert body == {"message": "Interaction has already been acknowledged.", "code": 40060}
    assert [e.status for e in ix.timeline if e.kind == "callback"] == [200, 400]


async def test_followups_need_an_acknowledgement_and_a_live_token(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)
    fake.token_lifetime = 0.5

    ix = await fake.invoke_slash("tokenrules", channel_id=world.channel.id, user_id=world.member.id)
    early = await bot.probe.result("early")
    await ix.wait_for_response(ANSWER_TIMEOUT)
    await ix.wait_until_token_expired(timeout=5)
    bot.probe.release.set()
    expired = await bot.probe.result("expired")

    assert isinstance(early, discord.NotFound) and early.code == 10015
    assert isinstance(expired, discord.HTTPException)
    assert (expired.status, expired.code) == (401, 50027)


async def test_original_response_edit_fetch_and_delete(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)

    ix = await fake.invoke_slash("edits", channel_id=world.channel.id, user_id=world.member.id)

    assert await bot.probe.result("edits") == "first"
    assert [event.kind for event in ix.timeline] == [
        "dispatch",
        "callback",
        "edit_original",
        "get_original",
        "followup",
        "edit_message",
        "delete_original",
    ]
    assert ix.original is not None
    assert ix.original.deleted and ix.original.ephemeral and ix.original.content == "first"
    (followup,) = ix.followups
    assert followup.content == "second, edited" and not followup.ephemeral


async def test_files_and_typing(bot: ProbeBot, discord_at_fake: FakeDiscord) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)
    channel = bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)

    ix = await fake.invoke_slash("upload", channel_id=world.channel.id, user_id=world.member.id)
    answer = await ix.wait_for_final(ANSWER_TIMEOUT)
    async with channel.typing():
        sent = await channel.send("also", file=discord.File(io.BytesIO(b"xyz"), filename="b.bin"))

    assert answer.content == "here" and answer.attachments[0].data == b"abc"
    (callback,) = fake.find_requests("POST", rf"/interactions/{ix.id}/.+/callback")
    assert [upload.filename for upload in callback.files] == ["a.txt"]
    assert await sent.attachments[0].read() == b"xyz"
    assert fake.find_requests("POST", rf"/channels/{world.channel.id}/typing")


async def test_dm_interaction_has_user_and_no_guild(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await bot.tree.sync()

    ix = await fake.invoke_slash("ping", channel_id=world.dm.id, user_id=world.member.id)
    answer = await ix.wait_for_final(ANSWER_TIMEOUT)

    assert answer.content == "pong"
    assert ix.payload["context"] == 1 and "member" not in ix.payload
    interaction = await bot.probe.result("ping")
    assert interaction.guild is None
    assert isinstance(interaction.user, discord.User)
    assert interaction.user.id == world.member.id


async def test_subcommand_group_with_attachment_option(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)
    upload = fake.add_attachment(b"hello world", "notes.txt", "text/plain")

    ix = await fake.invoke_slash(
        "kb articles add", {"file": upload}, channel_id=world.channel.id, user_id=world.admin.id
    )

    assert (await ix.wait_for_final(ANSWER_TIMEOUT)).content == "notes.txt: 11 bytes"
    (group,) = ix.payload["data"]["options"]
    assert (group["name"], group["type"]) == ("articles", 2)
    assert group["options"][0]["name"] == "add"


async def test_unsynced_command_is_refused_by_the_helper(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    with pytest.raises(UnknownCommandError):
        await fake.invoke_slash("ping", channel_id=world.channel.id, user_id=world.member.id)

    await sync_to_guild(bot, fake)
    # Guild commands do not exist in DMs; only a global sync would put /ping there.
    with pytest.raises(UnknownCommandError):
        await fake.invoke_slash("ping", channel_id=world.dm.id, user_id=world.member.id)
    with pytest.raises(FakeDiscordError, match="required option 'question'"):
        await fake.invoke_slash("ask", channel_id=world.channel.id, user_id=world.member.id)


async def test_default_permissions_hide_command_unless_overridden(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)
    channel = world.channel.id

    with pytest.raises(FakeDiscordError, match="default_member_permissions"):
        await fake.invoke_slash("reindex", channel_id=channel, user_id=world.member.id)
    admin = await fake.invoke_slash("reindex", channel_id=channel, user_id=world.admin.id)
    member = await fake.invoke_slash(
        "reindex", channel_id=channel, user_id=world.member.id, permission_override=True
    )

    assert (await admin.wait_for_final(ANSWER_TIMEOUT)).content == "reindexing"
    denied = await member.wait_for_final(ANSWER_TIMEOUT)
    assert denied.content == "not allowed" and denied.ephemeral


# --------------------------------------------------------------------------- autocomplete


async def test_autocomplete_round_trip_with_choices_at_the_limits(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)
    (pick,) = [c for c in fake.synced_commands(world.guild.id) if c["name"] == "pick"]
    assert pick["options"][0]["autocomplete"] is True

    ix = await fake.invoke_autocomplete(
        "pick", focused="word", typed="wo", channel_id=world.channel.id, user_id=world.member.id
    )
    choices = await ix.wait_for_choices(ANSWER_TIMEOUT)

    assert ix.payload["type"] == 4
    assert ix.payload["data"]["options"] == [
        {"name": "word", "type": 3, "value": "wo", "focused": True}
    ]
    assert ix.response_type == 8
    assert ix.response_delay is not None and ix.response_delay < 3
    assert len(choices) == 25
    assert choices[0] == {"name": "wo 0".ljust(100, "."), "value": "v" * 100}


@pytest.mark.parametrize(
    ("typed", "where"),
    [
        ("many", "data.choices"),
        ("long name", "data.choices.0.name"),
        ("long value", "data.choices.0.value"),
        ("empty name", "data.choices.0.name"),
    ],
)
async def test_autocomplete_limits_answer_like_discord(
    bot: ProbeBot, discord_at_fake: FakeDiscord, typed: str, where: str
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)

    ix = await fake.invoke_autocomplete(
        "pick", focused="word", typed=typed, channel_id=world.channel.id, user_id=world.member.id
    )
    error = await bot.probe.result(typed)

    assert isinstance(error, discord.HTTPException)
    assert (error.status, error.code) == (400, 50035)
    assert f"In {where}:" in str(error)
    # The refusal acknowledged nothing: discord.py's fallback answer still gets through.
    assert await ix.wait_for_choices(ANSWER_TIMEOUT) == []


async def test_autocomplete_after_the_deadline_gets_10062(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)
    # The 3 s window itself is the one every interaction has; a short one keeps this quick.
    fake.ack_deadline = 0.5

    ix = await fake.invoke_autocomplete(
        "pick", focused="word", typed="late", channel_id=world.channel.id, user_id=world.member.id
    )
    await ix.wait_until_expired(timeout=5)
    bot.probe.release.set()
    error = await bot.probe.result("late")

    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert ix.choices is None and not ix.acknowledged


async def test_autocomplete_takes_only_choices_and_opens_no_webhook(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)
    with pytest.raises(FakeDiscordError, match="'question' has no autocomplete"):
        await fake.invoke_autocomplete(
            "ask",
            focused="question",
            typed="wh",
            channel_id=world.channel.id,
            user_id=world.member.id,
        )

    # "late" holds the bot's own answer back until these requests are done.
    ix = await fake.invoke_autocomplete(
        "pick", focused="word", typed="late", channel_id=world.channel.id, user_id=world.member.id
    )
    callback = f"{fake.api_base}/interactions/{ix.id}/{ix.token}/callback?with_response=1"
    followup = f"{fake.api_base}/webhooks/{fake.application_id}/{ix.token}"
    choices = [{"name": "later", "value": "later"}]
    async with aiohttp.ClientSession() as http:
        async with http.post(callback, json={"type": 4, "data": {"content": "hi"}}) as message:
            assert message.status == 400
            assert _error_at((await message.json())["errors"], ("type",))
        async with http.post(callback, json={"type": 8, "data": {"choices": choices}}) as result:
            assert result.status == 200
        async with http.post(followup, json={"content": "more"}) as webhook:
            assert webhook.status == 404
            assert (await webhook.json())["code"] == 10015
    bot.probe.release.set()
    late = await bot.probe.result("late")

    assert await ix.wait_for_choices(ANSWER_TIMEOUT) == choices
    assert isinstance(late, discord.HTTPException) and late.code == 40060


# --------------------------------------------------------------------------- messages


async def test_mention_reaches_bot_without_message_content_intent(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    plain = await fake.post_user_message(world.channel.id, world.member.id, "no mention here")
    seen = await asyncio.wait_for(bot.seen.get(), ANSWER_TIMEOUT)
    assert seen.id == plain.id and seen.content == ""

    asked = await fake.post_user_message(
        world.channel.id, world.member.id, "what is new?", mention_bot=True
    )
    reply = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER_TIMEOUT)

    assert reply.content == f"heard: {fake.bot_user.mention} what is new?"
    assert reply.message_reference is not None
    assert reply.message_reference["message_id"] == str(asked.id)
    assert reply.allowed_mentions == {"parse": [], "replied_user": False}
    assert not reply.pings


async def test_channel_message_rules_surface_as_http_exceptions(
    bot: ProbeBot, discord_at_fake: FakeDiscord
) -> None:
    channel = bot.get_channel(discord_at_fake.world.channel.id)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    with pytest.raises(discord.HTTPException) as too_big:
        await channel.send(embeds=[discord.Embed(description="d" * 4000) for _ in range(2)])

    assert too_long.value.code == 50035 and "In content" in str(too_long.value)
    assert too_big.value.code == 50035 and "Embed size exceeds maximum size" in str(too_big.value)
    assert (await channel.send("x" * 2000)).content == "x" * 2000


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"content": "x" * 2001}, ("content",)),
        ({"embeds": [{"description": "e"}] * 11}, ("embeds",)),
        ({"embeds": [{"title": "t" * 257}]}, ("embeds", "0", "title")),
        ({"embeds": [{"description": "d" * 4097}]}, ("embeds", "0", "description")),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, ("embeds", "0", "fields")),
        (
            {"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]},
            ("embeds", "0", "fields", "0", "name"),
        ),
        (
            {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
            ("embeds", "0", "fields", "0", "value"),
        ),
        ({"embeds": [{"fields": [{"name": "n"}]}]}, ("embeds", "0", "fields", "0", "value")),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, ("embeds", "0", "footer", "text")),
        ({"embeds": [{"author": {"name": "a" * 257}}]}, ("embeds", "0", "author", "name")),
        ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, ("embeds", "1")),
        (
            {"content": "hi", "allowed_mentions": {"parse": ["users"], "users": ["1"]}},
            ("allowed_mentions",),
        ),
        ({"content": "c", "components": [_row(1)] * 6}, ("components",)),
        ({"content": "c", "components": [_row(6)]}, ("components", "0", "components")),
        (
            {"content": "c", "components": [_row(1, label="l" * 81)]},
            ("components", "0", "components", "0", "label"),
        ),
        (
            {"content": "c", "components": [_row(1, custom_id="i" * 101)]},
            ("components", "0", "components", "0", "custom_id"),
        ),
        (
            {"content": "c", "components": [_row(1), _row(1)]},
            ("components", "1", "components", "0", "custom_id"),
        ),
    ],
)
async def test_message_limits_answer_like_discord(
    fake_discord: FakeDiscord, body: dict[str, Any], path: tuple[str, ...]
) -> None:
    url = f"{fake_discord.api_base}/channels/{fake_discord.world.channel.id}/messages"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=body, headers=_auth(fake_discord)) as response,
    ):
        assert response.status == 400
        error = await response.json()
    assert (error["code"], error["message"]) == (50035, "Invalid Form Body")
    assert _error_at(error["errors"], path)


async def test_messages_at_the_limits_are_accepted_and_pings_are_computed(
    fake_discord: FakeDiscord,
) -> None:
    world = fake_discord.world
    url = f"{fake_discord.api_base}/channels/{world.channel.id}/messages"
    full_embed = {
        "title": "t" * 256,
        "description": "d" * 4096,
        "fields": [{"name": "n" * 256, "value": "v" * 1024}],
        "footer": {"text": "f" * 368},
    }
    loud = f"{world.member.mention} hi @everyone"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            url, json={"content": "x" * 2000, "embeds": [full_embed]}, headers=_auth(fake_discord)
        ) as response:
            assert response.status == 200
        async with http.post(url, json={"content": loud}, headers=_auth(fake_discord)) as response:
            assert response.status == 200
        async with http.post(url, json={"content": ""}, headers=_auth(fake_discord)) as response:
            assert response.status == 400
            assert (await response.json())["code"] == 50006

    quiet, noisy = fake_discord.bot_messages(world.channel.id)
    assert not quiet.pings
    assert noisy.pings.users == {world.member.id} and noisy.pings.everyone


# --------------------------------------------------------------------------- gateway


@pytest.mark.parametrize(
    ("disruption", "expected"),
    [
        ("close 4000", "resumed"),
        ("close 1000", "resumed"),
        ("op 7 reconnect", "resumed"),
        ("op 9 invalid session", "identified"),
        ("close 4009", "identified"),
    ],
)
async def test_client_recovers_from_gateway_disruption(
    bot: ProbeBot, discord_at_fake: FakeDiscord, disruption: str, expected: str
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    await sync_to_guild(bot, fake)

    if disruption.startswith("close"):
        await fake.drop_gateway(code=int(disruption.split()[1]))
    elif disruption == "op 7 reconnect":
        await fake.request_reconnect()
    else:
        await fake.invalidate_session()

    assert await fake.wait_until_reconnected(timeout=10) == expected
    ix = await fake.invoke_slash("ping", channel_id=world.channel.id, user_id=world.member.id)
    assert (await ix.wait_for_final(ANSWER_TIMEOUT)).content == "pong"


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=ANSWER_TIMEOUT)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    payload: dict[str, Any] = message.json()
    return payload


async def _closed_with(ws: aiohttp.ClientWebSocketResponse) -> int:
    message = await ws.receive(timeout=ANSWER_TIMEOUT)
    assert message.type is aiohttp.WSMsgType.CLOSE, message
    return int(message.data)


def _identify(token: str, intents: int = 1) -> dict[str, Any]:
    properties = {"os": "linux", "browser": "raw", "device": "raw"}
    return {"op": 2, "d": {"token": token, "intents": intents, "properties": properties}}


async def test_raw_gateway_handshake_and_close_codes(fake_discord: FakeDiscord) -> None:
    url = f"{fake_discord.gateway_url}?v=10&encoding=json"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as ws:
            hello = await _receive(ws)
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
            await ws.send_json({"op": 1, "d": None})
            assert (await _receive(ws))["op"] == 11
            await ws.send_json({"op": 8, "d": {"guild_id": "1", "query": "", "limit": 0}})
            assert await _closed_with(ws) == 4003
        async with http.ws_connect(url) as ws:
            await _receive(ws)
            await ws.send_json(_identify("wrong"))
            assert await _closed_with(ws) == 4004
        async with http.ws_connect(url) as ws:
            await _receive(ws)
            await ws.send_json(_identify(fake_discord.token, intents=1 << 15))
            assert await _closed_with(ws) == 4014


async def test_raw_resume_replays_missed_events(fake_discord: FakeDiscord) -> None:
    world = fake_discord.world
    url = f"{fake_discord.gateway_url}?v=10&encoding=json"
    command = {"name": "ping", "description": "Answers at once"}
    async with aiohttp.ClientSession() as http:
        commands_url = (
            f"{fake_discord.api_base}/applications/{fake_discord.application_id}/commands"
        )
        async with http.put(commands_url, json=[command], headers=_auth(fake_discord)) as response:
            assert response.status == 200
        async with http.ws_connect(url) as ws:
            await _receive(ws)
            await ws.send_json(_identify(fake_discord.token))
            ready = await _receive(ws)
            guild_create = await _receive(ws)
            assert (ready["t"], guild_create["t"]) == ("READY", "GUILD_CREATE")
            await ws.close(code=4000)

        missed = await fake_discord.invoke_slash(
            "ping", channel_id=world.channel.id, user_id=world.member.id
        )
        async with http.ws_connect(ready["d"]["resume_gateway_url"] + "?v=10&encoding=json") as ws:
            await _receive(ws)
            resume = {"token": fake_discord.token, "session_id": ready["d"]["session_id"]}
            await ws.send_json({"op": 6, "d": {**resume, "seq": guild_create["s"]}})
            replayed = await _receive(ws)
            resumed = await _receive(ws)
            assert replayed["t"] == "INTERACTION_CREATE"
            assert replayed["d"]["id"] == str(missed.id)
            assert (resumed["t"], resumed["s"]) == ("RESUMED", replayed["s"] + 1)

        async with http.ws_connect(url) as ws:
            await _receive(ws)
            await ws.send_json({"op": 6, "d": {**resume, "session_id": "unknown", "seq": 1}})
            assert await _receive(ws) == {"op": 9, "d": False}

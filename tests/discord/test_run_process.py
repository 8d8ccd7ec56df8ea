"""The real processes: `articlebot sync`, and `articlebot start` (the bot and its worker),
pointed at the fake through DISCORD_API_BASE and DISCORD_GATEWAY_URL, as an operator would.

The bot answers a slash command and a mention, stops cleanly on SIGTERM, and never prints its
token; a missing or rejected token ends with one line that says what to do.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.discord.conftest import SEEDS
from tests.discord.fake_discord import FakeDiscord

ARTICLEBOT = Path(sys.executable).parent / "articlebot"
# The process imports torch, loads the model and indexes seeds/ before it connects.
START = 120.0
ANSWER = 30.0
KIRBY = "Who said the targets were chosen because the facilities were used by militants?"


def bot_env(fake: FakeDiscord, token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "DISCORD_"))}
    env |= {
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "ARTICLEBOT_SOURCES": str(SEEDS),
        "ARTICLEBOT_ASK_COOLDOWN_SECONDS": "0",
    }
    if token is not None:
        env["DISCORD_TOKEN"] = token
    return env


async def articlebot(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `articlebot ARGS` to completion (bounded); returns (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        ARTICLEBOT,
        *args,
        "--data-dir",
        str(tmp_path / "data"),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), START)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_run_answers_through_the_fake_and_stops_cleanly_on_sigterm(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake, world = fake_discord, fake_discord.world
    # DEBUG: the most output there is in which the token could leak.
    env = bot_env(fake, fake.token) | {"ARTICLEBOT_LOG_LEVEL": "DEBUG"}

    code, out, err = await articlebot(tmp_path, env, "sync")
    assert code == 0, err
    assert fake.token not in out + err
    assert out.startswith(
        "Synced 7 commands globally: /articles, /ask, /feedback, /feeds, /index, /reindex, /watch."
    )

    log = tmp_path / "run.log"
    process = await _start_bot(tmp_path, env, log)
    try:
        await fake.wait_until_identified(timeout=START)
        ix = await fake.invoke_slash(
            "ask", {"question": KIRBY}, channel_id=world.channel.id, user_id=world.member.id
        )
        answer = await ix.wait_for_final(ANSWER)
        await fake.post_user_message(world.channel.id, world.member.id, KIRBY, mention_bot=True)
        reply = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)
    finally:
        code = await _stop_bot(process)

    output = log.read_text(encoding="utf-8")
    assert code == 0, output
    assert ix.response_type == 5
    assert answer.embeds[0]["fields"][0]["name"].startswith("The United States is attacking")
    assert reply.embeds[0]["fields"][0]["name"].startswith("The United States is attacking")
    assert not answer.pings and not reply.pings
    assert fake.token not in output
    assert "Traceback" not in output
    assert "INFO bot.discord_app.main: stopping: closing the Discord connection" in output
    assert "INFO bot.discord_app.main: stopped" in output
    # The worker is stopped after the bot, by the process that started it.
    assert output.rstrip().endswith("stopped")
    # Nothing was synced on start: only the one `articlebot sync` above.
    assert len(fake.find_requests("PUT", r"/applications/\d+/commands")) == 1


async def _start_bot(tmp_path: Path, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """`articlebot start`: the bot, and the worker it runs as a child (which builds the first
    index and does every update)."""
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            ARTICLEBOT,
            "start",
            "--data-dir",
            str(tmp_path / "data"),
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )


async def _stop_bot(process: asyncio.subprocess.Process) -> int:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), ANSWER)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_button_from_before_a_restart_still_works(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake, world = fake_discord, fake_discord.world
    env = bot_env(fake, fake.token) | {"ARTICLEBOT_BUTTON_COOLDOWN_SECONDS": "0"}
    code, _, err = await articlebot(tmp_path, env, "sync")
    assert code == 0, err
    log = tmp_path / "run.log"

    process = await _start_bot(tmp_path, env, log)
    try:
        await fake.wait_until_identified(timeout=START)
        ix = await fake.invoke_slash(
            "ask",
            {"question": KIRBY, "results": 1},
            channel_id=world.channel.id,
            user_id=world.member.id,
        )
        answer = await ix.wait_for_final(ANSWER)
        first_hit = answer.embeds[0]["fields"][0]["value"]
    finally:
        first_code = await _stop_bot(process)
    await fake.wait_until_disconnected(timeout=ANSWER)

    more = next(
        b["custom_id"] for b in fake.buttons(answer) if b["custom_id"].startswith("ab:more:")
    )
    process = await _start_bot(tmp_path, env, log)
    try:
        await fake.wait_until_identified(timeout=START)
        press = await fake.press_button(answer, more, user_id=world.member.id)
        updated = await press.wait_for_update(ANSWER)
    finally:
        second_code = await _stop_bot(process)

    output = log.read_text(encoding="utf-8")
    assert (first_code, second_code) == (0, 0), output
    assert press.response_type == 6
    assert press.update_delay is not None
    assert press.response_delay is not None
    print(
        f"\nafter a restart, More: acknowledged in {press.response_delay * 1000:.0f} ms, "
        f"message updated in {press.update_delay * 1000:.0f} ms"
    )
    assert updated.embeds[0]["footer"]["text"].endswith("page 2")
    assert updated.embeds[0]["fields"][0]["value"] != first_hit
    assert "Traceback" not in output


async def test_feeds_survive_a_restart_of_the_bot(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    from tests.feed_site import FeedSite, rss20, stories

    fake, world = fake_discord, fake_discord.world
    env = bot_env(fake, fake.token) | {
        "ARTICLEBOT_ALLOW_PRIVATE_URLS": "1",
        "ARTICLEBOT_FEED_POLL_MINUTES": "60",
    }
    code, _, err = await articlebot(tmp_path, env, "sync")
    assert code == 0, err
    with FeedSite() as site:
        news = list(stories("restart", 1))
        site.put_story(news[0])
        url = site.put("/rss", "application/rss+xml", rss20("Gazette", "s", news, site.base))

        async def listed_after_start(add: bool) -> str:
            process = await _start_bot(tmp_path, env, tmp_path / "run.log")
            try:
                await fake.wait_until_identified(timeout=START)
                if add:
                    ix = await fake.invoke_slash(
                        "feeds add",
                        {"url": url},
                        channel_id=world.channel.id,
                        user_id=world.admin.id,
                    )
                    await ix.wait_for_final(ANSWER)
                listing = await fake.invoke_slash(
                    "feeds list", channel_id=world.channel.id, user_id=world.admin.id
                )
                page = (await listing.wait_for_final(ANSWER)).embeds[0]
            finally:
                assert await _stop_bot(process) == 0
            return str(page["fields"][0]["value"]) if page.get("fields") else ""

        before = await listed_after_start(add=True)
        after = await listed_after_start(add=False)

    assert url in before
    assert url in after


async def test_rejected_token_is_one_clear_line(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    wrong = "not-the-token.but-a-secret-all-the-same"

    code, out, err = await articlebot(tmp_path, bot_env(fake_discord, wrong), "run")

    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "articlebot: Discord rejected DISCORD_TOKEN: copy the token again from the Developer "
        "Portal (your application → Bot → Reset Token) into the environment or .env."
    )
    assert "Traceback" not in err
    assert wrong not in out + err
    # Refused at login, before the model was loaded or anything indexed.
    assert not (tmp_path / "data").exists()


async def test_missing_token_is_one_clear_line(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    code, out, err = await articlebot(tmp_path, bot_env(fake_discord, None), "run")

    assert (code, out) == (1, "")
    assert err.strip() == (
        "articlebot: DISCORD_TOKEN is not set: put the bot's token in the environment or in .env "
        "(see .env.example)."
    )


async def test_sync_to_a_server_the_bot_is_not_in_is_one_clear_line(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    env = bot_env(fake_discord, fake_discord.token)

    code, out, err = await articlebot(tmp_path, env, "sync", "--guild", "123")

    assert (code, out) == (1, "")
    assert err.strip().splitlines()[-1] == (
        "articlebot: Discord refused to change the commands in server 123: the bot is not in "
        "that server, or was invited without the applications.commands scope."
    )

"""Start-up and shutdown of the Discord bot (`articlebot run`), and `articlebot sync`.

`serve` is the one async main: it points discord.py at the configured endpoints, logs in (a
rejected token fails here, in a second, before the index is loaded), loads the query side in a
worker thread (no torch, no readers: the worker process does every update), connects, and
closes cleanly on SIGINT or SIGTERM. Whatever goes wrong at start-up ends as one line on stderr
that says what to do; the token is never part of it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import aiohttp
import discord
import yarl

from bot.discord_app.client import ArticleBot
from bot.discord_app.shards import bot_for
from bot.discord_app.sync import sync_tree
from config.settings import Settings
from index.engine import AnsweringEngine
from index.errors import ArticlebotError

log = logging.getLogger(__name__)
T = TypeVar("T")

HEAVY_MODULES = ("torch", "sentence_transformers", "transformers", "trafilatura", "feedparser")
# How often a bot started before the first index looks for it.
INDEX_WAIT_SECONDS = 1.0


def run_bot(settings: Settings) -> int:
    return _run(settings, serve)


def sync_commands(settings: Settings, guild_id: int | None, clear: bool) -> int:
    async def job(settings: Settings) -> int:
        print(await sync_once(settings, guild_id, clear))
        return 0

    return _run(settings, job)


def _run(settings: Settings, job: Callable[[Settings], Coroutine[Any, Any, int]]) -> int:
    if not settings.discord_token:
        return _fail(
            "DISCORD_TOKEN is not set: put the bot's token in the environment or in .env "
            "(see .env.example)."
        )
    try:
        return asyncio.run(job(settings))
    except discord.LoginFailure:
        return _fail(
            "Discord rejected DISCORD_TOKEN: copy the token again from the Developer Portal "
            "(your application → Bot → Reset Token) into the environment or .env."
        )
    except discord.PrivilegedIntentsRequired:
        return _fail(
            "Discord refused a privileged intent the bot asked for: enable it in the Developer "
            "Portal (your application → Bot → Privileged Gateway Intents)."
        )
    except (aiohttp.ClientConnectionError, discord.GatewayNotFound) as error:
        return _fail(
            f"cannot reach Discord at {settings.discord_api_base} ({error}); check the network, "
            "or DISCORD_API_BASE if a proxy is meant to be in front of Discord."
        )


def _fail(message: str) -> int:
    print(f"articlebot: {message}", file=sys.stderr)
    return 1


def point_discord_at(settings: Settings) -> None:
    """Send REST calls and the gateway connection where the settings say (a proxy, or a test
    server); discord.py reads both from class attributes."""
    api, gateway = settings.discord_api_base.rstrip("/"), settings.discord_gateway_url
    if not api.startswith(("https://", "http://")):
        raise ArticlebotError(f"DISCORD_API_BASE must be an http(s) URL, not {api!r}.")
    if not gateway.startswith(("wss://", "ws://")):
        raise ArticlebotError(f"DISCORD_GATEWAY_URL must be a ws(s) URL, not {gateway!r}.")
    discord.http.Route.BASE = api
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


async def sync_once(settings: Settings, guild_id: int | None, clear: bool) -> str:
    """Log in over REST only (no gateway, no model) and sync the commands."""
    point_discord_at(settings)
    async with ArticleBot(settings) as bot:
        await bot.login(settings.discord_token or "")
        return await sync_tree(bot.tree, guild_id, clear)


async def serve(settings: Settings) -> int:
    point_discord_at(settings)
    stop = _stop_on_signals()
    async with bot_for(settings) as bot:
        await bot.login(settings.discord_token or "")
        halt = threading.Event()
        loading = asyncio.to_thread(_load_engine, settings, halt)
        engine = await _unless_stopped(loading, stop)
        if engine is None:
            halt.set()
            log.info("stopped before connecting")
            return 0
        bot.attach_engine(engine)
        connection = asyncio.create_task(bot.connect())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.done():
            log.info("stopping: closing the Discord connection")
            await bot.close()
        else:
            stopping.cancel()
        # Re-raises what ended the connection (e.g. a refused intent); None after close().
        await connection
    # The answering process must never have loaded the update side's libraries.
    log.info("heavy modules loaded: %s", ", ".join(heavy_modules()) or "none")
    log.info("stopped")
    return 0


def heavy_modules() -> list[str]:
    """Which of the libraries only the worker needs this process has imported."""
    return [name for name in HEAVY_MODULES if name in sys.modules]


def _load_engine(settings: Settings, halt: threading.Event) -> AnsweringEngine | None:
    """Blocking: the query side over the published index. On a first run the worker builds
    it (`articlebot start` runs one); this waits until it is there."""
    engine = AnsweringEngine(settings)
    if not engine.has_index():
        log.info("no index yet: waiting for the worker (articlebot worker) to build it")
        while not engine.has_index():
            if halt.wait(INDEX_WAIT_SECONDS):
                return None
    searcher = engine.searcher()
    log.info(
        "answering from index state %s, searched in %s", searcher.folder.name, engine.searched_in
    )
    return engine


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """`work`'s result, or None if `stop` is set first.

    A worker thread cannot be interrupted: it runs to its end while the process shuts down
    (an index build is written aside, so stopping mid-build loses nothing).
    """
    task = asyncio.ensure_future(work)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if task.done():
        return task.result()
    task.cancel()
    return None

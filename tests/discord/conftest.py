"""Fixtures for tests that run discord.py against the fake Discord server.

``fake_discord`` is a started :class:`FakeDiscord` with ``fake_discord.world`` populated (guild,
#general, guild owner, an admin with Manage Server, a plain member, the member's DM channel).
``discord_at_fake`` additionally points this process's discord.py at it and restores the real
endpoints afterwards; a bot started in a subprocess needs ``fake.api_base`` and
``fake.gateway_url`` passed to it instead.

For the real bot: ``embedder`` (the model, once per session), ``bot_settings`` (a data dir in
``tmp_path``; sources seeds/ plus ``shared_dir``), ``engine`` (indexed), ``articlebot`` (the
ArticleBot connected to the fake, commands synced globally) and ``article_server`` (a loopback
web server for `/articles add url:`).
"""

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl
from aiohttp import web

from bot.discord_app.client import ArticleBot
from bot.discord_app.main import point_discord_at
from bot.discord_app.sync import sync_tree
from config import Settings, load_settings
from index.encode.embedder import Embedder
from index.encode.export import ExportableEmbedder, query_model_for_build
from index.encode.onnx import QueryModelRecord
from index.engine import Engine, ensure_index
from index.worker import Worker
from tests.discord.fake_discord import FakeDiscord

FAKE_TOKEN = "fake-bot-token.for-tests"
STARTUP = 10.0

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The hook sees the whole session, so mark only what lives under this directory.
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.discord)


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(token=FAKE_TOKEN)
    await fake.start()
    fake.add_standard_world()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def discord_at_fake(fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> FakeDiscord:
    monkeypatch.setattr(discord.http.Route, "BASE", fake_discord.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake_discord.gateway_url)
    )
    return fake_discord


# --------------------------------------------------------------------------- the real bot
# Everything below runs the real ArticleBot, the real engine and the real model against the
# fake. The model loads once per session; every test gets its own data directory and sources.

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
LIGHTHOUSE = """March 3, 2024
Zorblatt lighthouse repainted in cobalt blue
1 min read

The Zorblatt lighthouse keeper Marta Ilves repainted the tower in cobalt blue last spring. \
She said the old white paint had peeled away after forty winters of salt spray. The harbour \
council paid for the ladders and the paint.
"""


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled model, loaded once: a load takes seconds, a test should not pay for it."""
    return Embedder()


@pytest.fixture
def shared_dir(tmp_path: Path) -> Path:
    """The operator's shared collection for one test (seeds/ is added beside it)."""
    folder = tmp_path / "shared"
    folder.mkdir()
    return folder


@pytest.fixture
def bot_settings(tmp_path: Path, shared_dir: Path, fake_discord: FakeDiscord) -> Settings:
    return make_settings(tmp_path, fake_discord, sources=[str(SEEDS), str(shared_dir)])


def make_settings(tmp_path: Path, fake: FakeDiscord, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "sources": [str(SEEDS)],
        "allow_private_urls": True,
        "ask_cooldown_seconds": 0.0,
        "button_cooldown_seconds": 0.0,
        "max_attachment_bytes": 20_000,
        "fetch_timeout": 10.0,
        "discord_api_base": fake.api_base,
        "discord_gateway_url": fake.gateway_url,
        "discord_token": fake.token,
    }
    return load_settings(environ={}, env_file=None, **(values | overrides))


@pytest.fixture(scope="session")
def query_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export cache for the session: an export takes half a minute."""
    return tmp_path_factory.mktemp("query-models")


@pytest.fixture
def engine(
    bot_settings: Settings,
    embedder: Embedder,
    query_model_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Engine:
    def place(model: ExportableEmbedder, cache: Path, build: Path) -> QueryModelRecord:
        return query_model_for_build(model, query_model_cache, build)

    # The real export, made once per session instead of once per test's data directory.
    monkeypatch.setattr("index.updating.query_model_for_build", place)
    engine = Engine(bot_settings, embedder=embedder)
    ensure_index(engine)
    return engine


@contextlib.asynccontextmanager
async def running_articlebot(
    fake: FakeDiscord, settings: Settings, engine: Engine
) -> AsyncIterator[ArticleBot]:
    """The bot, connected to the fake, with its commands synced globally (as `articlebot
    sync` would), closed afterwards; beside it the worker that runs the updates it asks for
    (in a thread here, sharing the engine's model: `test_run_process` runs the real two)."""
    point_discord_at(settings)
    bot = ArticleBot(settings, engine, guild_ready_timeout=0.1, progress_interval=0.05)
    worker = Worker(settings, engine.updates)
    working = threading.Thread(target=worker.run, name="worker", daemon=True)
    working.start()
    runner = asyncio.create_task(bot.start(settings.discord_token or ""))
    try:
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait({runner, ready}, timeout=STARTUP, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            if runner.done():
                runner.result()
            raise TimeoutError("the bot did not become ready")
        await sync_tree(bot.tree, None, clear=False)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(runner, STARTUP)
        worker.stop.set()
        await asyncio.to_thread(working.join, STARTUP)


@pytest.fixture
async def articlebot(
    discord_at_fake: FakeDiscord, bot_settings: Settings, engine: Engine
) -> AsyncIterator[ArticleBot]:
    async with running_articlebot(discord_at_fake, bot_settings, engine) as bot:
        yield bot


class ArticleServer:
    """A loopback web server with articles to fetch; `hold()` makes /slow.txt wait, and
    /drip.txt trickles for seconds."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, str]] = {}
        self.served: list[str] = []
        self._released = asyncio.Event()
        self._released.set()
        self._asked = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base = ""

    def add(self, path: str, body: str, content_type: str = "text/plain") -> str:
        self.pages[path] = (body, content_type)
        return f"{self.base}/{path}"

    def hold(self) -> None:
        self._released.clear()
        self._asked.clear()

    def release(self) -> None:
        self._released.set()

    async def wait_until_asked(self) -> None:
        await asyncio.wait_for(self._asked.wait(), STARTUP)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.served.append(path)
        if path == "drip.txt":
            return await self._drip(request)
        if path not in self.pages:
            raise web.HTTPNotFound()
        if path == "slow.txt":
            self._asked.set()
            await asyncio.wait_for(self._released.wait(), 30)
        body, content_type = self.pages[path]
        return web.Response(text=body, content_type=content_type)

    @staticmethod
    async def _drip(request: web.Request) -> web.StreamResponse:
        """A page that never finishes in time: a few bytes every 0.2 s for 3 s."""
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        for _ in range(15):
            await response.write(b"drip ")
            await asyncio.sleep(0.2)
        await response.write_eof()
        return response

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{path}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def article_server() -> AsyncIterator[ArticleServer]:
    server = ArticleServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()

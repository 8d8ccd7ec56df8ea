"""Index builds started from Discord: one at a time, with progress shown as message edits.

The build runs in a worker thread (it embeds with the model for seconds or minutes); questions
keep being answered from the live index meanwhile, and the engine swaps the new one in when it
is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType

import discord

from bot.discord_app.render import progress_line
from index.engine import Engine
from index.errors import BuildBusyError
from index.models import BuildReport

log = logging.getLogger(__name__)

Show = Callable[[str], Awaitable[object]]


class BuildGate:
    """Admits one build at a time; a second request is refused at once with `BuildBusyError`.

    The engine also locks the data directory (against a CLI build in another process), but it
    only does so after reading every source; this answers "busy" before anything is done.
    """

    def __init__(self) -> None:
        self._running = False

    @property
    def busy(self) -> bool:
        return self._running

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        if self._running:
            raise BuildBusyError()
        self._running = True
        try:
            yield
        finally:
            self._running = False


class ProgressRelay:
    """The build's progress callback: forwards (stage, done, total) from the worker thread to
    the event loop and shows the latest line at most once per `interval` seconds, because
    Discord rate-limits message edits."""

    def __init__(self, show: Show, interval: float) -> None:
        self._show = show
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        self._latest = ""
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        self._loop.call_soon_threadsafe(self._update, progress_line(stage, done, total))

    def _update(self, line: str) -> None:
        self._latest = line
        self._changed.set()

    async def _pump(self) -> None:
        shown = ""
        while True:
            await self._changed.wait()
            self._changed.clear()
            if self._latest != shown:
                shown = self._latest
                try:
                    await self._show(shown)
                except discord.HTTPException as error:
                    # Progress is a courtesy; the final report is what matters.
                    log.warning("could not show build progress: %s", error)
            await asyncio.sleep(self._interval)

    async def __aenter__(self) -> ProgressRelay:
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])


async def rebuild(engine: Engine, show: Show, interval: float) -> BuildReport:
    """An incremental build of everything (shared sources and every server's articles)."""
    async with ProgressRelay(show, interval) as relay:
        return await asyncio.to_thread(engine.rebuild, progress=relay)

"""Updates asked for from Discord, as jobs for the worker process, with their progress shown
as message edits.

The bot submits the job and watches it from a thread (a query on the job every fraction of a
second); questions keep being answered from the live index meanwhile, and the query side swaps
the new index in when the worker publishes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import discord

from bot.discord_app.render import progress_line
from index.errors import InputError
from index.jobs import Job, JobDesk

log = logging.getLogger(__name__)

Show = Callable[[str], Awaitable[object]]

# An interaction's followups (and its original response's edits) are valid 15 minutes.
WATCH_SECONDS = 14 * 60.0


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


async def watch(desk: JobDesk, job: Job, show: Show, interval: float) -> dict[str, Any]:
    """The job's result once the worker has finished it, its progress shown meanwhile. The
    watch ends before the interaction's followups expire; the job goes on regardless."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WATCH_SECONDS
    shown: tuple[str, int, int] | None = None
    async with ProgressRelay(show, interval) as relay:
        while True:
            view = await asyncio.to_thread(desk.look, job)
            if view.step is not None and view.step != shown:
                shown = view.step
                relay(*shown)
            if view.job.finished:
                return desk.result(view.job)
            if loop.time() > deadline:
                raise InputError(
                    "The update is still running; it will be in the index when it is done "
                    "(see /index status)."
                )
            await asyncio.sleep(desk.watch_interval)

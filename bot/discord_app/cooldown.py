"""A per-user cooldown for questions, kept in memory (it is a courtesy limit, not security)."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.discord_app.errors import CooldownError

# Forget users whose cooldown has passed once this many are remembered.
_PRUNE_AT = 10_000


class Cooldown:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def take(self, user_id: int) -> None:
        """Record a question from `user_id`, or raise `CooldownError` if it comes too soon."""
        if self.seconds <= 0:
            return
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            raise CooldownError(self.seconds - (now - last))
        if len(self._last) >= _PRUNE_AT:
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
        self._last[user_id] = now

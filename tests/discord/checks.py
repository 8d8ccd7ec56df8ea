"""Assertions shared by the rendering and end-to-end tests: Discord's limits, and inert text."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from bot.discord_app.render import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
)


def assert_embed_fits(data: dict[str, Any]) -> None:
    """An embed, as sent to Discord, is within every limit Discord enforces."""
    total = len(data.get("title") or "") + len(data.get("description") or "")
    assert len(data.get("title") or "") <= TITLE_LIMIT
    assert len(data.get("description") or "") <= DESCRIPTION_LIMIT
    fields = data.get("fields") or []
    assert len(fields) <= FIELD_LIMIT
    for field in fields:
        assert 0 < len(field["name"]) <= FIELD_NAME_LIMIT
        assert 0 < len(field["value"]) <= FIELD_VALUE_LIMIT
        total += len(field["name"]) + len(field["value"])
    footer = (data.get("footer") or {}).get("text") or ""
    assert len(footer) <= FOOTER_LIMIT
    assert total + len(footer) <= EMBED_TOTAL_LIMIT


def assert_inert(text: str) -> None:
    """Nothing in `text` can mention, link, invite or format."""
    assert "@everyone" not in text.lower() and "@here" not in text.lower()
    assert not re.search(r"(?<!\\)<[@#:/t]", text)
    assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", text)
    assert not re.search(r"discord(app)?\s*\.\s*(gg|com\s*/\s*invite)", text, re.IGNORECASE)


def unescape(text: str) -> str:
    """What Discord shows for escaped text: no backslash escapes, no zero-width spaces."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


async def eventually(check: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """Wait (bounded) until `check()` holds: for states the fake has no waiter for, such as a
    reply edited to its final text."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {seconds:g}s waiting for {what}")
        await asyncio.sleep(0.02)

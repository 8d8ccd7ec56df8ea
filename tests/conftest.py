"""Shared by the unit and integration layers (tests/discord has its own conftest)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feed_site import FeedSite


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run `bot.cli.main` as on a clean machine: in `tmp_path`, without the caller's settings.

    `main()` reads `.env` from the working directory and installs its own log handler on the
    root logger; both would leak between tests, so the directory is a fresh one and the
    logging set-up is put back afterwards.
    """
    for name in list(os.environ):
        if name.startswith(("ARTICLEBOT_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield tmp_path
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def feed_site() -> Iterator[FeedSite]:
    """A loopback news site serving feeds and article pages (see tests/feed_site.py)."""
    with FeedSite() as site:
        yield site

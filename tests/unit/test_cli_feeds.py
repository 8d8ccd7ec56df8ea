"""`articlebot feeds add|list|remove` without the model: they only manage the feed list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.feed_site import FeedSite, rss20, stories


def test_add_list_and_remove_a_feed(
    cli_env: Path,
    feed_site: FeedSite,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server's feeds are fetched under the user-facing guard; the site is on loopback.
    monkeypatch.setenv("ARTICLEBOT_ALLOW_PRIVATE_URLS", "1")
    data = ["--data-dir", str(cli_env / "data")]
    url = feed_site.put(
        "/rss", "application/rss+xml", rss20("Gazette", "s", list(stories("c", 1)), "")
    )
    where = ["--collection", "guild:5"]

    assert main(["feeds", "add", url, *where, "--channel", "77", *data]) == 0
    assert capsys.readouterr().out.startswith("Following Gazette;")
    assert main(["feeds", "list", "--json", *data]) == 0
    (listed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed["url"] == url
    assert (listed["collection"], listed["channel_id"], listed["items"]) == ("guild:5", 77, 0)

    assert main(["feeds", "add", url, *where, *data]) == 1
    assert "is already followed here" in capsys.readouterr().err
    assert main(["feeds", "remove", str(listed["id"]), *data]) == 1
    assert "no feed" in capsys.readouterr().err
    assert main(["feeds", "remove", url, *where, *data]) == 0
    assert capsys.readouterr().out == "Stopped following Gazette.\n"
    assert main(["feeds", "list", *data]) == 0
    assert capsys.readouterr().out == "No feeds are followed.\n"


def test_adding_what_is_not_a_feed_says_why(
    cli_env: Path, feed_site: FeedSite, capsys: pytest.CaptureFixture[str]
) -> None:
    page = feed_site.put("/", "text/html", "<html><head></head><body>Hello</body></html>")

    assert main(["feeds", "add", page, "--data-dir", str(cli_env / "data")]) == 1

    err = capsys.readouterr().err
    assert err.startswith(f"articlebot: {page}: neither a feed nor a page that links to one")

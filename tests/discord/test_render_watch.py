"""Watch notes and lists stay within Discord's limits and inert, whatever a question says."""

from __future__ import annotations

import discord
import numpy as np

from bot.discord_app.render_watch import watch_choice, watch_list_embed, watch_note
from index.engine import Watch, WatchTarget
from tests.discord.checks import assert_embed_fits, assert_inert

HOSTILE = "@everyone [click](https://evil.example) **bold** <@123> discord.gg/x " * 8


def _watch(n: int, target: WatchTarget = WatchTarget.DM) -> Watch:
    return Watch(
        id=n,
        collection="guild:1",
        owner="5",
        target=target,
        channel_id=77 if target is WatchTarget.CHANNEL else 0,
        question=HOSTILE,
        model="m",
        vector=np.zeros(4, np.float32),
        outlets=(HOSTILE,),
        since="2026-12-01T00:00:00+00:00",
        created_at=0.0,
        renewed_at=0.0,
        expires_at=86_400.0 * 30,
    )


def test_the_note_on_a_post_is_short_and_inert() -> None:
    embed = watch_note(discord.Embed(title="q"), HOSTILE).to_dict()

    assert embed["description"].startswith("Watching: “")
    assert len(embed["description"]) <= 200
    assert_inert(embed["description"])


def test_a_list_of_watches_fits_and_says_where_each_posts() -> None:
    watches = [_watch(n, WatchTarget.CHANNEL if n % 2 else WatchTarget.DM) for n in range(30)]

    embed = watch_list_embed(watches).to_dict()

    assert_embed_fits(embed)
    assert len(embed["fields"]) == 10
    assert embed["footer"]["text"].startswith("20 more;")
    assert embed["fields"][0]["name"].startswith("#0 · ")
    assert "by direct message" in embed["fields"][0]["value"]
    assert "in <#77>" in embed["fields"][1]["value"]
    assert "since 2026-12-01" in embed["fields"][0]["value"]
    for field in embed["fields"]:
        assert_inert(field["name"])
    assert len(watch_choice(watches[0])) <= 100


def test_an_empty_list_says_how_to_add_one() -> None:
    assert "/watch add" in watch_list_embed([]).to_dict()["description"]

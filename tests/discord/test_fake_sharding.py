"""The fake Discord shards as Discord does: `GET /gateway/bot` reports the shard count and the
session start limit, an IDENTIFY names its shard, each session hears only its shard's servers
(DMs on shard 0), and IDENTIFYs beyond `max_concurrency` per 5 s are refused with op 9."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.discord.fake_discord import FakeDiscord

TIMEOUT = 5.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token="t", shards=2, max_concurrency=2) as server:
        yield server


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=TIMEOUT)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    payload: dict[str, Any] = message.json()
    return payload


def _identify(shard: list[int] | None) -> dict[str, Any]:
    properties = {"os": "linux", "browser": "raw", "device": "raw"}
    data: dict[str, Any] = {"token": "t", "intents": 1 | 1 << 9 | 1 << 12, "properties": properties}
    if shard is not None:
        data["shard"] = shard
    return {"op": 2, "d": data}


async def test_gateway_bot_reports_the_shards_and_the_session_start_limit(
    fake: FakeDiscord,
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{fake.api_base}/gateway/bot", headers={"Authorization": "Bot t"}) as response,
    ):
        body = await response.json()
    assert body["shards"] == 2
    assert body["session_start_limit"]["max_concurrency"] == 2
    assert body["session_start_limit"]["remaining"] == body["session_start_limit"]["total"]


async def test_each_shard_hears_its_own_servers_and_dms_arrive_on_shard_0(
    fake: FakeDiscord,
) -> None:
    owner = fake.add_user("owner")
    guilds = [fake.add_guild(f"g{n}", owner_id=owner.id, shard=(n, 2)) for n in (0, 1)]
    channels = [fake.add_channel(g.id, "general") for g in guilds]
    member = fake.add_user("member", guild_id=guilds[0].id)
    fake.add_member(guilds[1].id, member.id)
    dm = fake.add_dm_channel(member.id)
    url = f"{fake.gateway_url}?v=10&encoding=json"
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url) as ws0,
        http.ws_connect(url) as ws1,
    ):
        ready = {}
        for shard, ws in ((0, ws0), (1, ws1)):
            await _receive(ws)
            await ws.send_json(_identify([shard, 2]))
            ready[shard] = await _receive(ws)
            created = await _receive(ws)
            assert created["t"] == "GUILD_CREATE"
            assert created["d"]["id"] == str(guilds[shard].id)
        assert fake.live_shards() == {0: 2, 1: 2}

        await fake.post_user_message(channels[1].id, member.id, "one", mention_bot=True)
        await fake.post_user_message(dm.id, member.id, "dm")
        heard_on_1 = await _receive(ws1)
        heard_on_0 = await _receive(ws0)

    assert [g["id"] for g in ready[0]["d"]["guilds"]] == [str(guilds[0].id)]
    assert [g["id"] for g in ready[1]["d"]["guilds"]] == [str(guilds[1].id)]
    assert ready[1]["d"]["shard"] == [1, 2]
    assert (heard_on_1["t"], heard_on_1["d"]["channel_id"]) == (
        "MESSAGE_CREATE",
        str(channels[1].id),
    )
    assert (heard_on_0["t"], heard_on_0["d"]["channel_id"]) == ("MESSAGE_CREATE", str(dm.id))
    assert [FakeDiscord.shard_for(g.id, 2) for g in guilds] == [0, 1]


async def test_identifies_beyond_the_concurrency_are_refused_and_bad_shards_closed() -> None:
    async with FakeDiscord(token="t", shards=2, max_concurrency=1) as fake:
        fake.add_guild("g", owner_id=fake.add_user("owner").id)
        url = f"{fake.gateway_url}?v=10&encoding=json"
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url) as first, http.ws_connect(url) as second:
                await _receive(first)
                await first.send_json(_identify([0, 2]))
                assert (await _receive(first))["t"] == "READY"
                await _receive(second)
                # Shard 1 shares shard 0's bucket when max_concurrency is 1.
                await second.send_json(_identify([1, 2]))
                assert await _receive(second) == {"op": 9, "d": False}
            async with http.ws_connect(url) as bad:
                await _receive(bad)
                await bad.send_json(_identify([2, 2]))
                closed = await bad.receive(timeout=TIMEOUT)
                assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, 4010)
    assert [(r.shard_id, r.shard_count) for r in fake.identified] == [(0, 2)]
    assert [(r.shard_id, r.shard_count) for r in fake.refused_identifies] == [(1, 2)]

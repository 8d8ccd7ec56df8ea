"""A fake Discord (REST API + gateway WebSocket) on 127.0.0.1 for the real discord.py client.

Discord cannot be reached from the test machines, so tests run the unmodified discord.py client
against this server. It speaks gateway v10 (HELLO, heartbeat ACK, IDENTIFY -> READY ->
GUILD_CREATE, RESUME -> replay + RESUMED, RECONNECT, INVALID_SESSION, zlib-stream compression)
and the REST routes a bot uses, and it answers the way Discord does when a rule is broken.

Pointing discord.py at it (class attributes in discord.py 2.7)::

    discord.http.Route.BASE = fake.api_base                          # http://127.0.0.1:P/api/v10
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

``GET /gateway/bot`` and ``GET /gateway`` also return ``fake.gateway_url``; READY carries
``fake.resume_gateway_url``, which discord.py uses for RESUME.

Test-facing API (every wait takes a ``timeout`` and raises :class:`WaitTimeout`)::

    fake = FakeDiscord(token="t", privileged_intents={"message_content"})
    await fake.start()                      # or: async with FakeDiscord(...) as fake:
    fake.http_base, fake.api_base, fake.gateway_url, fake.resume_gateway_url
    fake.bot_user, fake.application_id, fake.app_owner          # FakeUser, int, FakeUser
    guild = fake.add_guild("Test", owner_id=user.id)             # FakeGuild (bot joined)
    channel = fake.add_channel(guild.id, "general")              # FakeChannel
    user = fake.add_user("alice", guild_id=guild.id, permissions=PERM_MANAGE_GUILD)  # FakeUser
    fake.add_member(guild.id, user.id, permissions=0)            # FakeMember, existing user
    dm = fake.add_dm_channel(user.id)                            # FakeChannel (type 1)
    world = fake.add_standard_world()       # DiscordWorld: guild, channel, owner, admin, member, dm
    att = fake.add_attachment(b"...", "a.txt", "text/plain")     # FakeAttachment (url on the fake)

    await fake.wait_until_identified(timeout=10)
    await fake.wait_until_disconnected(timeout=10)  # e.g. after the bot process stopped
    ix = await fake.invoke_slash("kb articles add", {"file": att}, channel_id=..., user_id=...)
    #    name may hold the whole path; or pass group=/subcommand=. Unsynced commands, unknown or
    #    missing options and commands hidden by default_member_permissions raise FakeDiscordError
    #    (permission_override=True plays a server admin's override).
    await ix.wait_for_response(timeout=5)   # -> callback type (4, 5, 9, ...)
    msg = await ix.wait_for_final(timeout=5)  # -> FakeMessage: the answer the user sees
    ix.timeline, ix.followups, ix.original, ix.response_delay, ix.response_type
    await ix.wait_until_expired(timeout=5)        # the 3 s acknowledgement window has closed
    await ix.wait_until_token_expired(timeout=5)  # the 15 min token has expired
    ix = await fake.invoke_autocomplete("articles remove", focused="article", typed="light",
                                        channel_id=..., user_id=...)  # type 4, same checks
    choices = await ix.wait_for_choices(timeout=5)  # -> [{"name", "value"}, ...] (callback 8)

    ix = await fake.press_button(msg, custom_id, user_id=...)   # type 3, component_type 2
    await ix.wait_for_response(timeout=5)   # 6 (deferred update), 7 (update), 4, 5 ...
    await ix.wait_for_update(timeout=5)     # -> the pressed message once updated after the press
    ix.message, ix.update_delay             # the pressed message; seconds from press to update
    await ix.wait_for_followups(1, timeout=5)  # -> the interaction's followup messages
    fake.buttons(msg)                       # -> [button dicts] of a message's action rows

    msg = await fake.post_user_message(channel.id, user.id, "hi", mention_bot=True)
    msg = await fake.post_user_message(channel.id, user.id, "and?", mention_bot=True,
                                       reply_to=bot_msg.id)  # message_reference + referenced
    reply = await fake.wait_for_bot_message(channel.id, timeout=5)  # next unseen bot message
    fake.messages(channel.id), fake.bot_messages(channel.id)

    await fake.drop_gateway(code=4000)      # or request_reconnect() (op 7), invalidate_session()

Sharding (``FakeDiscord(shards=2, max_concurrency=1)``; ``GET /gateway/bot`` reports both)::

    guild = fake.add_guild("B", owner_id=user.id, shard=(1, 2))  # an id Discord routes to shard 1
    FakeDiscord.shard_for(guild.id, 2)       # (guild_id >> 22) % shard_count; DMs: 0
    await fake.wait_until_identified(timeout=10, shard_id=1)
    await fake.wait_until_disconnected(timeout=10, shard_id=0)
    fake.live_shards()                      # {shard id: shard count} of the live sessions
    fake.identified, fake.refused_identifies   # IdentifyRecord(shard_id, shard_count, at, ...)

An IDENTIFY carries ``shard: [id, count]`` (absent: ``[0, 1]``); each session gets READY with
its shard's guilds and their GUILD_CREATEs, and every guild event (messages, interactions,
members, channels) goes to the session of the guild's shard, DMs to shard 0. An IDENTIFY whose
bucket (``shard_id % max_concurrency``) identified less than 5 s before (``identify_interval``)
gets op 9 INVALID_SESSION, as on Discord; a shard outside ``0 <= id < count`` closes 4010, too
few shards for the guilds (2500 a shard) closes 4011.
    how = await fake.wait_until_reconnected(timeout=10)  # "resumed" or "identified"

    fake.requests        # list[RecordedRequest]: method, path, route, query, json, headers, files
    fake.find_requests("POST", r"/channels/\\d+/messages")
    await fake.wait_for_commands("ask", guild_id=guild.id, timeout=10)   # after the bot syncs
    fake.gateway_log     # list[GatewayFrame]: every frame in and out
    fake.synced_commands(guild_id=None)
    await fake.stop()

Rules enforced (HTTP 400 ``{"code": 50035, "message": "Invalid Form Body", "errors": {...}}``
unless noted): content <= 2000; <= 10 embeds; embed title 256, description 4096, 25 fields,
field name 256 / value 1024 (both required), footer 2048, author name 256, <= 6000 in total per
message; empty message -> 50006; ``allowed_mentions`` parse/list conflicts; components: <= 5
action rows of <= 5 buttons, labels <= 80, custom_id 1-100 and unique in the message, a link
button with a url and no custom_id; pressing a disabled or missing button is refused
(FakeDiscordError); a component interaction takes callback 4/5/6/7/9, 6 and 7 update the pressed
message; unknown reply target; invalid command names/descriptions/option order on sync; first
interaction callback (a button press's too) within 3 s of dispatch else 404 10062; a second
callback -> 400 40060; an autocomplete interaction takes only callback type 8, with <= 25
choices whose name and (string) value are 1-100 characters, and opens no webhook (404 10015);
followups only after an acknowledgement (404 10015) and while the token lives (401 50027);
``Authorization: Bot <token>`` on every non-webhook route (401 ``{"message": "401:
Unauthorized", "code": 0}``); IDENTIFY with a wrong token -> close 4004; privileged intents not
enabled for the app -> close 4014; the bot needs View Channel / Send Messages to post (403 50001
/ 50013). Without the message-content intent the bot receives empty content, embeds and
attachments except in DMs, for its own messages and when it is mentioned.
JSON responses carry ``Content-Type: application/json`` exactly.

``FakeMessage.pings`` is what a message would notify, computed the way Discord applies
``allowed_mentions`` (absent = everything in the text pings); it is conservative: mentions added
by edits count too.
"""

# Waits take their own timeout so a failure names what never happened (ASYNC109 prefers
# asyncio.timeout, which would only say "TimeoutError").
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import socket
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from aiohttp import BodyPartReader, WSMsgType, web

Json = dict[str, Any]
T = TypeVar("T")

API_VERSION: Final = 10
DISCORD_EPOCH_MS: Final = 1_420_070_400_000
# Discord's session start rules: each rate-limit bucket (shard_id % max_concurrency) may
# IDENTIFY once per this many seconds; a bot in more guilds than this per shard must shard.
IDENTIFY_INTERVAL: Final = 5.0
MAX_GUILDS_PER_SHARD: Final = 2500
SESSION_STARTS_PER_DAY: Final = 1000

INTENT_GUILDS: Final = 1 << 0
INTENT_GUILD_MEMBERS: Final = 1 << 1
INTENT_GUILD_PRESENCES: Final = 1 << 8
INTENT_GUILD_MESSAGES: Final = 1 << 9
INTENT_DIRECT_MESSAGES: Final = 1 << 12
INTENT_MESSAGE_CONTENT: Final = 1 << 15
PRIVILEGED_INTENTS: Final[Mapping[str, int]] = {
    "members": INTENT_GUILD_MEMBERS,
    "presences": INTENT_GUILD_PRESENCES,
    "message_content": INTENT_MESSAGE_CONTENT,
}
# An unverified app with a privileged intent switched on carries the matching *_LIMITED flag.
_APP_FLAG_FOR_INTENT: Final[Mapping[str, int]] = {
    "presences": 1 << 13,
    "members": 1 << 15,
    "message_content": 1 << 19,
}

PERM_ADMINISTRATOR: Final = 1 << 3
PERM_MANAGE_GUILD: Final = 1 << 5
PERM_ADD_REACTIONS: Final = 1 << 6
PERM_VIEW_CHANNEL: Final = 1 << 10
PERM_SEND_MESSAGES: Final = 1 << 11
PERM_EMBED_LINKS: Final = 1 << 14
PERM_ATTACH_FILES: Final = 1 << 15
PERM_READ_MESSAGE_HISTORY: Final = 1 << 16
PERM_MENTION_EVERYONE: Final = 1 << 17
PERM_USE_APPLICATION_COMMANDS: Final = 1 << 31
PERM_ALL: Final = (1 << 51) - 1
DEFAULT_EVERYONE_PERMISSIONS: Final = (
    PERM_VIEW_CHANNEL
    | PERM_SEND_MESSAGES
    | PERM_EMBED_LINKS
    | PERM_ATTACH_FILES
    | PERM_READ_MESSAGE_HISTORY
    | PERM_ADD_REACTIONS
    | PERM_USE_APPLICATION_COMMANDS
)
DEFAULT_BOT_PERMISSIONS: Final = (
    PERM_VIEW_CHANNEL
    | PERM_SEND_MESSAGES
    | PERM_EMBED_LINKS
    | PERM_ATTACH_FILES
    | PERM_READ_MESSAGE_HISTORY
)

MAX_CONTENT: Final = 2000
MAX_EMBEDS: Final = 10
MAX_EMBED_TITLE: Final = 256
MAX_EMBED_DESCRIPTION: Final = 4096
MAX_EMBED_FIELDS: Final = 25
MAX_FIELD_NAME: Final = 256
MAX_FIELD_VALUE: Final = 1024
MAX_FOOTER_TEXT: Final = 2048
MAX_AUTHOR_NAME: Final = 256
MAX_EMBED_TOTAL: Final = 6000
ATTACHMENT_SIZE_LIMIT: Final = 10 * 1024 * 1024

MESSAGE_FLAG_EPHEMERAL: Final = 1 << 6
MESSAGE_FLAG_LOADING: Final = 1 << 7
MESSAGE_TYPE_DEFAULT: Final = 0
MESSAGE_TYPE_REPLY: Final = 19
MESSAGE_TYPE_CHAT_INPUT_COMMAND: Final = 20

INTERACTION_APPLICATION_COMMAND: Final = 2
INTERACTION_MESSAGE_COMPONENT: Final = 3
INTERACTION_AUTOCOMPLETE: Final = 4

CALLBACK_CHANNEL_MESSAGE: Final = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE: Final = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE: Final = 6
CALLBACK_UPDATE_MESSAGE: Final = 7
CALLBACK_AUTOCOMPLETE_RESULT: Final = 8
CALLBACK_MODAL: Final = 9
# Callback types Discord accepts, by interaction type.
_CALLBACK_TYPES: Final[Mapping[int, tuple[int, ...]]] = {
    INTERACTION_APPLICATION_COMMAND: (4, 5, 9, 10, 12),
    INTERACTION_AUTOCOMPLETE: (CALLBACK_AUTOCOMPLETE_RESULT,),
    INTERACTION_MESSAGE_COMPONENT: (4, 5, 6, 7, 9, 10, 12),
}
COMPONENT_ACTION_ROW: Final = 1
COMPONENT_BUTTON: Final = 2
BUTTON_LINK: Final = 5
MAX_ACTION_ROWS: Final = 5
MAX_ROW_COMPONENTS: Final = 5
MAX_BUTTON_LABEL: Final = 80
MAX_CUSTOM_ID: Final = 100
MAX_CHOICES: Final = 25
MAX_CHOICE_TEXT: Final = 100

_CHANNEL_TEXT: Final = 0
_CHANNEL_DM: Final = 1
_OPTION_SUB_COMMAND: Final = 1
_OPTION_SUB_COMMAND_GROUP: Final = 2

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


class FakeDiscordError(Exception):
    """The test asked the fake for something Discord would not allow (or the fake cannot do)."""


class UnknownCommandError(FakeDiscordError):
    """A slash command was invoked that was never synced to the scope it was invoked in."""


class WaitTimeout(FakeDiscordError, TimeoutError):
    """A bounded wait on the fake ran out."""


class _ApiError(Exception):
    """A Discord API error; the middleware turns it into Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: Json | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: Json = {"message": message, "code": code}
        if errors:
            self.body["errors"] = errors


def _invalid_form(errors: Json) -> _ApiError:
    return _ApiError(400, 50035, "Invalid Form Body", errors)


def _field_error(code: str, message: str) -> Json:
    return {"_errors": [{"code": code, "message": message}]}


def _too_long(limit: int) -> Json:
    return _field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


class _JsonResponse(web.Response):
    """A JSON answer that remembers its data for the request log."""

    def __init__(self, data: Any, status: int = 200) -> None:
        # discord.py only decodes JSON when Content-Type is exactly "application/json" (no charset).
        super().__init__(
            body=json.dumps(data).encode(),
            status=status,
            headers={"Content-Type": "application/json"},
        )
        self.data = data


_json_response = _JsonResponse


def _iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()


class _Snowflakes:
    """Time-based, strictly increasing ids, so discord.py's created_at values are plausible."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """The next id whose guild Discord routes to ``shard_id`` of ``shard_count``: the
        shard is ``(id >> 22) % shard_count``, so the timestamp moves on a few milliseconds."""
        stamp = self.next() >> 22
        stamp += (shard_id - stamp) % shard_count
        self._last = max(stamp << 22, self._last)
        return self._last


class _Notifier:
    """Wakes every bounded wait whenever the fake's state changes."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float, what: str) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what}")
            event = self._event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)


@dataclass(eq=False)
class FakeUser:
    id: int
    name: str
    bot: bool = False
    global_name: str | None = None

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def to_dict(self) -> Json:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }


@dataclass(eq=False)
class FakeRole:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def to_dict(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass(eq=False)
class FakeMember:
    user: FakeUser
    role_ids: list[int]
    joined_at: str
    nick: str | None = None

    def to_dict(self, *, with_user: bool = True) -> Json:
        data: Json = {
            "roles": [str(role_id) for role_id in self.role_ids],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_dict()
        return data


@dataclass(eq=False)
class FakeChannel:
    id: int
    name: str
    type: int
    guild_id: int | None
    position: int = 0
    recipient_id: int | None = None

    @property
    def is_dm(self) -> bool:
        return self.type == _CHANNEL_DM


@dataclass(eq=False)
class FakeGuild:
    id: int
    name: str
    owner_id: int
    joined_at: str
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)

    @property
    def everyone(self) -> FakeRole:
        return self.roles[self.id]

    def permissions_of(self, user_id: int) -> int:
        """Guild-level permissions (no channel overwrites exist in the fake)."""
        if user_id == self.owner_id:
            return PERM_ALL
        perms = self.everyone.permissions
        for role_id in self.members[user_id].role_ids:
            perms |= self.roles[role_id].permissions
        return PERM_ALL if perms & PERM_ADMINISTRATOR else perms


@dataclass(eq=False)
class FakeAttachment:
    id: int
    filename: str
    content_type: str | None
    data: bytes
    url: str

    def to_dict(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
        }
        if self.content_type is not None:
            data["content_type"] = self.content_type
        return data


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class Pings:
    """Who a message notifies."""

    users: frozenset[int] = frozenset()
    roles: frozenset[int] = frozenset()
    everyone: bool = False

    def __bool__(self) -> bool:
        return bool(self.users or self.roles or self.everyone)

    def __or__(self, other: Pings) -> Pings:
        return Pings(
            self.users | other.users, self.roles | other.roles, self.everyone or other.everyone
        )


@dataclass(eq=False)
class FakeMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    timestamp: str
    created_at: float
    content: str = ""
    embeds: list[Json] = field(default_factory=list)
    attachments: list[FakeAttachment] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    flags: int = 0
    type: int = MESSAGE_TYPE_DEFAULT
    allowed_mentions: Json | None = None
    message_reference: Json | None = None
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    pings: Pings = field(default_factory=Pings)
    source: str = "user"
    """Who made it: user (a test), channel (the bot, channel endpoint), interaction (an
    interaction's original response) or followup."""
    interaction_id: int | None = None
    nonce: str | int | None = None
    edited_timestamp: str | None = None
    edits: list[Json] = field(default_factory=list)
    edit_times: list[float] = field(default_factory=list)
    """Event-loop time of each edit."""
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & MESSAGE_FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & MESSAGE_FLAG_LOADING)

    @property
    def text(self) -> str:
        """Content plus every visible embed text, for assertions that don't care where."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for embed_field in embed.get("fields") or []:
                parts += [embed_field.get("name") or "", embed_field.get("value") or ""]
            parts.append((embed.get("footer") or {}).get("text") or "")
            parts.append((embed.get("author") or {}).get("name") or "")
        return "\n".join(part for part in parts if part)


@dataclass
class RecordedRequest:
    method: str
    path: str
    route: str
    """The path below the API base (e.g. "/channels/1/messages"); the full path elsewhere."""
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    files: list[UploadedFile]
    at: float
    """Event-loop time the request arrived."""
    status: int | None = None
    response: Any = None


# The middleware parses each body once; handlers run in the same task and read it from here.
_current_request: ContextVar[RecordedRequest] = ContextVar("_current_request")


@dataclass(frozen=True)
class GatewayFrame:
    direction: str
    """in (from the client) or out (to the client)."""
    payload: Json
    connection: int
    at: float

    @property
    def op(self) -> int | None:
        op = self.payload.get("op")
        return op if isinstance(op, int) else None

    @property
    def event(self) -> str | None:
        event = self.payload.get("t")
        return event if isinstance(event, str) else None


@dataclass(frozen=True)
class IdentifyRecord:
    """An IDENTIFY as the fake saw it: which shard, when (loop time), on which connection."""

    shard_id: int
    shard_count: int
    at: float
    connection: int


@dataclass(frozen=True)
class InteractionEvent:
    kind: str
    """dispatch, callback, followup, get_original, edit_original, delete_original, get_message,
    edit_message, delete_message."""
    at: float
    status: int
    body: Any = None


@dataclass(eq=False)
class FakeInteraction:
    id: int
    token: str
    command: str
    channel_id: int
    guild_id: int | None
    user_id: int
    payload: Json
    created_at: float
    ack_deadline: float
    token_expires: float
    _notifier: _Notifier = field(repr=False)
    type: int = INTERACTION_APPLICATION_COMMAND
    timeline: list[InteractionEvent] = field(default_factory=list)
    response_type: int | None = None
    responded_at: float | None = None
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)
    modal: Json | None = None
    choices: list[Json] | None = None
    """An autocomplete interaction's accepted choices."""
    message: FakeMessage | None = None
    """A component interaction's message (the one whose button was pressed)."""
    custom_id: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None

    @property
    def response_delay(self) -> float | None:
        """Seconds from dispatch to the accepted first callback."""
        return None if self.responded_at is None else self.responded_at - self.created_at

    @property
    def final_message(self) -> FakeMessage | None:
        """The answer the user sees: a non-loading original response, else the first followup."""
        if self.original is not None and not self.original.loading:
            return self.original
        return self.followups[0] if self.followups else None

    @property
    def update_delay(self) -> float | None:
        """Seconds from a button press to the first edit of the pressed message after it."""
        if self.message is None:
            return None
        after = [t for t in self.message.edit_times if t >= self.created_at]
        return after[0] - self.created_at if after else None

    async def wait_for_update(self, timeout: float = 10.0) -> FakeMessage:
        """Wait until the pressed message has been edited after the press."""
        message = self.message
        if message is None:
            raise FakeDiscordError("not a component interaction")
        await self._notifier.wait_for(
            lambda: True if self.update_delay is not None else None,
            timeout,
            f"an update of the message pressed in {self.command}",
        )
        return message

    async def wait_for_followups(self, count: int = 1, timeout: float = 10.0) -> list[FakeMessage]:
        """Wait until the interaction has at least ``count`` followup messages."""
        return await self._notifier.wait_for(
            lambda: list(self.followups) if len(self.followups) >= count else None,
            timeout,
            f"{count} followup(s) to {self.command}",
        )

    async def wait_for_response(self, timeout: float = 10.0) -> int:
        """Wait for the accepted first callback; returns its type."""
        return await self._notifier.wait_for(
            lambda: self.response_type, timeout, f"a response to /{self.command}"
        )

    async def wait_for_final(self, timeout: float = 10.0) -> FakeMessage:
        return await self._notifier.wait_for(
            lambda: self.final_message, timeout, f"the final answer to /{self.command}"
        )

    async def wait_for_choices(self, timeout: float = 10.0) -> list[Json]:
        """Wait for the accepted autocomplete result; returns its choices (maybe none)."""
        return await self._notifier.wait_for(
            lambda: self.choices, timeout, f"autocomplete choices for /{self.command}"
        )

    async def wait_until_expired(self, timeout: float = 10.0) -> None:
        """Wait until the acknowledgement window has closed."""
        await self._wait_past(self.ack_deadline, timeout, "the acknowledgement deadline")

    async def wait_until_token_expired(self, timeout: float = 10.0) -> None:
        await self._wait_past(self.token_expires, timeout, "the interaction token to expire")

    async def _wait_past(self, moment: float, timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        await self._notifier.wait_for(
            lambda: True if loop.time() >= moment else None, timeout, what
        )


@dataclass(frozen=True)
class DiscordWorld:
    """The usual cast: a guild with one text channel, its owner, an admin, a member, a DM."""

    guild: FakeGuild
    channel: FakeChannel
    owner: FakeUser
    admin: FakeUser
    member: FakeUser
    dm: FakeChannel


@dataclass(eq=False)
class _Session:
    id: str
    intents: int
    shard_id: int = 0
    shard_count: int = 1
    # Its place in the order of IDENTIFYs: the newest session of a guild's shard gets it.
    started: int = 0
    seq: int = 0
    valid: bool = True
    backlog: list[Json] = field(default_factory=list)
    connection: _GatewayConnection | None = None


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


_STOP_WRITER: Final = object()


def _stream_compressor(kind: str) -> Callable[[bytes], bytes]:
    """Per-connection transport compression as discord.py negotiates it (compress=...)."""
    if kind == "zlib-stream":
        zlib_ctx = zlib.compressobj()
        return lambda data: zlib_ctx.compress(data) + zlib_ctx.flush(zlib.Z_SYNC_FLUSH)
    if kind == "zstd-stream":
        # discord.py asks for zstd only when it can import a zstd module, so the fake can too.
        try:
            import zstandard
        except ImportError:
            from compression import zstd  # Python 3.14+

            compressor = zstd.ZstdCompressor()
            return lambda data: compressor.compress(data, mode=zstd.ZstdCompressor.FLUSH_BLOCK)
        zstd_ctx = zstandard.ZstdCompressor().compressobj()
        return lambda data: (
            zstd_ctx.compress(data) + zstd_ctx.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        )
    raise FakeDiscordError(f"unsupported gateway compression {kind!r}")


class _GatewayConnection:
    """One client WebSocket; a single writer task keeps outgoing frames in dispatch order."""

    def __init__(
        self,
        number: int,
        ws: web.WebSocketResponse,
        compress: Callable[[bytes], bytes] | None,
    ) -> None:
        self.number = number
        self.ws = ws
        self.session: _Session | None = None
        self.live = False
        self.closed_by_server = False
        self._compress = compress
        self._queue: asyncio.Queue[tuple[object, asyncio.Future[bool] | None]] = asyncio.Queue()

    def send(self, payload: Json) -> asyncio.Future[bool]:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((payload, future))
        return future

    def close(self, code: int, reason: str) -> asyncio.Future[bool]:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((_Close(code, reason), future))
        return future

    def stop_writer(self) -> None:
        self._queue.put_nowait((_STOP_WRITER, None))

    async def run_writer(self, log: Callable[[str, Json, int], None]) -> None:
        try:
            while True:
                item, future = await self._queue.get()
                if item is _STOP_WRITER:
                    return
                if isinstance(item, _Close):
                    self.live = False
                    self.closed_by_server = True
                    await self.ws.close(code=item.code, message=item.reason.encode())
                    _resolve(future, True)
                    return
                assert isinstance(item, dict)
                sent = await self._write(item)
                if sent:
                    log("out", item, self.number)
                _resolve(future, sent)
                if not sent:
                    return
        finally:
            while not self._queue.empty():
                _, future = self._queue.get_nowait()
                _resolve(future, False)

    async def _write(self, payload: Json) -> bool:
        if self.ws.closed:
            return False
        data = json.dumps(payload, separators=(",", ":"))
        try:
            if self._compress is None:
                await self.ws.send_str(data)
            else:
                await self.ws.send_bytes(self._compress(data.encode()))
        except ConnectionResetError:
            return False
        return True


def _resolve(future: asyncio.Future[bool] | None, value: bool) -> None:
    if future is not None and not future.done():
        future.set_result(value)


def _embed_size(embed: Json) -> int:
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    for embed_field in embed.get("fields") or []:
        size += len(embed_field.get("name") or "") + len(embed_field.get("value") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    return size + len((embed.get("author") or {}).get("name") or "")


def _embed_errors(embed: Json) -> Json:
    errors: Json = {}
    for key, limit in (("title", MAX_EMBED_TITLE), ("description", MAX_EMBED_DESCRIPTION)):
        if len(embed.get(key) or "") > limit:
            errors[key] = _too_long(limit)
    fields = embed.get("fields") or []
    if len(fields) > MAX_EMBED_FIELDS:
        errors["fields"] = _too_long(MAX_EMBED_FIELDS)
    else:
        field_errors: Json = {}
        for index, embed_field in enumerate(fields):
            one: Json = {}
            for key, limit in (("name", MAX_FIELD_NAME), ("value", MAX_FIELD_VALUE)):
                text = embed_field.get(key)
                if not text:
                    one[key] = _field_error("BASE_TYPE_REQUIRED", "This field is required")
                elif len(text) > limit:
                    one[key] = _too_long(limit)
            if one:
                field_errors[str(index)] = one
        if field_errors:
            errors["fields"] = field_errors
    for key, limit in (("footer", MAX_FOOTER_TEXT), ("author", MAX_AUTHOR_NAME)):
        part = embed.get(key) or {}
        text_key = "text" if key == "footer" else "name"
        if len(part.get(text_key) or "") > limit:
            errors[key] = {text_key: _too_long(limit)}
    return errors


def _message_errors(body: Json) -> Json:
    """Discord's form-body errors for a message payload (empty dict when valid)."""
    errors: Json = {}
    content = body.get("content")
    if content is not None and len(str(content)) > MAX_CONTENT:
        errors["content"] = _too_long(MAX_CONTENT)
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        errors["embeds"] = _too_long(MAX_EMBEDS)
    else:
        embed_errors: Json = {}
        total = 0
        for index, embed in enumerate(embeds):
            one = _embed_errors(embed)
            total += _embed_size(embed)
            if not one and total > MAX_EMBED_TOTAL:
                one = _field_error(
                    "MAX_EMBED_SIZE_EXCEEDED",
                    f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
                )
            if one:
                embed_errors[str(index)] = one
        if embed_errors:
            errors["embeds"] = embed_errors
    if body.get("components"):
        component_errors = _component_errors(body["components"])
        if component_errors:
            errors["components"] = component_errors
    allowed = body.get("allowed_mentions")
    if isinstance(allowed, dict):
        parse = allowed.get("parse") or []
        for kind in ("users", "roles"):
            if kind in parse and allowed.get(kind):
                errors["allowed_mentions"] = _field_error(
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                )
    return errors


def _component_errors(rows: Any) -> Json:
    """Discord's form-body errors for a message's action rows of buttons."""
    if not isinstance(rows, list):
        return _field_error("BASE_TYPE_REQUIRED", "Must be a list")
    if len(rows) > MAX_ACTION_ROWS:
        return _too_long(MAX_ACTION_ROWS)
    errors: Json = {}
    seen: set[str] = set()
    for r, row in enumerate(rows):
        children = row.get("components") if isinstance(row, dict) else None
        if row.get("type") != COMPONENT_ACTION_ROW or not isinstance(children, list):
            errors[str(r)] = _field_error("UNION_TYPE_CHOICES", "Expected an action row")
            continue
        if not 1 <= len(children) <= MAX_ROW_COMPONENTS:
            errors[str(r)] = {"components": _too_long(MAX_ROW_COMPONENTS)}
            continue
        row_errors: Json = {}
        for c, button in enumerate(children):
            one: Json = {}
            if button.get("type") != COMPONENT_BUTTON:
                one["type"] = _field_error("UNION_TYPE_CHOICES", "Only buttons are supported")
            if len(button.get("label") or "") > MAX_BUTTON_LABEL:
                one["label"] = _too_long(MAX_BUTTON_LABEL)
            if not button.get("label") and not button.get("emoji"):
                one["label"] = _field_error("BASE_TYPE_REQUIRED", "A label or an emoji is required")
            custom = button.get("custom_id")
            if button.get("style") == BUTTON_LINK:
                if not button.get("url") or custom is not None:
                    one["url"] = _field_error("BUTTON_COMPONENT_INVALID_URL", "A link needs a url")
            elif not isinstance(custom, str) or not 1 <= len(custom) <= MAX_CUSTOM_ID:
                one["custom_id"] = _field_error(
                    "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CUSTOM_ID} in length."
                )
            elif custom in seen:
                one["custom_id"] = _field_error(
                    "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
                )
            else:
                seen.add(custom)
            if one:
                row_errors[str(c)] = one
        if row_errors:
            errors[str(r)] = {"components": row_errors}
    return errors


def _choice_errors(choices: Any) -> Json:
    """Discord's form-body errors for an autocomplete result's choices (empty dict when valid)."""
    if not isinstance(choices, list):
        return _field_error("BASE_TYPE_REQUIRED", "This field is required")
    if len(choices) > MAX_CHOICES:
        return _too_long(MAX_CHOICES)
    errors: Json = {}
    for index, choice in enumerate(choices):
        one: Json = {}
        for key in ("name", "value"):
            text = choice.get(key) if isinstance(choice, dict) else None
            # Values of integer and number options are numbers, with no length.
            if key == "value" and isinstance(text, int | float) and not isinstance(text, bool):
                continue
            if not isinstance(text, str):
                one[key] = _field_error("BASE_TYPE_REQUIRED", "This field is required")
            elif not 1 <= len(text) <= MAX_CHOICE_TEXT:
                one[key] = _field_error(
                    "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CHOICE_TEXT} in length."
                )
        if one:
            errors[str(index)] = one
    return errors


def _is_empty_message(body: Json, files: list[UploadedFile]) -> bool:
    return not (
        body.get("content")
        or body.get("embeds")
        or files
        or body.get("sticker_ids")
        or body.get("components")
        or body.get("poll")
    )


def _compute_pings(content: str, allowed: Json | None, replied_user_id: int | None) -> Pings:
    users = {int(match) for match in _USER_MENTION.findall(content)}
    roles = {int(match) for match in _ROLE_MENTION.findall(content)}
    everyone = "@everyone" in content or "@here" in content
    if allowed is None:
        if replied_user_id is not None:
            users.add(replied_user_id)
        return Pings(frozenset(users), frozenset(roles), everyone)
    parse = set(allowed.get("parse") or [])
    if "users" not in parse:
        users &= {int(user_id) for user_id in allowed.get("users") or []}
    if "roles" not in parse:
        roles &= {int(role_id) for role_id in allowed.get("roles") or []}
    if replied_user_id is not None and allowed.get("replied_user"):
        users.add(replied_user_id)
    return Pings(frozenset(users), frozenset(roles), everyone and "everyone" in parse)


def _command_errors(commands: list[Any]) -> Json:
    errors: Json = {}
    if len(commands) > 100:
        return {"_errors": _too_long(100)["_errors"]}
    seen: set[tuple[str, int]] = set()
    for index, command in enumerate(commands):
        if not isinstance(command, dict):
            errors[str(index)] = _field_error("MODEL_TYPE_CONVERT", "Only dictionaries may be used")
            continue
        one = _option_schema_errors(command, top_level=True)
        key = (str(command.get("name")), int(command.get("type", 1)))
        if key in seen:
            one["name"] = _field_error(
                "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"
            )
        seen.add(key)
        if one:
            errors[str(index)] = one
    return errors


def _option_schema_errors(option: Json, *, top_level: bool) -> Json:
    errors: Json = {}
    name = option.get("name")
    is_slash = not top_level or option.get("type", 1) == 1
    if (
        not isinstance(name, str)
        or not _COMMAND_NAME.match(name)
        or (is_slash and name != name.lower())
    ):
        errors["name"] = _field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    description = option.get("description") or ""
    if is_slash and not 1 <= len(description) <= 100:
        errors["description"] = _field_error(
            "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    options = option.get("options") or []
    if len(options) > 25:
        errors["options"] = _too_long(25)
        return errors
    option_errors: Json = {}
    optional_seen = False
    for index, child in enumerate(options):
        one = _option_schema_errors(child, top_level=False)
        if child.get("required"):
            if optional_seen:
                one["required"] = _field_error(
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID_ORDER",
                    "Required options must be placed before non-required options",
                )
        elif child.get("type") not in (_OPTION_SUB_COMMAND, _OPTION_SUB_COMMAND_GROUP):
            optional_seen = True
        if len(child.get("choices") or []) > 25:
            one["choices"] = _too_long(25)
        if one:
            option_errors[str(index)] = one
    if option_errors:
        errors["options"] = option_errors
    return errors


class FakeDiscord:
    """The fake Discord server; see the module docstring for the API."""

    def __init__(
        self,
        token: str = "fake-bot-token",
        *,
        privileged_intents: Iterable[str] = (),
        bot_name: str = "articlebot",
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        heartbeat_interval_ms: int = 41_250,
        ack_deadline: float = 3.0,
        token_lifetime: float = 15 * 60.0,
        shards: int = 1,
        max_concurrency: int = 1,
        identify_interval: float = IDENTIFY_INTERVAL,
    ) -> None:
        enabled = set(privileged_intents)
        unknown = enabled - set(PRIVILEGED_INTENTS)
        if unknown:
            raise ValueError(f"unknown privileged intents {sorted(unknown)}")
        self.token = token
        self.enabled_privileged_intents = frozenset(enabled)
        self.bot_permissions = bot_permissions
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.ack_deadline = ack_deadline
        """Seconds from dispatch to the first callback; read when an interaction is created."""
        self.token_lifetime = token_lifetime
        """Seconds an interaction token accepts followups and edits; read at creation."""
        self.recommended_shards = shards
        """The shard count ``GET /gateway/bot`` recommends."""
        self.max_concurrency = max_concurrency
        """IDENTIFYs allowed per ``identify_interval``, one per bucket shard_id % this."""
        self.identify_interval = identify_interval
        self.session_starts_left = SESSION_STARTS_PER_DAY
        self.identified: list[IdentifyRecord] = []
        """Every IDENTIFY that started a session, in order."""
        self.refused_identifies: list[IdentifyRecord] = []
        """IDENTIFYs answered with INVALID_SESSION for coming too soon in their bucket."""

        self._ids = _Snowflakes()
        self._notifier = _Notifier()
        self.bot_user = FakeUser(self._ids.next(), bot_name, bot=True)
        # Modern applications share their id with their bot user.
        self.application_id = self.bot_user.id
        self.app_owner = FakeUser(self._ids.next(), "app-owner")
        self._world: DiscordWorld | None = None

        self.requests: list[RecordedRequest] = []
        self.gateway_log: list[GatewayFrame] = []
        self._users: dict[int, FakeUser] = {u.id: u for u in (self.bot_user, self.app_owner)}
        self._guilds: dict[int, FakeGuild] = {}
        self._channels: dict[int, FakeChannel] = {}
        self._messages: dict[int, list[FakeMessage]] = {}
        self._attachments: dict[int, FakeAttachment] = {}
        self._global_commands: dict[tuple[str, int], Json] = {}
        self._guild_commands: dict[int, dict[tuple[str, int], Json]] = {}
        self._interactions: dict[int, FakeInteraction] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        self._bot_message_cursor: dict[int, int] = {}

        # The newest session of each shard id (a shard of another count during a re-shard too).
        self._sessions: dict[int, _Session] = {}
        self._connections: list[_GatewayConnection] = []
        self._connection_numbers = itertools.count(1)
        self._handshakes: list[str] = []
        self._disruption_mark = 0
        self._timers: list[asyncio.TimerHandle] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            raise FakeDiscordError("the fake is already running")
        runner = web.AppRunner(self._build_app(), access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        self._runner = runner

    async def stop(self, timeout: float = 5.0) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for timer in self._timers:
            timer.cancel()
        closing = [c.close(1001, "Going away") for c in self._connections if not c.ws.closed]
        if closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*closing), timeout)
        await runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise FakeDiscordError("the fake has not been started")
        return self._port

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.http_base}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway-resume"

    @property
    def application_flags(self) -> int:
        flags = 0
        for name in self.enabled_privileged_intents:
            flags |= _APP_FLAG_FOR_INTENT[name]
        return flags

    # ----------------------------------------------------------------- world building

    def add_user(
        self,
        name: str,
        *,
        guild_id: int | None = None,
        permissions: int = 0,
        bot: bool = False,
    ) -> FakeUser:
        """A new user; with ``guild_id`` also a member whose role carries ``permissions``."""
        user = FakeUser(self._ids.next(), name, bot=bot)
        self._users[user.id] = user
        if guild_id is not None:
            self.add_member(guild_id, user.id, permissions=permissions)
        return user

    def add_member(self, guild_id: int, user_id: int, *, permissions: int = 0) -> FakeMember:
        guild = self._guild(guild_id)
        user = self._user(user_id)
        role_ids: list[int] = []
        if permissions:
            role = FakeRole(self._ids.next(), f"{user.name}-role", permissions, len(guild.roles))
            guild.roles[role.id] = role
            role_ids.append(role.id)
            self._dispatch(
                "GUILD_ROLE_CREATE",
                {"guild_id": str(guild.id), "role": role.to_dict()},
                INTENT_GUILDS,
                guild_id=guild.id,
            )
        member = FakeMember(user, role_ids, _iso(time.time()))
        guild.members[user.id] = member
        self._dispatch(
            "GUILD_MEMBER_ADD",
            {**member.to_dict(), "guild_id": str(guild.id)},
            INTENT_GUILD_MEMBERS,
            guild_id=guild.id,
        )
        return member

    def add_guild(
        self,
        name: str,
        *,
        owner_id: int,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        shard: tuple[int, int] | None = None,
    ) -> FakeGuild:
        """A guild the bot has joined; the owner must be a known user and becomes a member.
        ``shard=(id, count)`` picks its id so that Discord routes it to that shard."""
        owner = self._user(owner_id)
        guild_id = self._ids.next() if shard is None else self._ids.next_on_shard(*shard)
        guild = FakeGuild(guild_id, name, owner.id, _iso(time.time()))
        guild.roles[guild.id] = FakeRole(guild.id, "@everyone", everyone_permissions)
        bot_role = FakeRole(
            self._ids.next(), self.bot_user.name, self.bot_permissions, 1, True, self.bot_user.id
        )
        guild.roles[bot_role.id] = bot_role
        now = _iso(time.time())
        guild.members[owner.id] = FakeMember(owner, [], now)
        guild.members[self.bot_user.id] = FakeMember(self.bot_user, [bot_role.id], now)
        self._guilds[guild.id] = guild
        self._guild_commands[guild.id] = {}
        session = self._session_for(guild.id)
        if session is not None:
            payload = self._guild_create_payload(guild, session.intents)
            self._dispatch("GUILD_CREATE", payload, INTENT_GUILDS, session=session)
        return guild

    def add_channel(self, guild_id: int, name: str) -> FakeChannel:
        guild = self._guild(guild_id)
        channel = FakeChannel(self._ids.next(), name, _CHANNEL_TEXT, guild.id, len(guild.channels))
        guild.channels[channel.id] = channel
        self._channels[channel.id] = channel
        self._messages[channel.id] = []
        self._dispatch(
            "CHANNEL_CREATE", self._channel_payload(channel), INTENT_GUILDS, guild_id=guild.id
        )
        return channel

    def add_dm_channel(self, user_id: int) -> FakeChannel:
        """The DM channel between the bot and a user (created once, then reused)."""
        user = self._user(user_id)
        for channel in self._channels.values():
            if channel.is_dm and channel.recipient_id == user.id:
                return channel
        channel = FakeChannel(self._ids.next(), "", _CHANNEL_DM, None, recipient_id=user.id)
        self._channels[channel.id] = channel
        self._messages[channel.id] = []
        return channel

    def add_attachment(
        self, data: bytes, filename: str, content_type: str | None = None
    ) -> FakeAttachment:
        """An uploaded file served by the fake, usable as an attachment option value."""
        attachment_id = self._ids.next()
        url = f"{self.http_base}/attachments/{attachment_id}/{filename}"
        attachment = FakeAttachment(attachment_id, filename, content_type, data, url)
        self._attachments[attachment_id] = attachment
        return attachment

    def add_standard_world(self) -> DiscordWorld:
        """Guild "Test Guild" with #general, its owner, an admin (Manage Server), a member."""
        owner = self.add_user("guild-owner")
        guild = self.add_guild("Test Guild", owner_id=owner.id)
        channel = self.add_channel(guild.id, "general")
        admin = self.add_user("admin", guild_id=guild.id, permissions=PERM_MANAGE_GUILD)
        member = self.add_user("member", guild_id=guild.id)
        self._world = DiscordWorld(
            guild, channel, owner, admin, member, self.add_dm_channel(member.id)
        )
        return self._world

    @property
    def world(self) -> DiscordWorld:
        """What add_standard_world() created (the conftest fixture calls it)."""
        if self._world is None:
            raise FakeDiscordError("no standard world: call add_standard_world() first")
        return self._world

    def guild(self, guild_id: int) -> FakeGuild:
        return self._guild(guild_id)

    def channel(self, channel_id: int) -> FakeChannel:
        return self._channel(channel_id)

    def user(self, user_id: int) -> FakeUser:
        return self._user(user_id)

    # ----------------------------------------------------------------- inspection

    def find_requests(
        self, method: str | None = None, route: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests by method and a regex that must match the whole route."""
        pattern = re.compile(route) if route is not None else None
        return [
            request
            for request in self.requests
            if (method is None or request.method == method)
            and (pattern is None or pattern.fullmatch(request.route))
        ]

    def synced_commands(self, guild_id: int | None = None) -> list[Json]:
        """Commands as last synced globally, or to a guild; with the ids the fake assigned."""
        scope = self._global_commands if guild_id is None else self._guild_commands[guild_id]
        return list(scope.values())

    async def wait_for_commands(
        self, *names: str, guild_id: int | None = None, timeout: float = 10.0
    ) -> list[Json]:
        """Wait until commands with these names are synced to the scope; returns the scope."""

        def synced() -> list[Json] | None:
            commands = self.synced_commands(guild_id)
            return commands if set(names) <= {c["name"] for c in commands} else None

        where = "globally" if guild_id is None else f"to guild {guild_id}"
        return await self._notifier.wait_for(synced, timeout, f"{sorted(names)} synced {where}")

    def messages(self, channel_id: int) -> list[FakeMessage]:
        """Every message in a channel, oldest first, deleted ones included (``deleted``)."""
        return list(self._messages[channel_id])

    def bot_messages(
        self, channel_id: int | None = None, *, include_interactions: bool = True
    ) -> list[FakeMessage]:
        sources = {"channel", "interaction", "followup"} if include_interactions else {"channel"}
        return [
            message
            for cid, messages in self._messages.items()
            if channel_id is None or cid == channel_id
            for message in messages
            if message.author_id == self.bot_user.id and message.source in sources
        ]

    def interactions(self) -> list[FakeInteraction]:
        return list(self._interactions.values())

    # ----------------------------------------------------------------- gateway control

    async def wait_until_identified(
        self, timeout: float = 10.0, *, shard_id: int | None = None
    ) -> None:
        """Wait until a bot session (of ``shard_id``, if given) is live (READY and the
        GUILD_CREATEs queued to it)."""
        await self._notifier.wait_for(
            lambda: True if self._live_connection(shard_id) is not None else None,
            timeout,
            "the bot to identify" + ("" if shard_id is None else f" shard {shard_id}"),
        )

    async def wait_until_disconnected(
        self, timeout: float = 10.0, *, shard_id: int | None = None
    ) -> None:
        """Wait until no bot session (of ``shard_id``, if given) is connected (the bot
        process stopped)."""
        await self._notifier.wait_for(
            lambda: True if self._live_connection(shard_id) is None else None,
            timeout,
            "the bot to disconnect" + ("" if shard_id is None else f" shard {shard_id}"),
        )

    def live_shards(self) -> dict[int, int]:
        """Shard id -> shard count of every live session."""
        return {
            shard_id: session.shard_count
            for shard_id, session in sorted(self._sessions.items())
            if self._live_connection(shard_id) is not None
        }

    @staticmethod
    def shard_for(guild_id: int | None, shard_count: int) -> int:
        """The shard Discord sends a guild's events to; DMs go to shard 0."""
        return 0 if guild_id is None else (guild_id >> 22) % shard_count

    async def wait_until_reconnected(self, timeout: float = 10.0) -> str:
        """After a disruption: wait for a new live session; returns "resumed" or "identified"."""

        def reconnected() -> str | None:
            if len(self._handshakes) > self._disruption_mark and self._live_connection():
                return self._handshakes[-1]
            return None

        return await self._notifier.wait_for(reconnected, timeout, "the bot to reconnect")

    async def drop_gateway(self, code: int = 4000, reason: str = "", timeout: float = 5.0) -> None:
        """Close the live gateway socket with ``code`` (4007/4009 also end the session)."""
        connection = self._require_live_connection()
        self._disruption_mark = len(self._handshakes)
        if code in (4007, 4009) and connection.session is not None:
            connection.session.valid = False
        await self._await_sent(connection.close(code, reason), timeout)

    async def request_reconnect(self, timeout: float = 5.0) -> None:
        """Send op 7 RECONNECT; discord.py closes and RESUMEs."""
        connection = self._require_live_connection()
        self._disruption_mark = len(self._handshakes)
        await self._await_sent(connection.send({"op": 7, "d": None}), timeout)

    async def invalidate_session(self, *, resumable: bool = False, timeout: float = 5.0) -> None:
        """Send op 9 INVALID_SESSION; unless resumable, the client must IDENTIFY again."""
        connection = self._require_live_connection()
        self._disruption_mark = len(self._handshakes)
        if not resumable and connection.session is not None:
            connection.session.valid = False
        await self._await_sent(connection.send({"op": 9, "d": resumable}), timeout)

    # ----------------------------------------------------------------- acting as users

    async def invoke_slash(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel_id: int,
        user_id: int,
        group: str | None = None,
        subcommand: str | None = None,
        locale: str = "en-US",
        permission_override: bool = False,
        timeout: float = 5.0,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE for a synced chat-input command.

        Option values: str/int/float/bool, FakeUser/FakeChannel/FakeRole (or their ids) and
        FakeAttachment. The guild comes from the channel; a DM channel gives a DM interaction.
        """
        path = name.split() + [part for part in (group, subcommand) if part]
        return await self._invoke(
            INTERACTION_APPLICATION_COMMAND,
            path,
            options or {},
            focused=None,
            channel_id=channel_id,
            user_id=user_id,
            locale=locale,
            permission_override=permission_override,
            timeout=timeout,
        )

    async def invoke_autocomplete(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        focused: str,
        typed: str,
        channel_id: int,
        user_id: int,
        group: str | None = None,
        subcommand: str | None = None,
        locale: str = "en-US",
        permission_override: bool = False,
        timeout: float = 5.0,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE type 4: the user has typed ``typed`` into the option
        ``focused`` (synced with ``autocomplete``), after filling in ``options``; required
        options may still be missing, as while typing. The bot answers with callback type 8;
        ``ix.wait_for_choices()`` returns its choices."""
        path = name.split() + [part for part in (group, subcommand) if part]
        return await self._invoke(
            INTERACTION_AUTOCOMPLETE,
            path,
            options or {},
            focused=(focused, typed),
            channel_id=channel_id,
            user_id=user_id,
            locale=locale,
            permission_override=permission_override,
            timeout=timeout,
        )

    async def _invoke(
        self,
        interaction_type: int,
        path: list[str],
        options: Mapping[str, Any],
        *,
        focused: tuple[str, str] | None,
        channel_id: int,
        user_id: int,
        locale: str,
        permission_override: bool,
        timeout: float,
    ) -> FakeInteraction:
        channel = self._channel(channel_id)
        user = self._user(user_id)
        guild = None if channel.guild_id is None else self._guild(channel.guild_id)
        if guild is not None and user.id not in guild.members:
            raise FakeDiscordError(f"{user.name} is not a member of {guild.name}")
        if self._session_for(None if guild is None else guild.id) is None:
            raise FakeDiscordError("no bot session: the bot has not identified")
        command, guild_scoped = self._find_command(path[0], guild)
        if guild is not None:
            self._check_default_permissions(command, guild, user, permission_override)
        elif not self._allowed_in_dm(command):
            raise FakeDiscordError(f"/{path[0]} is not available in DMs")
        option_payload, resolved = self._resolve_invocation(command, path, options, guild, focused)

        data: Json = {"id": command["id"], "name": command["name"], "type": 1}
        if option_payload:
            data["options"] = option_payload
        if resolved:
            data["resolved"] = resolved
        if guild_scoped and guild is not None:
            data["guild_id"] = str(guild.id)
        return await self._start_interaction(
            interaction_type, data, channel, guild, user, " ".join(path), locale, timeout
        )

    async def _start_interaction(
        self,
        interaction_type: int,
        data: Json,
        channel: FakeChannel,
        guild: FakeGuild | None,
        user: FakeUser,
        label: str,
        locale: str,
        timeout: float,
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        interaction_id = self._ids.next()
        token = secrets.token_urlsafe(48)
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "channel_id": str(channel.id),
        }
        if guild is not None:
            perms = guild.permissions_of(user.id)
            payload |= {
                "guild_id": str(guild.id),
                "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
                "guild_locale": "en-US",
                "channel": {**self._channel_payload(channel), "permissions": str(perms)},
                "member": {**guild.members[user.id].to_dict(), "permissions": str(perms)},
                "app_permissions": str(guild.permissions_of(self.bot_user.id)),
                "authorizing_integration_owners": {"0": str(guild.id)},
                "context": 0,
            }
        else:
            payload |= {
                "channel": self._channel_payload(channel),
                "user": user.to_dict(),
                "app_permissions": str(DEFAULT_BOT_PERMISSIONS),
                "authorizing_integration_owners": {},
                "context": 1,
            }
        if message is not None:
            payload["message"] = self._message_payload(message, gateway=False)

        loop = asyncio.get_running_loop()
        now = loop.time()
        interaction = FakeInteraction(
            id=interaction_id,
            token=token,
            command=label,
            channel_id=channel.id,
            guild_id=None if guild is None else guild.id,
            user_id=user.id,
            payload=payload,
            created_at=now,
            ack_deadline=now + self.ack_deadline,
            token_expires=now + self.token_lifetime,
            _notifier=self._notifier,
            type=interaction_type,
            message=message,
            custom_id=data.get("custom_id"),
        )
        self._interactions[interaction_id] = interaction
        self._interactions_by_token[token] = interaction
        for delay in (self.ack_deadline, self.token_lifetime):
            self._timers.append(loop.call_later(delay, self._notifier.notify))
        interaction.timeline.append(InteractionEvent("dispatch", now, 200, payload))
        sent = self._dispatch(
            "INTERACTION_CREATE", payload, guild_id=None if guild is None else guild.id
        )
        if sent is not None:
            await self._await_sent(sent, timeout)
        return interaction

    async def press_button(
        self,
        message: FakeMessage,
        custom_id: str,
        *,
        user_id: int,
        locale: str = "en-US",
        forged: bool = False,
        timeout: float = 5.0,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE type 3: ``user_id`` presses the button ``custom_id`` of
        ``message``. Like Discord's client, refuses a button that is missing or disabled, on a
        deleted message, or on another user's ephemeral message; ``forged=True`` skips the
        last check, to play a crafted request the bot must refuse by itself."""
        if message.deleted:
            raise FakeDiscordError(f"message {message.id} was deleted")
        button = next((b for b in self.buttons(message) if b.get("custom_id") == custom_id), None)
        if button is None:
            raise FakeDiscordError(f"message {message.id} has no button {custom_id!r}")
        if button.get("disabled"):
            raise FakeDiscordError(f"the button {custom_id!r} is disabled")
        if message.ephemeral and not forged:
            owner = self._interactions.get(message.interaction_id or 0)
            if owner is not None and owner.user_id != user_id:
                raise FakeDiscordError("an ephemeral message is seen only by its recipient")
        channel = self._channel(message.channel_id)
        user = self._user(user_id)
        guild = None if channel.guild_id is None else self._guild(channel.guild_id)
        if guild is not None and user.id not in guild.members:
            raise FakeDiscordError(f"{user.name} is not a member of {guild.name}")
        if self._session_for(None if guild is None else guild.id) is None:
            raise FakeDiscordError("no bot session: the bot has not identified")
        data: Json = {"custom_id": custom_id, "component_type": COMPONENT_BUTTON}
        return await self._start_interaction(
            INTERACTION_MESSAGE_COMPONENT,
            data,
            channel,
            guild,
            user,
            f"button {custom_id}",
            locale,
            timeout,
            message=message,
        )

    @staticmethod
    def buttons(message: FakeMessage) -> list[Json]:
        return [
            child
            for row in message.components
            for child in row.get("components") or []
            if child.get("type") == COMPONENT_BUTTON
        ]

    async def post_user_message(
        self,
        channel_id: int,
        author_id: int,
        content: str,
        *,
        mention_bot: bool = False,
        reply_to: int | None = None,
        attachments: Iterable[FakeAttachment] = (),
        timeout: float = 5.0,
    ) -> FakeMessage:
        """A user posts a message; the bot gets MESSAGE_CREATE (content filtered by intents).

        ``mention_bot`` prefixes the bot's mention unless the content already has it; a reply to
        one of the bot's messages pings (and so "mentions") the bot, as Discord's client does.
        """
        channel = self._channel(channel_id)
        author = self._user(author_id)
        if channel.guild_id is not None and author.id not in self._guild(channel.guild_id).members:
            raise FakeDiscordError(f"{author.name} is not a member of the channel's guild")
        if mention_bot and self.bot_user.mention not in content:
            content = f"{self.bot_user.mention} {content}"
        reference: Json | None = None
        replied_author: int | None = None
        if reply_to is not None:
            target = self._find_message(channel.id, reply_to)
            if target is None:
                raise FakeDiscordError(f"no message {reply_to} in channel {channel.id}")
            reference = {"message_id": str(target.id), "channel_id": str(channel.id)}
            if channel.guild_id is not None:
                reference["guild_id"] = str(channel.guild_id)
            replied_author = target.author_id
        message = self._new_message(
            channel,
            author,
            {"content": content, "message_reference": reference},
            [],
            source="user",
            replied_author=replied_author,
        )
        message.attachments = list(attachments)
        sent = self._dispatch_message("MESSAGE_CREATE", message)
        if sent is not None:
            await self._await_sent(sent, timeout)
        return message

    async def wait_for_bot_message(
        self,
        channel_id: int,
        *,
        timeout: float = 10.0,
        include_interactions: bool = False,
    ) -> FakeMessage:
        """The next bot message in the channel this method has not returned yet.

        By default only messages posted through the channel endpoint (replies to mentions);
        ``include_interactions`` also counts interaction responses and followups.
        """

        def next_message() -> FakeMessage | None:
            unseen = self.bot_messages(channel_id, include_interactions=include_interactions)
            cursor = self._bot_message_cursor.get(channel_id, 0)
            for message in unseen:
                if message.id > cursor:
                    self._bot_message_cursor[channel_id] = message.id
                    return message
            return None

        return await self._notifier.wait_for(
            next_message, timeout, f"a bot message in channel {channel_id}"
        )

    # ----------------------------------------------------------------- internals: lookups

    def _guild(self, guild_id: int) -> FakeGuild:
        try:
            return self._guilds[guild_id]
        except KeyError:
            raise FakeDiscordError(f"unknown guild {guild_id}") from None

    def _channel(self, channel_id: int) -> FakeChannel:
        try:
            return self._channels[channel_id]
        except KeyError:
            raise FakeDiscordError(f"unknown channel {channel_id}") from None

    def _user(self, user_id: int) -> FakeUser:
        try:
            return self._users[user_id]
        except KeyError:
            raise FakeDiscordError(f"unknown user {user_id}") from None

    def _find_message(self, channel_id: int, message_id: int) -> FakeMessage | None:
        for message in self._messages.get(channel_id, []):
            if message.id == message_id and not message.deleted:
                return message
        return None

    def _live_connection(self, shard_id: int | None = None) -> _GatewayConnection | None:
        """The live connection of ``shard_id``'s session; without one, of the lowest shard
        that has one."""
        shards = sorted(self._sessions) if shard_id is None else [shard_id]
        for shard in shards:
            session = self._sessions.get(shard)
            if session is None or not session.valid or session.connection is None:
                continue
            if session.connection.live:
                return session.connection
        return None

    def _require_live_connection(self) -> _GatewayConnection:
        connection = self._live_connection()
        if connection is None:
            raise FakeDiscordError("no live gateway connection")
        return connection

    def _session_for(self, guild_id: int | None) -> _Session | None:
        """The session that receives the events of ``guild_id`` (None: DMs), newest first
        when sessions of two shard counts overlap (a re-shard in progress)."""
        for session in sorted(self._sessions.values(), key=lambda s: s.started, reverse=True):
            if session.valid and session.shard_id == self.shard_for(guild_id, session.shard_count):
                return session
        return None

    async def _await_sent(self, future: asyncio.Future[bool], timeout: float) -> bool:
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise WaitTimeout(f"timed out after {timeout:g}s writing to the gateway") from None

    # ----------------------------------------------------------------- internals: commands

    def _find_command(self, name: str, guild: FakeGuild | None) -> tuple[Json, bool]:
        if guild is not None:
            command = self._guild_commands[guild.id].get((name, 1))
            if command is not None:
                return command, True
        command = self._global_commands.get((name, 1))
        if command is not None:
            return command, False
        known = sorted(n for n, _ in self._global_commands) + sorted(
            f"{n} (guild)" for n, _ in (self._guild_commands[guild.id] if guild else {})
        )
        raise UnknownCommandError(
            f"/{name} was never synced{'' if guild is None else f' to {guild.name}'} "
            f"or globally; synced: {known or 'nothing'}"
        )

    @staticmethod
    def _allowed_in_dm(command: Json) -> bool:
        contexts = command.get("contexts")
        if contexts is not None:
            return 1 in contexts
        return command.get("dm_permission") is not False

    def _check_default_permissions(
        self, command: Json, guild: FakeGuild, user: FakeUser, override: bool
    ) -> None:
        required = command.get("default_member_permissions")
        if required is None or override:
            return
        needed = int(required)
        have = guild.permissions_of(user.id)
        if have & PERM_ADMINISTRATOR or (needed and have & needed == needed):
            return
        raise FakeDiscordError(
            f"/{command['name']} is hidden from {user.name} by default_member_permissions="
            f"{required}; pass permission_override=True to play a server admin's override"
        )

    def _resolve_invocation(
        self,
        command: Json,
        path: list[str],
        values: Mapping[str, Any],
        guild: FakeGuild | None,
        focused: tuple[str, str] | None = None,
    ) -> tuple[list[Json], Json]:
        label = "/" + " ".join(path)
        schema: list[Json] = command.get("options") or []
        nesting: list[tuple[str, int]] = []
        for part in path[1:]:
            sub = next(
                (
                    option
                    for option in schema
                    if option["name"] == part
                    and option["type"] in (_OPTION_SUB_COMMAND, _OPTION_SUB_COMMAND_GROUP)
                ),
                None,
            )
            if sub is None:
                raise UnknownCommandError(f"{label}: {part!r} is not a synced subcommand")
            nesting.append((part, sub["type"]))
            schema = sub.get("options") or []
        subs = [o["name"] for o in schema if o["type"] in (1, 2)]
        if subs:
            raise FakeDiscordError(f"{label} needs one of the subcommands {subs}")
        resolved: Json = {}
        options = self._leaf_options(label, schema, values, guild, resolved, focused)
        for part, option_type in reversed(nesting):
            options = [{"name": part, "type": option_type, "options": options}]
        return options, resolved

    def _leaf_options(
        self,
        label: str,
        schema: list[Json],
        values: Mapping[str, Any],
        guild: FakeGuild | None,
        resolved: Json,
        focused: tuple[str, str] | None,
    ) -> list[Json]:
        known = {option["name"] for option in schema}
        given = set(values) if focused is None else {*values, focused[0]}
        unknown = sorted(given - known)
        if unknown:
            raise FakeDiscordError(f"{label} has no options {unknown}; it has {sorted(known)}")
        result: list[Json] = []
        for option in schema:
            name = option["name"]
            if focused is not None and name == focused[0]:
                if not option.get("autocomplete"):
                    raise FakeDiscordError(f"{label}: option {name!r} has no autocomplete")
                # What is typed so far: Discord checks no type or bounds until the command runs.
                result.append(
                    {"name": name, "type": option["type"], "value": focused[1], "focused": True}
                )
                continue
            if name not in values:
                if option.get("required") and focused is None:
                    raise FakeDiscordError(f"{label}: the required option {name!r} is missing")
                continue
            value = self._option_value(label, option, values[name], guild, resolved)
            result.append({"name": name, "type": option["type"], "value": value})
        return result

    def _option_value(
        self,
        label: str,
        option: Json,
        value: Any,
        guild: FakeGuild | None,
        resolved: Json,
    ) -> Any:
        name, option_type = option["name"], option["type"]
        where = f"{label}: option {name!r}"
        if option_type in (3, 4, 5, 10):
            expected: tuple[type, ...] = {3: (str,), 4: (int,), 5: (bool,), 10: (int, float)}[
                option_type
            ]
            if not isinstance(value, expected) or (option_type != 5 and isinstance(value, bool)):
                raise FakeDiscordError(f"{where} needs {expected[0].__name__}, got {value!r}")
            self._check_option_bounds(where, option, value)
            return value
        if option_type == 11:
            if not isinstance(value, FakeAttachment):
                raise FakeDiscordError(f"{where} needs a FakeAttachment (fake.add_attachment)")
            # Files given to a command option are ephemeral uploads on Discord.
            resolved.setdefault("attachments", {})[str(value.id)] = {
                **value.to_dict(),
                "ephemeral": True,
            }
            return str(value.id)
        if option_type in (6, 9) and isinstance(value, FakeUser | int) and self._is_user(value):
            user = self._user(value if isinstance(value, int) else value.id)
            resolved.setdefault("users", {})[str(user.id)] = user.to_dict()
            if guild is not None and user.id in guild.members:
                member = guild.members[user.id].to_dict(with_user=False)
                member["permissions"] = str(guild.permissions_of(user.id))
                resolved.setdefault("members", {})[str(user.id)] = member
            return str(user.id)
        if option_type in (8, 9) and guild is not None:
            role_id = value.id if isinstance(value, FakeRole) else value
            if isinstance(role_id, int) and role_id in guild.roles:
                resolved.setdefault("roles", {})[str(role_id)] = guild.roles[role_id].to_dict()
                return str(role_id)
        if option_type == 7:
            channel_id = value.id if isinstance(value, FakeChannel) else value
            channel = self._channels.get(channel_id) if isinstance(channel_id, int) else None
            if channel is not None and channel.guild_id == (guild.id if guild else None):
                allowed_types = option.get("channel_types")
                if allowed_types and channel.type not in allowed_types:
                    raise FakeDiscordError(f"{where} accepts channel types {allowed_types}")
                data = self._channel_payload(channel)
                data["permissions"] = str(PERM_ALL)
                resolved.setdefault("channels", {})[str(channel.id)] = data
                return str(channel.id)
        raise FakeDiscordError(f"{where} (type {option_type}) cannot take {value!r}")

    def _is_user(self, value: FakeUser | int) -> bool:
        return (value.id if isinstance(value, FakeUser) else value) in self._users

    @staticmethod
    def _check_option_bounds(where: str, option: Json, value: Any) -> None:
        choices = option.get("choices")
        if choices and value not in [choice["value"] for choice in choices]:
            raise FakeDiscordError(f"{where}: {value!r} is not one of the choices")
        if isinstance(value, str):
            if len(value) < option.get("min_length", 0) or len(value) > option.get(
                "max_length", 6000
            ):
                raise FakeDiscordError(f"{where}: length {len(value)} is out of bounds")
        elif not isinstance(value, bool):
            low, high = option.get("min_value"), option.get("max_value")
            if (low is not None and value < low) or (high is not None and value > high):
                raise FakeDiscordError(f"{where}: {value!r} is out of bounds")

    # ----------------------------------------------------------------- internals: payloads

    def _channel_payload(self, channel: FakeChannel) -> Json:
        if channel.is_dm:
            recipient = self._user(channel.recipient_id or 0)
            return {
                "id": str(channel.id),
                "type": _CHANNEL_DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [recipient.to_dict()],
            }
        return {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "permission_overwrites": [],
            "parent_id": None,
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }

    def _guild_create_payload(self, guild: FakeGuild, intents: int) -> Json:
        if intents & INTENT_GUILD_MEMBERS:
            members = list(guild.members.values())
        else:
            # Without the members intent Discord only includes the bot itself.
            members = [guild.members[self.bot_user.id]]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "application_id": None,
            "vanity_url_code": None,
            "features": [],
            "roles": [role.to_dict() for role in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "joined_at": guild.joined_at,
            "large": False,
            "unavailable": False,
            "member_count": len(guild.members),
            "members": [member.to_dict() for member in members],
            "channels": [self._channel_payload(c) for c in guild.channels.values()],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _ready_payload(self, session: _Session, identify: Json) -> Json:
        payload: Json = {
            "v": API_VERSION,
            "user_settings": {},
            "user": {**self.bot_user.to_dict(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in self._guilds_of(session)],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "_trace": ["fake-discord"],
        }
        if "shard" in identify:
            payload["shard"] = identify["shard"]
        return payload

    def _application_payload(self) -> Json:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "owner": self.app_owner.to_dict(),
            "team": None,
            "bot": self.bot_user.to_dict(),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
            "approximate_guild_count": len(self._guilds),
        }

    def _message_payload(
        self, message: FakeMessage, *, gateway: bool, nested: bool = False
    ) -> Json:
        guild = None if message.guild_id is None else self._guilds[message.guild_id]
        data: Json = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "author": self._users[message.author_id].to_dict(),
            "content": message.content,
            "timestamp": message.timestamp,
            "edited_timestamp": message.edited_timestamp,
            "tts": False,
            "mention_everyone": message.mention_everyone,
            "mentions": [self._users[u].to_dict() for u in message.mention_ids if u in self._users],
            "mention_roles": [str(role_id) for role_id in message.mention_role_ids],
            "attachments": [attachment.to_dict() for attachment in message.attachments],
            "embeds": message.embeds,
            "components": message.components,
            "pinned": False,
            "type": message.type,
            "flags": message.flags,
        }
        if message.nonce is not None:
            data["nonce"] = message.nonce
        if message.message_reference is not None:
            data["message_reference"] = message.message_reference
            if not nested:
                target = self._find_message(
                    message.channel_id, int(message.message_reference["message_id"])
                )
                data["referenced_message"] = (
                    None
                    if target is None
                    else self._message_payload(target, gateway=gateway, nested=True)
                )
        interaction = self._interactions.get(message.interaction_id or 0)
        if interaction is not None:
            data["webhook_id"] = str(self.application_id)
            data["application_id"] = str(self.application_id)
            data["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": interaction.command,
                "user": self._users[interaction.user_id].to_dict(),
                "authorizing_integration_owners": interaction.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
        if gateway and guild is not None:
            data["guild_id"] = str(guild.id)
            member = guild.members.get(message.author_id)
            if member is not None and interaction is None:
                data["member"] = member.to_dict(with_user=False)
        return data

    def _visible_to_bot(self, message: FakeMessage, payload: Json) -> Json:
        """Blank what the message-content intent guards, as Discord does for bots without it."""
        session = self._session_for(message.guild_id)
        intents = 0 if session is None else session.intents
        if (
            intents & INTENT_MESSAGE_CONTENT
            or message.guild_id is None
            or message.author_id == self.bot_user.id
            or self.bot_user.id in message.mention_ids
        ):
            return payload
        payload = dict(payload)
        payload |= {"content": "", "embeds": [], "attachments": [], "components": []}
        payload.pop("poll", None)
        return payload

    # ----------------------------------------------------------------- internals: messages

    def _new_message(
        self,
        channel: FakeChannel,
        author: FakeUser,
        body: Json,
        files: list[UploadedFile],
        *,
        source: str,
        flags: int = 0,
        message_type: int | None = None,
        interaction: FakeInteraction | None = None,
        replied_author: int | None = None,
    ) -> FakeMessage:
        now = time.time()
        reference = _normalize_reference(body.get("message_reference"))
        if message_type is None:
            message_type = MESSAGE_TYPE_REPLY if reference else MESSAGE_TYPE_DEFAULT
        message = FakeMessage(
            id=self._ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author.id,
            timestamp=_iso(now),
            created_at=asyncio.get_running_loop().time(),
            flags=flags,
            type=message_type,
            message_reference=reference,
            source=source,
            interaction_id=None if interaction is None else interaction.id,
            nonce=body.get("nonce"),
        )
        self._apply_body(message, body, files, replied_author=replied_author)
        self._messages[channel.id].append(message)
        return message

    def _apply_body(
        self,
        message: FakeMessage,
        body: Json,
        files: list[UploadedFile],
        *,
        replied_author: int | None = None,
    ) -> None:
        if "content" in body:
            message.content = str(body["content"] or "")
        if "embeds" in body:
            message.embeds = [{"type": "rich", **embed} for embed in body["embeds"] or []]
        if "components" in body:
            message.components = list(body["components"] or [])
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if "attachments" in body and body["attachments"] is not None:
            keep = {str(item.get("id")) for item in body["attachments"]}
            message.attachments = [a for a in message.attachments if str(a.id) in keep]
        for upload in files:
            attachment = self.add_attachment(
                upload.data, upload.filename or upload.field, upload.content_type
            )
            message.attachments.append(attachment)
        message.mention_ids = [int(match) for match in _USER_MENTION.findall(message.content)]
        message.mention_role_ids = [int(match) for match in _ROLE_MENTION.findall(message.content)]
        pings = _compute_pings(message.content, message.allowed_mentions, replied_author)
        if replied_author is not None and replied_author in pings.users:
            message.mention_ids.append(replied_author)
        message.mention_everyone = pings.everyone
        message.pings = message.pings | pings

    def _edit_message(self, message: FakeMessage, body: Json, files: list[UploadedFile]) -> None:
        message.edits.append(body)
        message.edit_times.append(asyncio.get_running_loop().time())
        message.edited_timestamp = _iso(time.time())
        message.flags &= ~MESSAGE_FLAG_LOADING
        self._apply_body(message, body, files)
        self._dispatch_message("MESSAGE_UPDATE", message)

    def _check_message_body(
        self, body: Json, files: list[UploadedFile], *, creating: bool, prefix: str | None = None
    ) -> None:
        errors = _message_errors(body)
        if errors:
            raise _invalid_form({prefix: errors} if prefix else errors)
        if creating and _is_empty_message(body, files):
            raise _ApiError(400, 50006, "Cannot send an empty message")

    # ----------------------------------------------------------------- internals: dispatch

    def _dispatch(
        self,
        event: str,
        data: Json,
        intent: int | None = None,
        *,
        guild_id: int | None = None,
        session: _Session | None = None,
    ) -> asyncio.Future[bool] | None:
        """Queue a DISPATCH in the session of ``guild_id``'s shard (DMs: shard 0), or in
        ``session``, kept for RESUME; returns the send future if live."""
        session = session or self._session_for(guild_id)
        if session is None or not session.valid:
            return None
        if intent is not None and not session.intents & intent:
            return None
        session.seq += 1
        frame: Json = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.backlog.append(frame)
        connection = session.connection
        if connection is not None and connection.live:
            return connection.send(frame)
        return None

    def _dispatch_message(self, event: str, message: FakeMessage) -> asyncio.Future[bool] | None:
        if message.ephemeral:
            return None
        intent = INTENT_DIRECT_MESSAGES if message.guild_id is None else INTENT_GUILD_MESSAGES
        payload = self._visible_to_bot(message, self._message_payload(message, gateway=True))
        return self._dispatch(event, payload, intent, guild_id=message.guild_id)

    def _log_frame(self, direction: str, payload: Json, connection: int) -> None:
        loop_time = asyncio.get_running_loop().time()
        self.gateway_log.append(GatewayFrame(direction, payload, connection, loop_time))

    # ----------------------------------------------------------------- gateway server

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        version = request.query.get("v")
        encoding = request.query.get("encoding", "json")
        compress = request.query.get("compress")
        if version != str(API_VERSION) or encoding != "json":
            # etf and other API versions are beyond this fake; say so instead of misbehaving.
            raise _ApiError(400, 0, f"fake gateway speaks v={API_VERSION}&encoding=json only")
        if compress not in (None, "zlib-stream", "zstd-stream"):
            raise _ApiError(400, 0, f"unsupported compress={compress}")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        connection = _GatewayConnection(
            next(self._connection_numbers),
            ws,
            None if compress is None else _stream_compressor(compress),
        )
        self._connections.append(connection)
        writer = asyncio.create_task(connection.run_writer(self._log_frame))
        connection.send(
            {
                "op": 10,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-discord"]},
                "s": None,
                "t": None,
            }
        )
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._on_gateway_text(connection, message.data)
                else:
                    connection.close(4002, "Error while decoding payload.")
        finally:
            await self._detach(connection, writer)
        return ws

    async def _detach(self, connection: _GatewayConnection, writer: asyncio.Task[None]) -> None:
        connection.live = False
        connection.stop_writer()
        try:
            await asyncio.wait_for(writer, 5.0)
        except TimeoutError:
            writer.cancel()
        session = connection.session
        if session is not None and session.connection is connection:
            session.connection = None
            # A client that closes with 1000/1001 ends its session, as on Discord.
            if not connection.closed_by_server and connection.ws.close_code in (1000, 1001):
                session.valid = False
        self._notifier.notify()

    def _on_gateway_text(self, connection: _GatewayConnection, text: str) -> None:
        try:
            payload = json.loads(text)
            op = payload["op"]
        except (ValueError, KeyError, TypeError):
            connection.close(4002, "Error while decoding payload.")
            return
        self._log_frame("in", payload, connection.number)
        data = payload.get("d")
        if op == 1:
            connection.send({"op": 11})
        elif op == 2:
            self._identify(connection, data if isinstance(data, dict) else {})
        elif op == 6:
            self._resume(connection, data if isinstance(data, dict) else {})
        elif connection.session is None:
            connection.close(4003, "Not authenticated.")
        elif op == 8 and isinstance(data, dict):
            self._request_members(connection.session, data)
        elif op not in (3, 4):
            connection.close(4001, "Unknown opcode.")
        self._notifier.notify()

    def _identify(self, connection: _GatewayConnection, data: Json) -> None:
        if data.get("token") != self.token:
            connection.close(4004, "Authentication failed.")
            return
        if connection.session is not None:
            connection.close(4005, "Already authenticated.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            connection.close(4013, "Invalid intent(s).")
            return
        enabled = 0
        for name in self.enabled_privileged_intents:
            enabled |= PRIVILEGED_INTENTS[name]
        privileged = 0
        for bit in PRIVILEGED_INTENTS.values():
            privileged |= bit
        if intents & privileged & ~enabled:
            connection.close(4014, "Disallowed intent(s).")
            return
        shard = data.get("shard", [0, 1])
        if not (
            isinstance(shard, list)
            and len(shard) == 2
            and all(isinstance(n, int) for n in shard)
            and 0 <= shard[0] < shard[1]
        ):
            connection.close(4010, "Invalid shard.")
            return
        shard_id, shard_count = shard
        if len(self._guilds) > MAX_GUILDS_PER_SHARD * shard_count:
            connection.close(4011, "Sharding required.")
            return
        now = asyncio.get_running_loop().time()
        record = IdentifyRecord(shard_id, shard_count, now, connection.number)
        if self._identify_too_soon(record) or self.session_starts_left <= 0:
            # Discord answers an IDENTIFY over its concurrency limit with INVALID_SESSION.
            self.refused_identifies.append(record)
            connection.send({"op": 9, "d": False})
            return
        self.identified.append(record)
        self.session_starts_left -= 1
        session = _Session(secrets.token_hex(16), intents, shard_id, shard_count)
        session.started = len(self.identified)
        self._sessions[shard_id] = session
        session.connection = connection
        connection.session = session
        connection.live = True
        self._dispatch("READY", self._ready_payload(session, data), session=session)
        for guild in self._guilds_of(session):
            self._dispatch(
                "GUILD_CREATE",
                self._guild_create_payload(guild, intents),
                INTENT_GUILDS,
                session=session,
            )
        self._handshakes.append("identified")

    def _identify_too_soon(self, record: IdentifyRecord) -> bool:
        """Whether an earlier IDENTIFY of the same bucket (shard_id % max_concurrency) was
        less than ``identify_interval`` ago."""
        bucket = record.shard_id % self.max_concurrency
        return any(
            earlier.shard_id % self.max_concurrency == bucket
            and record.at - earlier.at < self.identify_interval
            for earlier in self.identified
        )

    def _guilds_of(self, session: _Session) -> list[FakeGuild]:
        return [
            guild
            for guild in self._guilds.values()
            if self.shard_for(guild.id, session.shard_count) == session.shard_id
        ]

    def _resume(self, connection: _GatewayConnection, data: Json) -> None:
        if data.get("token") != self.token:
            connection.close(4004, "Authentication failed.")
            return
        session = next((s for s in self._sessions.values() if s.id == data.get("session_id")), None)
        if session is None or not session.valid:
            connection.send({"op": 9, "d": False})
            return
        seq = data.get("seq") or 0
        if not isinstance(seq, int) or seq > session.seq:
            connection.close(4007, "Invalid seq.")
            return
        previous = session.connection
        if previous is not None and previous is not connection:
            previous.live = False
        session.connection = connection
        connection.session = session
        # Replay and RESUMED are queued in one synchronous step so nothing can interleave.
        for frame in session.backlog:
            if frame["s"] > seq:
                connection.send(frame)
        session.seq += 1
        resumed: Json = {"op": 0, "t": "RESUMED", "s": session.seq, "d": {"_trace": ["fake"]}}
        session.backlog.append(resumed)
        connection.send(resumed)
        connection.live = True
        self._handshakes.append("resumed")

    def _request_members(self, session: _Session, data: Json) -> None:
        guild = self._guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        query = str(data.get("query") or "").lower()
        user_ids = {int(user_id) for user_id in data.get("user_ids") or []}
        members = [
            member.to_dict()
            for member in guild.members.values()
            if (not user_ids or member.user.id in user_ids)
            and member.user.name.lower().startswith(query)
        ]
        limit = data.get("limit") or 0
        chunk: Json = {
            "guild_id": str(guild.id),
            "members": members[:limit] if limit else members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        self._dispatch("GUILD_MEMBERS_CHUNK", chunk, session=session)

    # ----------------------------------------------------------------- REST server

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self._gateway_handler)
        app.router.add_route("GET", "/gateway-resume", self._gateway_handler)
        app.router.add_route("GET", "/attachments/{attachment_id}/{filename}", self._attachment)
        api = f"/api/v{API_VERSION}"
        app_commands = "/applications/{application_id}"
        routes: list[tuple[str, str, Callable[[web.Request], Any]]] = [
            ("GET", "/users/@me", self._get_me),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/users/{user_id}", self._get_user),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", app_commands + "/commands", self._get_commands),
            ("PUT", app_commands + "/commands", self._put_commands),
            ("GET", app_commands + "/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", app_commands + "/guilds/{guild_id}/commands", self._put_commands),
            ("GET", "/guilds/{guild_id}", self._get_guild),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._get_messages),
            ("POST", "/channels/{channel_id}/messages", self._post_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            ("POST", "/channels/{channel_id}/typing", self._typing),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("POST", "/webhooks/{application_id}/{token}", self._followup),
            ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", self._wh_get),
            ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", self._wh_patch),
            ("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}", self._wh_delete),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, api + path, handler)
        return app

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        api = f"/api/v{API_VERSION}"
        route = request.path[len(api) :] if request.path.startswith(api + "/") else request.path
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            route=route,
            query=dict(request.query),
            headers=dict(request.headers),
            json=None,
            files=[],
            at=asyncio.get_running_loop().time(),
        )
        self.requests.append(record)
        response: web.StreamResponse
        try:
            record.json, record.files = await self._read_body(request)
            _current_request.set(record)
            needs_auth = request.path.startswith(api) and not route.startswith(
                ("/interactions/", "/webhooks/")
            )
            if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise _ApiError(401, 0, "401: Unauthorized")
            response = await handler(request)
        except _ApiError as error:
            response = _json_response(error.body, error.status)
        except web.HTTPException as error:
            response = _json_response(
                {"message": f"{error.status}: {error.reason}", "code": 0}, error.status
            )
        record.status = response.status
        record.response = response.data if isinstance(response, _JsonResponse) else None
        self._notifier.notify()
        return response

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                data = bytes(await part.read(decode=True))
                if part.name == "payload_json":
                    payload = _parse_json(data)
                else:
                    content_type = part.headers.get("Content-Type")
                    files.append(UploadedFile(part.name or "", part.filename, content_type, data))
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        if request.content_type == "application/json":
            return _parse_json(raw), []
        return raw.decode(errors="replace"), []

    @staticmethod
    def _json_body() -> Json:
        body = _current_request.get().json
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise _invalid_form(_field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used"))
        return body

    @staticmethod
    def _snowflake(request: web.Request, key: str) -> int:
        raw = request.match_info[key]
        try:
            return int(raw)
        except ValueError:
            raise _invalid_form(
                {key: _field_error("NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')}
            ) from None

    def _rest_channel(self, request: web.Request) -> FakeChannel:
        channel = self._channels.get(self._snowflake(request, "channel_id"))
        if channel is None:
            raise _ApiError(404, 10003, "Unknown Channel")
        return channel

    def _rest_message(self, request: web.Request, channel: FakeChannel) -> FakeMessage:
        message = self._find_message(channel.id, self._snowflake(request, "message_id"))
        if message is None:
            raise _ApiError(404, 10008, "Unknown Message")
        return message

    def _check_application(self, request: web.Request, code: int, message: str) -> None:
        if self._snowflake(request, "application_id") != self.application_id:
            raise _ApiError(404, code, message)

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        attachment = self._attachments.get(self._snowflake(request, "attachment_id"))
        if attachment is None or attachment.filename != request.match_info["filename"]:
            raise _ApiError(404, 0, "404: Not Found")
        return web.Response(
            body=attachment.data,
            headers={"Content-Type": attachment.content_type or "application/octet-stream"},
        )

    async def _get_me(self, request: web.Request) -> web.StreamResponse:
        me = {**self.bot_user.to_dict(), "verified": True, "mfa_enabled": False, "flags": 0}
        return _json_response(me)

    async def _get_user(self, request: web.Request) -> web.StreamResponse:
        user = self._users.get(self._snowflake(request, "user_id"))
        if user is None:
            raise _ApiError(404, 10013, "Unknown User")
        return _json_response(user.to_dict())

    async def _create_dm(self, request: web.Request) -> web.StreamResponse:
        recipient = self._json_body().get("recipient_id")
        user_id = int(str(recipient)) if str(recipient).isdigit() else 0
        if user_id not in self._users:
            raise _invalid_form(
                {"recipient_id": _field_error("NUMBER_TYPE_COERCE", "Unknown user")}
            )
        return _json_response(self._channel_payload(self.add_dm_channel(user_id)))

    async def _get_application(self, request: web.Request) -> web.StreamResponse:
        return _json_response(self._application_payload())

    async def _get_gateway(self, request: web.Request) -> web.StreamResponse:
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.StreamResponse:
        limit = {
            "total": SESSION_STARTS_PER_DAY,
            "remaining": self.session_starts_left,
            "reset_after": 86_400_000,
            "max_concurrency": self.max_concurrency,
        }
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": self.recommended_shards,
                "session_start_limit": limit,
            }
        )

    def _command_scope(
        self, request: web.Request
    ) -> tuple[dict[tuple[str, int], Json], int | None]:
        self._check_application(request, 10002, "Unknown Application")
        if "guild_id" not in request.match_info:
            return self._global_commands, None
        guild_id = self._snowflake(request, "guild_id")
        if guild_id not in self._guilds:
            raise _ApiError(403, 50001, "Missing Access")
        return self._guild_commands[guild_id], guild_id

    async def _get_commands(self, request: web.Request) -> web.StreamResponse:
        scope, _ = self._command_scope(request)
        return _json_response(list(scope.values()))

    async def _put_commands(self, request: web.Request) -> web.StreamResponse:
        scope, guild_id = self._command_scope(request)
        body = _current_request.get().json
        if not isinstance(body, list):
            raise _invalid_form(_field_error("BASE_TYPE_ARRAY", "Must be an array."))
        errors = _command_errors(body)
        if errors:
            raise _invalid_form(errors)
        stored: dict[tuple[str, int], Json] = {}
        for command in body:
            command_type = int(command.get("type", 1))
            key = (command["name"], command_type)
            previous = scope.get(key)
            entry: Json = {
                "id": previous["id"] if previous else str(self._ids.next()),
                "application_id": str(self.application_id),
                "version": str(self._ids.next()),
                "type": command_type,
                "name": command["name"],
                "description": command.get("description", ""),
                "options": command.get("options") or [],
                "default_member_permissions": command.get("default_member_permissions"),
                "dm_permission": command.get("dm_permission", True),
                "contexts": command.get("contexts"),
                "integration_types": command.get("integration_types") or [0],
                "nsfw": command.get("nsfw", False),
                "name_localizations": command.get("name_localizations"),
                "description_localizations": command.get("description_localizations"),
            }
            if guild_id is not None:
                entry["guild_id"] = str(guild_id)
            stored[key] = entry
        scope.clear()
        scope.update(stored)
        return _json_response(list(stored.values()))

    async def _get_guild(self, request: web.Request) -> web.StreamResponse:
        guild = self._guilds.get(self._snowflake(request, "guild_id"))
        if guild is None:
            raise _ApiError(404, 10004, "Unknown Guild")
        payload = self._guild_create_payload(guild, 0)
        for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at"):
            payload.pop(key)
        return _json_response(payload)

    async def _get_member(self, request: web.Request) -> web.StreamResponse:
        guild = self._guilds.get(self._snowflake(request, "guild_id"))
        if guild is None:
            raise _ApiError(404, 10004, "Unknown Guild")
        member = guild.members.get(self._snowflake(request, "user_id"))
        if member is None:
            raise _ApiError(404, 10007, "Unknown Member")
        return _json_response(member.to_dict())

    async def _get_channel(self, request: web.Request) -> web.StreamResponse:
        return _json_response(self._channel_payload(self._rest_channel(request)))

    async def _get_messages(self, request: web.Request) -> web.StreamResponse:
        channel = self._rest_channel(request)
        try:
            limit = max(1, min(100, int(request.query.get("limit", "50"))))
        except ValueError:
            raise _invalid_form(
                {"limit": _field_error("NUMBER_TYPE_COERCE", "Not a number")}
            ) from None
        visible = [m for m in self._messages[channel.id] if not m.deleted and not m.ephemeral]
        newest = list(reversed(visible))[:limit]
        return _json_response(
            [self._visible_to_bot(m, self._message_payload(m, gateway=False)) for m in newest]
        )

    def _require_send_permissions(self, channel: FakeChannel) -> None:
        if channel.guild_id is None:
            return
        perms = self._guilds[channel.guild_id].permissions_of(self.bot_user.id)
        if not perms & PERM_VIEW_CHANNEL:
            raise _ApiError(403, 50001, "Missing Access")
        if not perms & PERM_SEND_MESSAGES:
            raise _ApiError(403, 50013, "Missing Permissions")

    async def _post_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._rest_channel(request)
        body, files = self._json_body(), _current_request.get().files
        self._require_send_permissions(channel)
        self._check_message_body(body, files, creating=True)
        replied_author = None
        reference = body.get("message_reference")
        if reference:
            target = self._find_message(
                int(reference.get("channel_id") or channel.id), int(reference["message_id"])
            )
            if target is None:
                if reference.get("fail_if_not_exists", True):
                    raise _invalid_form(
                        {
                            "message_reference": _field_error(
                                "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                            )
                        }
                    )
                body = {**body, "message_reference": None}
            else:
                replied_author = target.author_id
        message = self._new_message(
            channel,
            self.bot_user,
            body,
            files,
            source="channel",
            flags=int(body.get("flags") or 0) & ~MESSAGE_FLAG_EPHEMERAL,
            replied_author=replied_author,
        )
        self._dispatch_message("MESSAGE_CREATE", message)
        return _json_response(self._message_payload(message, gateway=False))

    async def _get_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._rest_channel(request)
        message = self._rest_message(request, channel)
        return _json_response(
            self._visible_to_bot(message, self._message_payload(message, gateway=False))
        )

    async def _patch_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._rest_channel(request)
        message = self._rest_message(request, channel)
        if message.author_id != self.bot_user.id:
            raise _ApiError(403, 50005, "Cannot edit a message authored by another user")
        body, files = self._json_body(), _current_request.get().files
        self._check_message_body(body, files, creating=False)
        self._edit_message(message, body, files)
        return _json_response(self._message_payload(message, gateway=False))

    async def _delete_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._rest_channel(request)
        message = self._rest_message(request, channel)
        self._mark_deleted(message)
        return web.Response(status=204)

    def _mark_deleted(self, message: FakeMessage) -> None:
        message.deleted = True
        if not message.ephemeral:
            intent = INTENT_DIRECT_MESSAGES if message.guild_id is None else INTENT_GUILD_MESSAGES
            data: Json = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
            self._dispatch("MESSAGE_DELETE", data, intent, guild_id=message.guild_id)

    async def _typing(self, request: web.Request) -> web.StreamResponse:
        self._require_send_permissions(self._rest_channel(request))
        return web.Response(status=204)

    # ----------------------------------------------------------------- interactions REST

    async def _callback(self, request: web.Request) -> web.StreamResponse:
        now = asyncio.get_running_loop().time()
        interaction = self._interactions.get(self._snowflake(request, "interaction_id"))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise _ApiError(404, 10062, "Unknown interaction")
        body, files = self._json_body(), _current_request.get().files
        try:
            result = self._accept_callback(interaction, body, files, now)
        except _ApiError as error:
            interaction.timeline.append(InteractionEvent("callback", now, error.status, body))
            raise
        interaction.timeline.append(InteractionEvent("callback", now, 200, body))
        if request.query.get("with_response") in ("1", "true", "True"):
            return _json_response(result)
        return web.Response(status=204)

    def _accept_callback(
        self, interaction: FakeInteraction, body: Json, files: list[UploadedFile], now: float
    ) -> Json:
        if interaction.acknowledged:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        if now > interaction.ack_deadline:
            raise _ApiError(404, 10062, "Unknown interaction")
        callback_type = body.get("type")
        allowed = _CALLBACK_TYPES[interaction.type]
        if callback_type not in allowed:
            raise _invalid_form(
                {"type": _field_error("BASE_TYPE_CHOICES", f"Value must be one of {set(allowed)}.")}
            )
        data = body.get("data") or {}
        if callback_type == CALLBACK_CHANNEL_MESSAGE:
            self._check_message_body(data, files, creating=True, prefix="data")
        elif callback_type == CALLBACK_UPDATE_MESSAGE:
            self._check_message_body(data, files, creating=False, prefix="data")
        elif callback_type == CALLBACK_AUTOCOMPLETE_RESULT:
            errors = _choice_errors(data.get("choices"))
            if errors:
                raise _invalid_form({"data": {"choices": errors}})
            interaction.choices = list(data["choices"])
        channel = self._channels[interaction.channel_id]
        message: FakeMessage | None = None
        ephemeral = bool(int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
        if callback_type == CALLBACK_CHANNEL_MESSAGE:
            message = self._new_message(
                channel,
                self.bot_user,
                data,
                files,
                source="interaction",
                flags=int(data.get("flags") or 0),
                message_type=MESSAGE_TYPE_CHAT_INPUT_COMMAND,
                interaction=interaction,
            )
        elif callback_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            message = self._new_message(
                channel,
                self.bot_user,
                {},
                [],
                source="interaction",
                flags=MESSAGE_FLAG_LOADING | (MESSAGE_FLAG_EPHEMERAL if ephemeral else 0),
                message_type=MESSAGE_TYPE_CHAT_INPUT_COMMAND,
                interaction=interaction,
            )
        elif callback_type == CALLBACK_MODAL:
            interaction.modal = data
        elif callback_type in (CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE):
            # The response is the pressed message itself: @original edits it from now on.
            message = interaction.message
        interaction.response_type = callback_type
        interaction.responded_at = now
        interaction.original = message
        result: Json = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_loading": callback_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": ephemeral,
            },
            "resource": {"type": callback_type},
        }
        if callback_type == CALLBACK_UPDATE_MESSAGE and message is not None:
            self._edit_message(message, data, files)
            result["resource"]["message"] = self._message_payload(message, gateway=False)
        elif message is not None and callback_type != CALLBACK_DEFERRED_UPDATE_MESSAGE:
            result["interaction"]["response_message_id"] = str(message.id)
            result["resource"]["message"] = self._message_payload(message, gateway=False)
            self._dispatch_message("MESSAGE_CREATE", message)
        return result

    def _webhook_interaction(self, request: web.Request, kind: str) -> FakeInteraction:
        """The interaction behind a followup webhook, enforcing the token's rules."""
        self._check_application(request, 10015, "Unknown Webhook")
        interaction = self._interactions_by_token.get(request.match_info["token"])
        # An autocomplete result is the whole exchange: its token opens no webhook.
        if interaction is None or interaction.type == INTERACTION_AUTOCOMPLETE:
            raise _ApiError(404, 10015, "Unknown Webhook")
        now = asyncio.get_running_loop().time()
        if now > interaction.token_expires:
            interaction.timeline.append(
                InteractionEvent(kind, now, 401, _current_request.get().json)
            )
            raise _ApiError(401, 50027, "Invalid Webhook Token")
        if not interaction.acknowledged:
            interaction.timeline.append(
                InteractionEvent(kind, now, 404, _current_request.get().json)
            )
            raise _ApiError(404, 10015, "Unknown Webhook")
        return interaction

    def _webhook_message(self, request: web.Request, interaction: FakeInteraction) -> FakeMessage:
        raw = request.match_info["message_id"]
        if raw == "@original":
            message = interaction.original
        else:
            wanted = self._snowflake(request, "message_id")
            message = next((m for m in interaction.followups if m.id == wanted), None)
            if message is None and interaction.original and interaction.original.id == wanted:
                message = interaction.original
        if message is None or message.deleted:
            raise _ApiError(404, 10008, "Unknown Message")
        return message

    def _log_webhook(self, interaction: FakeInteraction, kind: str, status: int, body: Any) -> None:
        now = asyncio.get_running_loop().time()
        interaction.timeline.append(InteractionEvent(kind, now, status, body))

    async def _followup(self, request: web.Request) -> web.StreamResponse:
        interaction = self._webhook_interaction(request, "followup")
        body, files = self._json_body(), _current_request.get().files
        try:
            self._check_message_body(body, files, creating=True)
        except _ApiError as error:
            self._log_webhook(interaction, "followup", error.status, body)
            raise
        original = interaction.original
        if (
            interaction.response_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original.loading
            and not interaction.followups
        ):
            # Discord turns the first followup after a deferral into the deferred message
            # itself, keeping the deferral's ephemerality.
            self._edit_message(original, body, files)
            message = original
        else:
            message = self._new_message(
                self._channels[interaction.channel_id],
                self.bot_user,
                body,
                files,
                source="followup",
                flags=int(body.get("flags") or 0),
                message_type=MESSAGE_TYPE_CHAT_INPUT_COMMAND,
                interaction=interaction,
            )
            self._dispatch_message("MESSAGE_CREATE", message)
        interaction.followups.append(message)
        self._log_webhook(interaction, "followup", 200, body)
        if request.query.get("wait") in ("1", "true", "True"):
            return _json_response(self._message_payload(message, gateway=False))
        return web.Response(status=204)

    def _webhook_kind(self, request: web.Request, action: str) -> str:
        original = request.match_info["message_id"] == "@original"
        return f"{action}_original" if original else f"{action}_message"

    async def _wh_get(self, request: web.Request) -> web.StreamResponse:
        kind = self._webhook_kind(request, "get")
        interaction = self._webhook_interaction(request, kind)
        message = self._webhook_message(request, interaction)
        self._log_webhook(interaction, kind, 200, None)
        return _json_response(self._message_payload(message, gateway=False))

    async def _wh_patch(self, request: web.Request) -> web.StreamResponse:
        kind = self._webhook_kind(request, "edit")
        interaction = self._webhook_interaction(request, kind)
        body, files = self._json_body(), _current_request.get().files
        try:
            message = self._webhook_message(request, interaction)
            self._check_message_body(body, files, creating=False)
        except _ApiError as error:
            self._log_webhook(interaction, kind, error.status, body)
            raise
        self._edit_message(message, body, files)
        self._log_webhook(interaction, kind, 200, body)
        return _json_response(self._message_payload(message, gateway=False))

    async def _wh_delete(self, request: web.Request) -> web.StreamResponse:
        kind = self._webhook_kind(request, "delete")
        interaction = self._webhook_interaction(request, kind)
        message = self._webhook_message(request, interaction)
        self._mark_deleted(message)
        self._log_webhook(interaction, kind, 204, None)
        return web.Response(status=204)


def _normalize_reference(reference: Json | None) -> Json | None:
    """A message_reference the way Discord echoes it: a type and string ids."""
    if not reference:
        return None
    normalized: Json = {"type": int(reference.get("type") or 0)}
    for key in ("message_id", "channel_id", "guild_id"):
        if reference.get(key) is not None:
            normalized[key] = str(reference[key])
    return normalized


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise _ApiError(400, 50109, "The request body contains invalid JSON.") from None

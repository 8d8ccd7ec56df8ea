"""The one way an answer becomes a message: search, render the embed, remember the answer
(so that its buttons work after a restart), attach the buttons for the page shown.

`/ask`, a mention, a follow-up, a private answer posted to the channel and the More button all
go through `AnswerPipeline`, so they look and behave alike. Each call runs the blocking work
(model, FAISS, SQLite) in one worker thread and returns what the cog sends or edits; a
question asked in a message (a mention, a DM, a reply to an answer) is admitted, answered and
replied to by `reply_with_answer`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

import discord

from bot.discord_app.components import answer_view
from bot.discord_app.errors import GENERIC, explain
from bot.discord_app.questions import QuestionGate
from bot.discord_app.render import IndexFacts, answer_embed
from bot.discord_app.render_conversation import followup_note, paged
from bot.discord_app.scope import answer_scope, searched_collections
from index.engine import Answering
from index.errors import UnknownAnswerError
from index.models import FollowupResult, SearchFilters, SearchResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnswerOrigin:
    """Who asked, where, and what the question searches: stored with the answer."""

    scope: str
    asker: int
    k: int
    collections: Collection[str]
    private: bool = False
    filters: SearchFilters | None = None

    @classmethod
    def asked_in(
        cls,
        guild_id: int | None,
        asker: int,
        k: int,
        private: bool = False,
        filters: SearchFilters | None = None,
    ) -> AnswerOrigin:
        """A question asked now in a server (or, with no `guild_id`, a DM): it searches what
        that place searches, and votes on its answer count there."""
        scope = answer_scope(guild_id, asker)
        return cls(scope, asker, k, searched_collections(guild_id), private, filters)


@dataclass(frozen=True, slots=True)
class AnswerMessage:
    """A new answer, remembered as `answer_id`, with its buttons."""

    embed: discord.Embed
    view: discord.ui.View
    answer_id: str


@dataclass(frozen=True, slots=True)
class NextPage:
    """A further page of an answer. `embed` is None when nothing lies beyond the page shown:
    the message keeps it, with `view` (no More button)."""

    embed: discord.Embed | None
    view: discord.ui.View


# One of the pipeline's calls, with all but the question and its origin bound.
AnswerCall = Callable[[str, "AnswerOrigin"], Awaitable["AnswerMessage"]]


class AnswerPipeline:
    def __init__(self, engine: Answering) -> None:
        self._engine = engine

    async def ask(self, question: str, origin: AnswerOrigin) -> AnswerMessage:
        return await asyncio.to_thread(self._ask, question, origin)

    async def followup(self, question: str, earlier: str, origin: AnswerOrigin) -> AnswerMessage:
        """`question` asked as a reply to the answer `earlier`; on its own terms if that answer
        has expired."""
        return await asyncio.to_thread(self._followup, question, earlier, origin)

    async def more(self, answer_id: str, page: int, scope: str) -> NextPage:
        """The page after `page` of an answer."""
        return await asyncio.to_thread(self._more, answer_id, page, scope)

    async def present(self, result: SearchResult, origin: AnswerOrigin) -> AnswerMessage:
        """An answer found elsewhere (a watched question's match), rendered and remembered
        like any other, so its buttons work."""
        return await asyncio.to_thread(self._message, result, origin)

    def _ask(self, question: str, origin: AnswerOrigin) -> AnswerMessage:
        result = self._engine.ask(
            question, origin.k, origin.collections, scope=origin.scope, filters=origin.filters
        )
        return self._message(result, origin)

    def _followup(self, question: str, earlier: str, origin: AnswerOrigin) -> AnswerMessage:
        engine = self._engine
        try:
            found = engine.ask_followup(
                question, earlier, origin.k, origin.collections, origin.scope
            )
        except UnknownAnswerError:
            alone = engine.ask(question, origin.k, origin.collections, scope=origin.scope)
            found = FollowupResult(alone, question, with_context=False)
        note = engine.answer(earlier, origin.scope).question if found.with_context else None
        return self._message(found.result, origin, note)

    def _more(self, answer_id: str, page: int, scope: str) -> NextPage:
        found = self._engine.more(answer_id, page + 1, scope=scope)
        private = found.answer.private
        if not found.result.hits:
            # Nothing beyond this page after all: keep it, without the More button.
            return NextPage(
                None, answer_view(answer_id, page, matched=True, last=True, private=private)
            )
        embed = answer_embed(found.result, self._facts(found.answer.collections or ()))
        view = answer_view(answer_id, found.page, matched=True, last=found.last, private=private)
        return NextPage(paged(embed, found.page), view)

    def _message(
        self, result: SearchResult, origin: AnswerOrigin, followup_to: str | None = None
    ) -> AnswerMessage:
        embed = answer_embed(result, self._facts(origin.collections))
        if followup_to is not None:
            followup_note(embed, followup_to)
        answer_id = self._engine.remember_answer(
            result,
            scope=origin.scope,
            asker=str(origin.asker),
            k=origin.k,
            collections=origin.collections,
            private=origin.private,
            filters=origin.filters,
        )
        view = answer_view(
            answer_id, 0, matched=result.matched, last=not result.hits, private=origin.private
        )
        return AnswerMessage(embed, view, answer_id)

    def _facts(self, collections: Collection[str]) -> IndexFacts:
        return IndexFacts.of(self._engine.status(), collections)


async def reply_with_answer(
    message: discord.Message, question: str, gate: QuestionGate, answer: AnswerCall, what: str
) -> None:
    """Answer a question asked in a message (a mention, a DM, a reply to an answer) with a
    reply in place; what went wrong is a reply too."""
    reference = message.to_reference(fail_if_not_exists=False)
    guild_id = message.guild.id if message.guild else None
    asker = message.author.id
    try:
        question = gate.admit(question, asker)
        origin = AnswerOrigin.asked_in(guild_id, asker, gate.default_results)
        async with message.channel.typing():
            reply = await answer(question, origin)
        await message.channel.send(
            embed=reply.embed, view=reply.view, reference=reference, mention_author=False
        )
    except Exception as error:
        text = explain(error)
        if text is None:
            log.exception("answering %s failed", what)
            text = GENERIC
        await message.channel.send(text, reference=reference, mention_author=False)

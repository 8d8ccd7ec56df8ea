"""An answer as sent: its embed, plus the buttons that refer to it, once the engine has stored
it (so that the buttons work after a restart)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import discord

from bot.discord_app.components import answer_view
from index.engine import Answering
from index.models import SearchFilters, SearchResult


@dataclass(frozen=True, slots=True)
class AnswerOrigin:
    scope: str
    asker: int
    k: int
    collections: Collection[str]
    private: bool = False
    filters: SearchFilters | None = None


@dataclass(frozen=True, slots=True)
class AnswerMessage:
    embed: discord.Embed
    view: discord.ui.View
    answer_id: str


def with_buttons(
    engine: Answering, embed: discord.Embed, result: SearchResult, origin: AnswerOrigin
) -> AnswerMessage:
    """Blocking (SQLite): run it in the worker thread that searched."""
    answer_id = engine.remember_answer(
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

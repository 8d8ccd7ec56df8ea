"""The buttons under every answer, as discord.py dynamic items: each custom_id carries the
action, the answer's id and the page shown, so a press after a restart finds everything it
needs in the engine's stored answer, nothing in memory.

custom_id: `ab:<action>:<answer id>:<page>`, at most 3 + 5 + 32 + 2 = 42 characters (Discord
allows 100); one row of at most 5 buttons (Discord allows 5 rows of 5), labels far under 80.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from bot.discord_app.cogs.conversation import Conversation

PREFIX = "ab"
ACTIONS = ("more", "ctx", "up", "down", "post")
_LOOKS: dict[str, tuple[str | None, str | None, discord.ButtonStyle]] = {
    "more": ("More", None, discord.ButtonStyle.primary),
    "ctx": ("Context", None, discord.ButtonStyle.secondary),
    "up": (None, "👍", discord.ButtonStyle.secondary),
    "down": (None, "👎", discord.ButtonStyle.secondary),
    "post": ("Post to channel", None, discord.ButtonStyle.success),
}


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ab:(?P<action>more|ctx|up|down|post):(?P<answer>[A-Za-z0-9_-]{1,32}):(?P<page>[0-9])",
):
    def __init__(self, action: str, answer_id: str, page: int, disabled: bool = False) -> None:
        label, emoji, style = _LOOKS[action]
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=emoji,
                style=style,
                disabled=disabled,
                custom_id=custom_id(action, answer_id, page),
            )
        )
        self.action = action
        self.answer_id = answer_id
        self.page = page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> AnswerButton:
        return cls(match["action"], match["answer"], int(match["page"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        cog: Conversation | None = interaction.client.get_cog("Conversation")
        if cog is None:
            await interaction.response.send_message("This bot is restarting.", ephemeral=True)
            return
        await cog.on_button(interaction, self.action, self.answer_id, self.page)


def custom_id(action: str, answer_id: str, page: int) -> str:
    return f"{PREFIX}:{action}:{answer_id}:{page}"


def answer_view(
    answer_id: str, page: int, *, matched: bool, last: bool, private: bool
) -> discord.ui.View:
    """The buttons for page `page` of an answer. The view is never stored: the dynamic item
    registered with the bot answers every press."""
    view = discord.ui.View(timeout=None)
    view.add_item(AnswerButton("more", answer_id, page, disabled=last or not matched))
    view.add_item(AnswerButton("ctx", answer_id, page, disabled=not matched))
    view.add_item(AnswerButton("up", answer_id, page, disabled=not matched))
    view.add_item(AnswerButton("down", answer_id, page, disabled=not matched))
    if private:
        view.add_item(AnswerButton("post", answer_id, page))
    return view


def answer_id_in(message: discord.Message) -> str | None:
    """The id of the answer a bot message shows, read from its buttons."""
    for row in message.components:
        for child in getattr(row, "children", ()):
            match = AnswerButton.__discord_ui_compiled_template__.fullmatch(
                getattr(child, "custom_id", None) or ""
            )
            if match is not None:
                return match["answer"]
    return None

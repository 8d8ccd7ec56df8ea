"""Asking: `/ask question: [results:] [private:] [since:] [until:] [outlet:] [sort:]` and
`@bot question`, answered with quotes."""

# No `from __future__ import annotations` here: discord.py reads the /ask parameter annotations
# at definition time, and the question's length limit is a setting, known only at run time.

import asyncio
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.answers import AnswerOrigin, reply_with_answer
from bot.discord_app.choices import CHOICE_TEXT_LIMIT, outlet_choices
from bot.discord_app.questions import MAX_RESULTS
from bot.discord_app.scope import searched_collections
from index.engine import search_filters
from index.errors import ArticlebotError
from index.models import SearchFilters

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot


class Ask(commands.Cog):
    def __init__(self, bot: "ArticleBot") -> None:
        self.bot = bot
        self.command = _ask_command(self, bot.questions.max_chars, bot.questions.default_results)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.command)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.command.name)

    async def on_slash(
        self,
        interaction: discord.Interaction,
        question: str,
        results: int,
        private: bool,
        filters: SearchFilters,
    ) -> None:
        question = self.bot.questions.admit(question, interaction.user.id)
        await interaction.response.defer(thinking=True, ephemeral=private)
        origin = AnswerOrigin.asked_in(
            interaction.guild_id, interaction.user.id, results, private, filters
        )
        reply = await self.bot.answers.ask(question, origin)
        await interaction.followup.send(embed=reply.embed, view=reply.view, ephemeral=private)

    async def complete_outlet(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[str]]:
        """The outlets the asker's questions search, as they type."""
        collections = searched_collections(interaction.guild_id)
        try:
            outlets = await asyncio.to_thread(self.bot.engine.outlets, collections)
        except ArticlebotError:
            # No index yet: nothing to suggest; the question itself will say why.
            return []
        return outlet_choices(outlets, typed)

    @commands.Cog.listener()
    async def on_question(self, message: discord.Message, question: str) -> None:
        """A mention (or a DM), answered as a reply in place."""
        if not question:
            await message.channel.send(
                "Ask me a question after the mention, or use `/ask`.",
                reference=message.to_reference(fail_if_not_exists=False),
                mention_author=False,
            )
            return
        await reply_with_answer(
            message, question, self.bot.questions, self.bot.answers.ask, "a mention"
        )


def _ask_command(cog: Ask, max_chars: int, default_results: int) -> app_commands.Command:
    @app_commands.command(name="ask", description="Ask a question; get the passages that answer it")
    @app_commands.describe(
        question="What you want to know",
        results=f"How many passages to show (1-{MAX_RESULTS})",
        private="Show the answer only to you",
        since="Only articles from then on: 2024-07-21, 2024-07, yesterday, last week, 3 days ago",
        until="Only articles up to then (included): 2024-07-21, 2024-07, yesterday, last month",
        outlet="Only articles from this outlet",
        sort="Most relevant first (default) or newest first",
    )
    async def ask(
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, max_chars],
        results: app_commands.Range[int, 1, MAX_RESULTS] = default_results,
        private: bool = False,
        since: app_commands.Range[str, 1, 60] | None = None,
        until: app_commands.Range[str, 1, 60] | None = None,
        outlet: app_commands.Range[str, 1, CHOICE_TEXT_LIMIT] | None = None,
        sort: Literal["relevance", "newest"] = "relevance",
    ) -> None:
        # Read before the answer is deferred, so a bad date is a short ephemeral error.
        filters = search_filters(
            since=since, until=until, outlets=[outlet] if outlet else [], sort=sort
        )
        await cog.on_slash(interaction, question, results, private, filters)

    @ask.autocomplete("outlet")
    async def _complete_outlet(
        interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[str]]:
        return await cog.complete_outlet(interaction, typed)

    return ask


async def setup(bot: "ArticleBot") -> None:
    await bot.add_cog(Ask(bot))

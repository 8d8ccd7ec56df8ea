"""`/feedback [clear:]`: what members of this server said about answers (the most
down-voted passages, the latest questions with no match), and clearing a passage's votes.

Needs Manage Server, checked in code too (`default_permissions` only hides the command).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.guards import require_manage_server
from bot.discord_app.render_conversation import feedback_embed
from bot.discord_app.safe_text import clip
from bot.discord_app.scope import own_collection

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot


class Feedback(commands.Cog):
    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return require_manage_server(interaction)

    @app_commands.command(
        name="feedback", description="Down-voted passages and unanswered questions here"
    )
    @app_commands.describe(clear="A passage id from the report: forget its votes in this server")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def feedback(self, interaction: discord.Interaction, clear: str | None = None) -> None:
        assert interaction.guild_id is not None  # interaction_check
        scope = own_collection(interaction.guild_id)
        engine = self.bot.engine
        await interaction.response.defer(ephemeral=True, thinking=True)
        if clear is not None:
            removed = await asyncio.to_thread(engine.clear_votes, scope, clear.strip())
            await interaction.followup.send(
                f"Cleared {removed} vote(s) on `{clip(clear.replace('`', ''), 150)}`; "
                "it ranks as before in this server.",
                ephemeral=True,
            )
            return
        report = await asyncio.to_thread(engine.feedback_report, scope)
        await interaction.followup.send(embed=feedback_embed(report), ephemeral=True)


async def setup(bot: ArticleBot) -> None:
    await bot.add_cog(Feedback(bot))

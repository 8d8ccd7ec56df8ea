"""Server admin commands: `/reindex`, `/articles add|remove|list`, `/index status`.

All need Manage Server. `default_permissions` only hides them (a server can override that),
so `interaction_check` enforces it for every command of this cog. They work in servers only:
a server's articles are its own, and the shared collection is changed by the operator alone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.builds import watch
from bot.discord_app.choices import article_choices
from bot.discord_app.guards import MANAGE_SERVER, require_manage_server
from bot.discord_app.render import (
    added_summary,
    article_page,
    build_summary,
    removed_summary,
    status_embed,
)
from bot.discord_app.safe_text import clip
from bot.discord_app.scope import own_collection
from index.errors import InputError
from index.jobs import ArticleRemoved, ArticlesAdded, Job, ReindexDone
from index.models import SHARED_COLLECTION, Article

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot

log = logging.getLogger(__name__)


class Admin(commands.Cog):
    articles = app_commands.Group(
        name="articles",
        description="This server's own articles",
        guild_only=True,
        default_permissions=MANAGE_SERVER,
    )
    index = app_commands.Group(
        name="index",
        description="The article index",
        guild_only=True,
        default_permissions=MANAGE_SERVER,
    )

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return require_manage_server(interaction)

    async def _watch(self, interaction: discord.Interaction, job: Job) -> dict[str, Any]:
        return await watch(
            self.bot.engine.jobs,
            job,
            lambda line: interaction.edit_original_response(content=line),
            self.bot.progress_interval,
        )

    @app_commands.command(
        name="reindex", description="Re-read every article source and update the index"
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def reindex(self, interaction: discord.Interaction) -> None:
        job = await asyncio.to_thread(self.bot.engine.jobs.reindex)
        await interaction.response.send_message(
            "Reindexing: reading the article sources…", ephemeral=True
        )
        report = ReindexDone.of(await self._watch(interaction, job)).build
        log.info("server %s: reindex by %s", interaction.guild_id, interaction.user.id)
        await interaction.edit_original_response(content=build_summary(report))

    @articles.command(name="add", description="Add an article: attach a file or give a link")
    @app_commands.describe(
        file="A .txt, .md, .html, .json or .jsonl file", url="A link to an article page"
    )
    async def add(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment | None = None,
        url: str | None = None,
    ) -> None:
        if (file is None) == (url is None):
            raise InputError("Attach a file or give a url: one of the two.")
        limit = self.bot.settings.max_attachment_bytes
        if file is not None and file.size > limit:
            raise InputError(f"{file.filename}: too large ({file.size} bytes, limit {limit}).")
        collection = own_collection(_guild_id(interaction))
        what = file.filename if file is not None else url
        await interaction.response.send_message(f"Reading {clip(what or '', 300)}…", ephemeral=True)
        # The bytes go into the job; the worker reads them in its isolated reader.
        desk = self.bot.engine.jobs
        if file is not None:
            data = await self._download(file)
            job = await asyncio.to_thread(desk.add_upload, collection, file.filename, data)
        else:
            job = await asyncio.to_thread(desk.add_link, collection, (url or "").strip())
        done = ArticlesAdded.of(await self._watch(interaction, job))
        log.info(
            "server %s: %s added %d articles",
            interaction.guild_id,
            interaction.user.id,
            len(done.added),
        )
        await interaction.edit_original_response(
            content=added_summary(done.added, done.problems, done.build)
        )

    async def _download(self, file: discord.Attachment) -> bytes:
        limit = self.bot.settings.max_attachment_bytes
        data = await file.read()
        if len(data) > limit:
            raise InputError(f"{file.filename}: too large ({len(data)} bytes, limit {limit}).")
        return data

    @articles.command(name="remove", description="Remove one of this server's articles")
    @app_commands.describe(article="Pick one as you type, or give its id from /articles list")
    async def remove(self, interaction: discord.Interaction, article: str) -> None:
        collection = own_collection(_guild_id(interaction))
        job = await asyncio.to_thread(
            self.bot.engine.jobs.remove_article, collection, article.strip()
        )
        await interaction.response.send_message("Removing the article…", ephemeral=True)
        done = ArticleRemoved.of(await self._watch(interaction, job))
        log.info(
            "server %s: %s removed %s", interaction.guild_id, interaction.user.id, done.removed.id
        )
        await interaction.edit_original_response(content=removed_summary(done.removed, done.build))

    @remove.autocomplete("article")
    async def _complete_article(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[str]]:
        # discord.py runs interaction_check before a command but not before its autocomplete:
        # without this, anyone the command is shown to could list a server's articles.
        if interaction.guild_id is None or not interaction.permissions.manage_guild:
            return []
        collection = own_collection(interaction.guild_id)
        articles = await asyncio.to_thread(self.bot.engine.list_articles, collection)
        return article_choices(articles, collection, typed)

    @articles.command(name="list", description="List this server's own articles")
    @app_commands.describe(page="Page number (10 articles a page)")
    async def list_articles(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 100_000] = 1
    ) -> None:
        collection = own_collection(_guild_id(interaction))
        engine = self.bot.engine

        def collect() -> tuple[list[Article], int]:
            shared = engine.status().collections.get(SHARED_COLLECTION, 0)
            return engine.list_articles(collection), shared

        articles, shared = await asyncio.to_thread(collect)
        embed = article_page(articles, page, collection, shared)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @index.command(name="status", description="What the index holds and when it was built")
    async def status(self, interaction: discord.Interaction) -> None:
        engine = self.bot.engine
        status, busy = await asyncio.to_thread(lambda: (engine.status(), engine.jobs.busy()))
        collection = own_collection(_guild_id(interaction))
        embed = status_embed(status, collection, busy)
        await interaction.response.send_message(embed=embed, ephemeral=True)


def _guild_id(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


async def setup(bot: ArticleBot) -> None:
    await bot.add_cog(Admin(bot))

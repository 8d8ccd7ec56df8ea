"""Registering the slash commands with Discord: deliberate, never on start-up.

`tree.sync()` replaces every command in its scope, so it runs only when asked: from the CLI
(`articlebot sync`) or by the owner in chat (`@bot sync`).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from index.errors import ArticlebotError


async def sync_tree(tree: app_commands.CommandTree[Any], guild_id: int | None, clear: bool) -> str:
    """Sync (or with `clear`, remove) the commands globally or in one server; says what it did.

    A server sync copies the global commands there: they appear at once, which is what one
    wants while testing a bot in a server of one's own.
    """
    guild = None if guild_id is None else discord.Object(id=guild_id)
    where = "globally" if guild_id is None else f"in server {guild_id}"
    try:
        if clear:
            kept = tree.get_commands(guild=guild)
            tree.clear_commands(guild=guild)
            await tree.sync(guild=guild)
            if guild is None:
                # This process keeps answering until Discord has dropped the commands.
                for command in kept:
                    tree.add_command(command)
            return f"Removed the bot's commands {where}."
        if guild is not None:
            tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
    except discord.Forbidden:
        raise ArticlebotError(
            f"Discord refused to change the commands {where}: the bot is not in that server, "
            "or was invited without the applications.commands scope."
        ) from None
    except discord.HTTPException as error:
        raise ArticlebotError(f"Discord refused the commands {where}: {error.text}") from None
    names = ", ".join(sorted(f"/{command.name}" for command in synced))
    return f"Synced {len(synced)} commands {where}: {names}."

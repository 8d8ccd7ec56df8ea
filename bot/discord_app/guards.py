"""Who may run the admin commands: members with Manage Server, in a server.

`default_permissions` only hides a command (a server can grant it to anyone), so the cogs that
hold admin commands also check in code, with this one rule.
"""

from __future__ import annotations

import discord
from discord import app_commands

MANAGE_SERVER = discord.Permissions(manage_guild=True)


def require_manage_server(interaction: discord.Interaction) -> bool:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    if not interaction.permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])
    return True

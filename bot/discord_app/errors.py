"""What a user is told when a command fails: one short line, never a traceback.

Domain errors (`ArticlebotError` and its subclasses) carry messages written for users; the
permission and context checks of discord.py get a line each. Anything else is a bug: the
caller logs it with its traceback and shows `GENERIC`.
"""

from __future__ import annotations

import math

from discord import app_commands
from discord.ext import commands

from bot.discord_app.render import CONTENT_LIMIT
from bot.discord_app.safe_text import clip
from index.errors import ArticlebotError

GENERIC = "Something went wrong on our side and it has been logged; please try again later."

_PERMISSION_NAMES = {"manage_guild": "Manage Server", "administrator": "Administrator"}


class CooldownError(ArticlebotError):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"You asked a moment ago; try again in {math.ceil(retry_after)} s.")


def explain(error: BaseException) -> str | None:
    """The line to show for `error`, or None when it is unexpected (a bug)."""
    if isinstance(error, app_commands.CommandInvokeError | commands.CommandInvokeError):
        error = error.original
    if isinstance(error, ArticlebotError):
        # Messages quote file names and URLs the user gave; they must not format or ping.
        return clip(str(error), CONTENT_LIMIT)
    if isinstance(error, app_commands.MissingPermissions):
        names = ", ".join(_PERMISSION_NAMES.get(p, p) for p in error.missing_permissions)
        return f"You need the {names} permission for this command."
    if isinstance(error, app_commands.NoPrivateMessage | commands.NoPrivateMessage):
        return "This command works in a server, not in direct messages."
    if isinstance(error, commands.NotOwner):
        return "Only the bot's owner can do that."
    if isinstance(error, app_commands.CheckFailure | commands.CheckFailure):
        return "You are not allowed to use this command here."
    if isinstance(error, commands.UserInputError):
        return clip(str(error), CONTENT_LIMIT)
    return None

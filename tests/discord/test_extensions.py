"""Each cog is an extension the bot loads by name: importing the client loads none of them,
logging in loads them all, and one can be unloaded and loaded again with its commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.discord_app.client import EXTENSIONS, ArticleBot
from bot.discord_app.sync import sync_tree
from tests.discord.conftest import make_settings
from tests.discord.fake_discord import FakeDiscord

COMMANDS = ["articles", "ask", "feedback", "feeds", "index", "reindex", "watch"]
ASK = "bot.discord_app.cogs.ask"


def test_importing_the_client_loads_no_cog() -> None:
    probe = (
        "import sys, bot.discord_app.client; "
        "print(sorted(m for m in sys.modules if m.startswith('bot.discord_app.cogs.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


async def test_logging_in_loads_every_extension_and_one_reloads_with_its_command(
    discord_at_fake: FakeDiscord, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, discord_at_fake)
    # Logging in runs setup_hook; no engine is needed to load the cogs (as `articlebot sync`).
    async with ArticleBot(settings) as bot:
        await bot.login(settings.discord_token or "")
        assert sorted(bot.extensions) == sorted(EXTENSIONS)
        assert sorted(c.name for c in bot.tree.get_commands()) == COMMANDS
        assert sorted(bot.cogs) == [
            "Admin",
            "Ask",
            "Conversation",
            "Feedback",
            "Feeds",
            "Owner",
            "Watches",
        ]

        await bot.unload_extension(ASK)
        assert bot.get_cog("Ask") is None
        assert "ask" not in [c.name for c in bot.tree.get_commands()]

        await bot.load_extension(ASK)
        assert bot.get_cog("Ask") is not None
        synced = await sync_tree(bot.tree, None, clear=False)
        assert synced == f"Synced 7 commands globally: {', '.join(f'/{c}' for c in COMMANDS)}."

"""Watched questions as Discord text: the note on a watch's post, the list a member sees, the
line an add or a removal answers with. Pure functions; every question is made inert and cut."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import discord

from bot.discord_app.render import ANSWER_COLOUR
from bot.discord_app.safe_text import clip, one_line
from index.engine import Watch, WatchAdded, WatchTarget

# The note sits in the description of an answer embed that keeps room for it.
WATCH_NOTE_LIMIT = 200
CHOICE_LIMIT = 100
# A list shows this many watches, each within these bounds: 10 × (150 + 300) stays well
# inside an embed's 6,000 characters.
WATCHES_SHOWN = 10
NAME_LIMIT = 150
VALUE_LIMIT = 300


def watch_note(embed: discord.Embed, question: str) -> discord.Embed:
    embed.description = clip(f"Watching: “{one_line(question)}”", WATCH_NOTE_LIMIT)
    return embed


def where(watch: Watch) -> str:
    if watch.target is WatchTarget.CHANNEL:
        return f"in <#{watch.channel_id}>"
    return "by direct message"


def _day(moment: float) -> str:
    return f"{datetime.fromtimestamp(moment, UTC):%Y-%m-%d}"


def watch_added_text(added: WatchAdded) -> str:
    w = added.watch
    verb = "Renewed" if added.renewed else "Watching"
    return (
        f"{verb} #{w.id}: “{clip(one_line(w.question), 250)}”. When a new article answers "
        f"it, the answer is posted {where(w)}, until {_day(w.expires_at)} (add the same "
        "question again to renew it)."
    )


def watch_removed_text(watch: Watch) -> str:
    return f"No longer watching #{watch.id}: “{clip(one_line(watch.question), 250)}”."


def watch_list_embed(watches: Sequence[Watch]) -> discord.Embed:
    embed = discord.Embed(title="Watched questions", colour=ANSWER_COLOUR)
    if not watches:
        embed.description = "Nothing watched yet; add a question with `/watch add`."
        return embed
    for w in watches[:WATCHES_SHOWN]:
        filters = [f"since {w.since[:10]}"] if w.since else []
        if w.outlets:
            filters.append("outlets " + ", ".join(one_line(o) for o in w.outlets))
        # Only the filters come from users: the channel mention is made here, of an id.
        value = f"Posted {where(w)}; expires {_day(w.expires_at)}"
        if filters:
            value += "\n" + clip("; ".join(filters), VALUE_LIMIT - len(value) - 1)
        embed.add_field(
            name=f"#{w.id} · {clip(one_line(w.question), NAME_LIMIT - 12)}",
            value=value,
            inline=False,
        )
    if len(watches) > WATCHES_SHOWN:
        embed.set_footer(
            text=f"{len(watches) - WATCHES_SHOWN} more; /watch remove offers them all as you type."
        )
    return embed


def watch_choice(watch: Watch) -> str:
    name = f"#{watch.id} · {one_line(watch.question)}"
    return name if len(name) <= CHOICE_LIMIT else name[: CHOICE_LIMIT - 1] + "…"

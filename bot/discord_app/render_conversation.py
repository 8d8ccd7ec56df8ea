"""Messages of the conversation features: context, vote acknowledgements, the feedback
report, follow-up and paging marks. Pure functions within Discord's limits."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.discord_app.render import (
    ANSWER_COLOUR,
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
)
from bot.discord_app.safe_text import clip, escape, one_line, safe_url
from index.models import FeedbackReport, QuoteContext, VoteOutcome

FOLLOWUP_NOTE_LIMIT = 200


def context_embed(context: QuoteContext) -> discord.Embed:
    """The paragraph around the quote, the quote in bold, linked to the article."""
    ref = context.article
    title = clip(one_line(ref.title), TITLE_LIMIT) or "Untitled"
    quote = f"**{clip(one_line(context.quote), 1500)}**"
    room = (DESCRIPTION_LIMIT - len(quote) - 10) // 2
    before = _tail(one_line(context.before), room)
    after = clip(one_line(context.after), room)
    text = " ".join(p for p in (before, quote, after) if p)
    embed = discord.Embed(
        title=title, url=safe_url(ref.url), description=text, colour=ANSWER_COLOUR
    )
    meta = " · ".join(one_line(p) for p in (ref.source, ref.date) if p and one_line(p))
    if meta:
        embed.set_footer(text=meta[:FOOTER_LIMIT])
    return embed


def _tail(text: str, limit: int) -> str:
    """The end of `text` in at most `limit` escaped characters, cut at a word."""
    if len(escape(text)) <= limit:
        return escape(text)
    words = text.split(" ")
    kept: list[str] = []
    while words and len(escape(" ".join([words[-1], *kept]))) + 2 <= limit:
        kept.insert(0, words.pop())
    return "… " + escape(" ".join(kept)) if kept else ""


def vote_line(outcome: VoteOutcome) -> str:
    mark = "👍" if outcome.value > 0 else "👎"
    if outcome.previous is None:
        return f"Thanks, your {mark} is recorded."
    if outcome.previous == outcome.value:
        return f"You had already voted {mark} on this answer."
    return f"Thanks, your vote is now {mark} (it replaces your earlier one)."


def paged(embed: discord.Embed, page: int) -> discord.Embed:
    footer = embed.footer.text or ""
    return embed.set_footer(text=f"{footer} · page {page + 1}"[:FOOTER_LIMIT])


def followup_note(embed: discord.Embed, previous: str) -> discord.Embed:
    embed.description = clip(f"Follow-up to “{one_line(previous)}”", FOLLOWUP_NOTE_LIMIT)
    return embed


def asked_by(user_mention: str) -> str:
    # The mention shows the name; the bot's AllowedMentions.none() keeps it from pinging.
    return f"Asked by {user_mention}:"


def feedback_embed(report: FeedbackReport) -> discord.Embed:
    embed = discord.Embed(title="Feedback on answers in this server", colour=ANSWER_COLOUR)
    passages = [
        f"• 👎 {p.down} 👍 {p.up}{' (ranked lower here)' if p.demoted else ''} — "
        f"{clip(one_line(p.title), 80)}: “{clip(one_line(p.quote), 120)}” "
        f"id `{p.passage_id[:150].replace('`', '')}`"
        for p in report.passages
    ]
    embed.add_field(
        name="Most down-voted passages",
        value=_lines(passages, FIELD_VALUE_LIMIT) or "No down-voted passages.",
        inline=False,
    )
    questions = [
        f"• {datetime.fromtimestamp(q.asked_at, UTC):%Y-%m-%d %H:%M} — "
        f"{clip(one_line(q.question), 150)}"
        for q in report.no_match
    ]
    embed.add_field(
        name="Latest questions with no match",
        value=_lines(questions, FIELD_VALUE_LIMIT) or "None yet.",
        inline=False,
    )
    embed.set_footer(
        text=f"A passage that {report.threshold} members voted down ranks lower in this server. "
        "Clear its votes with /feedback clear passage:<id>."
    )
    return embed


def _lines(lines: list[str], limit: int) -> str:
    """As many whole lines as fit in `limit` characters."""
    text = ""
    for line in lines:
        candidate = f"{text}\n{line}" if text else line
        if len(candidate) > limit:
            break
        text = candidate
    return text

"""Feeds as Discord messages: the paged list admins see, and the headlines posted to a feed's
channel. Pure functions, every piece of feed text made inert and cut to Discord's limits."""

from __future__ import annotations

import math
from collections.abc import Sequence

import discord

from bot.discord_app.render import (
    ANSWER_COLOUR,
    DESCRIPTION_LIMIT,
    TITLE_LIMIT,
    headline,
    when,
)
from bot.discord_app.safe_text import clip, one_line, safe_url
from index.models import ArticleRef, FeedInfo, FeedPollResult

FEEDS_PER_PAGE = 5
HEADLINES_SHOWN = 10


def feed_name(feed: FeedInfo) -> str:
    return one_line(feed.title or "") or feed.url


def feed_page(feeds: Sequence[FeedInfo], page: int) -> discord.Embed:
    """One page of a server's feeds: title, URL, items, last and next poll, last error."""
    pages = max(1, math.ceil(len(feeds) / FEEDS_PER_PAGE))
    page = min(max(page, 1), pages)
    embed = discord.Embed(title="This server's feeds", colour=ANSWER_COLOUR)
    if not feeds:
        embed.description = "This server follows no feed yet; add one with `/feeds add`."
        return embed
    for feed in feeds[(page - 1) * FEEDS_PER_PAGE : page * FEEDS_PER_PAGE]:
        url = safe_url(feed.url)
        lines = [
            url or clip(feed.url, 300),
            f"{feed.items} items"
            + (f" ({feed.from_summary} from the feed's summary)" if feed.from_summary else "")
            + (f" · posts to <#{feed.channel_id}>" if feed.channel_id else ""),
            f"Last poll: {when(feed.last_poll) if feed.last_poll else 'not yet'} · "
            f"next: {when(feed.next_poll) if feed.next_poll else 'soon'}",
        ]
        if feed.last_error:
            lines.append(f"Last error: {clip(one_line(feed.last_error), 400)}")
        embed.add_field(
            name=f"{feed.id} · {clip(feed_name(feed), 200)}", value="\n".join(lines), inline=False
        )
    embed.set_footer(text=f"Page {page}/{pages} · {len(feeds)} feeds · remove one by its id")
    return embed


def headlines_embed(result: FeedPollResult) -> discord.Embed:
    """The new articles of one poll of one feed, for its channel: one embed."""
    added: Sequence[ArticleRef] = result.added
    title = clip(f"New from {feed_name(result.feed)}", TITLE_LIMIT)
    lines = [f"• {headline(ref)}" for ref in added[:HEADLINES_SHOWN]]
    if len(added) > HEADLINES_SHOWN:
        lines.append(f"…and {len(added) - HEADLINES_SHOWN} more; ask me about any of them.")
    description = ""
    for line in lines:
        if len(description) + len(line) + 1 > DESCRIPTION_LIMIT:
            break
        description += ("\n" if description else "") + line
    return discord.Embed(title=title, description=description, colour=ANSWER_COLOUR)


def feed_added_text(feed: FeedInfo) -> str:
    where = f" New headlines will be posted in <#{feed.channel_id}>." if feed.channel_id else ""
    return (
        f"Following {clip(feed_name(feed), 300)} (id {feed.id}). Its articles come in at the "
        f"next poll, in a moment.{where}"
    )


def feed_removed_text(feed: FeedInfo, rebuilt: str | None) -> str:
    head = f"Stopped following {clip(feed_name(feed), 300)}; its {feed.items} items are gone."
    return f"{head} {rebuilt}" if rebuilt else head

"""Autocomplete choices: a server's articles that match what an admin has typed so far, and
the outlets a member's questions search.

Pure functions, no engine calls. Discord shows a choice's name as plain text (no markdown, no
mentions), so names are flattened to one line and cut to length but not escaped: a backslash
would show.
"""

from __future__ import annotations

from collections.abc import Sequence

from discord import app_commands

from bot.discord_app.safe_text import one_line
from index.models import Article

CHOICE_COUNT_LIMIT = 25
CHOICE_TEXT_LIMIT = 100


def article_choices(
    articles: Sequence[Article], collection: str, typed: str
) -> list[app_commands.Choice[str]]:
    """Up to 25 articles whose title or id contains `typed` in any case, best first: the title
    or id starts with it, then a word of the title does, then it is anywhere; ties by title.
    Each choice's value is the id `/articles list` shows."""
    needle = one_line(typed).casefold()
    ranked: list[tuple[int, str, str, Article]] = []
    for article in articles:
        short_id = article.id.removeprefix(f"{collection}/")
        # Discord refuses a longer value; such an id can still be typed in whole.
        if not 0 < len(short_id) <= CHOICE_TEXT_LIMIT:
            continue
        title = one_line(article.title).casefold()
        rank = _rank(needle, title, short_id.casefold())
        if rank is not None:
            ranked.append((rank, title, short_id, article))
    ranked.sort(key=lambda entry: entry[:3])
    return [
        app_commands.Choice(name=_choice_name(article, short_id), value=short_id)
        for _, _, short_id, article in ranked[:CHOICE_COUNT_LIMIT]
    ]


def _rank(needle: str, title: str, short_id: str) -> int | None:
    if title.startswith(needle) or short_id.startswith(needle):
        return 0
    if f" {needle}" in f" {title}":
        return 1
    if needle in title or needle in short_id:
        return 2
    return None


def _choice_name(article: Article, short_id: str) -> str:
    """ "Title (date · source)" within 100 characters; the title is what gets cut."""
    meta = " · ".join(one_line(p) for p in (article.date, article.source) if p and one_line(p))
    suffix = f" ({_cut(meta, 40)})" if meta else ""
    return _cut(one_line(article.title) or short_id, CHOICE_TEXT_LIMIT - len(suffix)) + suffix


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def outlet_choices(outlets: Sequence[str], typed: str) -> list[app_commands.Choice[str]]:
    """Up to 25 outlets containing `typed` in any case: those starting with it first, then
    those with a word starting with it, then the rest, each group alphabetical."""
    needle = one_line(typed).casefold()
    ranked: list[tuple[int, str, str]] = []
    for outlet in outlets:
        name = one_line(outlet)
        # Discord refuses a longer value; such an outlet can still be typed in whole.
        if not 0 < len(name) <= CHOICE_TEXT_LIMIT:
            continue
        rank = _rank(needle, name.casefold(), name.casefold())
        if rank is not None:
            ranked.append((rank, name.casefold(), name))
    ranked.sort()
    return [
        app_commands.Choice(name=name, value=name) for _, _, name in ranked[:CHOICE_COUNT_LIMIT]
    ]

"""Search results and index reports as Discord messages, each within every Discord limit.

Pure functions: no network, no engine calls. Every piece of article or user text goes through
`safe_text` before it reaches a message, and is cut at a sentence (or word) boundary so that
the embed as a whole fits the limits Discord enforces.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import discord

from bot.dates_text import date_label
from bot.discord_app.safe_text import clip, escape, one_line, safe_url
from index.engine import IndexStatus
from index.models import (
    SHARED_COLLECTION,
    Article,
    ArticleRef,
    BuildReport,
    Hit,
    SearchResult,
    SourceProblem,
    Span,
)

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000

ANSWER_COLOUR = discord.Colour.blurple()
NO_MATCH_COLOUR = discord.Colour.light_grey()
ARTICLES_PER_PAGE = 10


@dataclass(frozen=True, slots=True)
class IndexFacts:
    """What an answer's footer says about the index it came from."""

    articles: int
    built_at: str

    @classmethod
    def of(cls, status: IndexStatus, collections: Collection[str]) -> IndexFacts:
        return cls(sum(status.collections.get(c, 0) for c in collections), status.built_at)


def when(built_at: str) -> str:
    try:
        moment = datetime.fromisoformat(built_at)
    except ValueError:
        return built_at
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def footer_text(facts: IndexFacts) -> str:
    # Footers render no markdown, so this (our own) text is not escaped.
    return f"{_plural(facts.articles, 'article')} indexed · index built {when(facts.built_at)}"


def answer_embed(result: SearchResult, facts: IndexFacts) -> discord.Embed:
    """One embed: a field per hit (title; outlet and date linked; the quote in bold inside its
    passage), or "no match" with the nearest headlines; a footer on the index."""
    title = clip(one_line(result.question), TITLE_LIMIT) or "Your question"
    footer = footer_text(facts)[:FOOTER_LIMIT]
    room = EMBED_TOTAL_LIMIT - len(title) - len(footer)
    if not result.matched:
        embed = discord.Embed(
            title=title,
            description=no_match_text(result.nearest, min(DESCRIPTION_LIMIT, room)),
            colour=NO_MATCH_COLOUR,
        )
        return embed.set_footer(text=footer)
    embed = discord.Embed(title=title, colour=ANSWER_COLOUR)
    hits = distinct_quotes(result.hits)[:FIELD_LIMIT]
    # Names stay well under their limit so that five full fields always leave room for quotes.
    names = [clip(one_line(hit.article.title), 200) or "Untitled" for hit in hits]
    room -= sum(len(name) for name in names)
    for number, (hit, name) in enumerate(zip(hits, names, strict=True)):
        # An equal share of what is left, so that later hits are never starved.
        value = hit_value(hit, min(FIELD_VALUE_LIMIT, room // (len(hits) - number)))
        room -= len(value)
        embed.add_field(name=name, value=value, inline=False)
    return embed.set_footer(text=footer)


def distinct_quotes(hits: Sequence[Hit]) -> list[Hit]:
    """Hits minus any that would show a quote already shown: neighbouring passages of one
    article share an edge sentence, and the engine may quote it for both."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for hit in hits:
        key = (hit.article.id, hit.quote_start, hit.quote_end)
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return out


def hit_value(hit: Hit, limit: int) -> str:
    """A field value of at most `limit` characters: source line, passage, other copies."""
    source = source_line(hit.article, limit // 3, hit.link)
    head = f"{source}\n" if source else ""
    value = head + quoted_passage(hit, limit - len(head))
    copies = also_in_line(hit.also_in, limit - len(value) - 1)
    return (f"{value}\n{copies}" if copies else value) or "…"


def source_line(ref: ArticleRef, limit: int, link: str | None = None) -> str:
    """ "[Outlet · 3 days ago · 2024-07-21](link)", or the same words unlinked when there is no
    usable URL. `link` (the deep link to the quote) is used over the article's URL."""
    label = " · ".join(one_line(p) for p in (ref.source, date_label(ref.date)) if p and one_line(p))
    url = safe_url(link) or safe_url(ref.url)
    if url:
        linked = f"[{clip(label or 'Read the article', 200)}]({url})"
        if len(linked) <= limit:
            return linked
    return clip(label, limit) if label else ""


def also_in_line(copies: Sequence[ArticleRef], limit: int) -> str:
    """ "Also in: A, B" for syndicated copies, as many as fit."""
    if not copies or limit <= 0:
        return ""
    line = "Also in:"
    for ref in copies:
        name = one_line(ref.source or ref.title)
        url = safe_url(ref.url)
        item = f"[{clip(name, 100)}]({url})" if url else clip(name, 100)
        candidate = f"{line}{',' if line != 'Also in:' else ''} {item}"
        if len(candidate) > limit:
            break
        line = candidate
    return "" if line == "Also in:" else line


def quoted_passage(hit: Hit, limit: int) -> str:
    """The passage with its answering sentence in bold, cut to whole sentences around the
    quote (nearest first) when it does not fit in `limit`. The sentences are the ones the
    index stored with the passage: the text is never split again here."""
    quote = one_line(hit.quote)
    # Two characters a side for the bold markers, two more for an ellipsis marking cut context.
    bold_room = limit - 8
    if not quote or bold_room < 1:
        return clip(one_line(hit.text), limit)
    bold = f"**{clip(quote, bold_room)}**"
    room = limit - len(bold) - 4
    earlier = [_shown(hit, s) for s in hit.sentences if s.end <= hit.quote_start]
    later = [_shown(hit, s) for s in hit.sentences if s.start >= hit.quote_end]
    shown_before: list[str] = []
    shown_after: list[str] = []
    open_sides = {"before": bool(earlier), "after": bool(later)}
    while any(open_sides.values()):
        for side in ("before", "after"):
            if not open_sides[side]:
                continue
            pool, shown = (earlier, shown_before) if side == "before" else (later, shown_after)
            sentence = pool[len(pool) - 1 - len(shown)] if side == "before" else pool[len(shown)]
            if len(sentence) + 1 > room:
                open_sides[side] = False
                continue
            room -= len(sentence) + 1
            shown.append(sentence)
            open_sides[side] = len(shown) < len(pool)
    parts = [*reversed(shown_before), bold, *shown_after]
    text = " ".join(parts)
    if len(shown_before) < len(earlier):
        text = f"… {text}"
    if len(shown_after) < len(later):
        text = f"{text} …"
    return text


def _shown(hit: Hit, sentence: Span) -> str:
    return escape(one_line(hit.excerpt(sentence)))


def no_match_text(nearest: Sequence[ArticleRef], limit: int) -> str:
    text = "No passage in the collection answers that question closely enough."
    if nearest:
        text += "\n\n**Nearest headlines**"
        for ref in nearest:
            line = f"\n• {headline(ref)}"
            if len(text) + len(line) > limit:
                break
            text += line
    return text[:limit]


def headline(ref: ArticleRef) -> str:
    title = one_line(ref.title) or "Untitled"
    url = safe_url(ref.url)
    shown = f"[{clip(title, 200)}]({url})" if url else clip(title, 200)
    meta = " · ".join(one_line(p) for p in (ref.source, date_label(ref.date)) if p and one_line(p))
    return f"{shown} — {clip(meta, 100)}" if meta else shown


def progress_line(stage: str, done: int, total: int) -> str:
    return f"Reindexing: {stage} {done}/{total}…" if total else f"Reindexing: {stage}…"


def build_summary(report: BuildReport, limit: int = CONTENT_LIMIT) -> str:
    if report.up_to_date:
        head = (
            f"The index is up to date: {_plural(report.articles, 'article')}, "
            f"{_plural(report.passages, 'passage')}."
        )
    else:
        head = (
            f"Indexed {_plural(report.articles, 'article')} into "
            f"{_plural(report.passages, 'passage')} in {report.seconds:.1f} s "
            f"({report.embedded} embedded, {report.reused} reused; {report.added_articles} "
            f"added, {report.changed_articles} changed, {report.removed_articles} removed)."
        )
    return with_problems(head, [f"{p.origin}: {p.reason}" for p in report.problems], limit)


def added_summary(
    added: Sequence[Article], problems: Sequence[SourceProblem], report: BuildReport
) -> str:
    titles = ", ".join(f"“{clip(one_line(a.title), 100)}”" for a in added[:5])
    more = f" and {len(added) - 5} more" if len(added) > 5 else ""
    head = (
        f"Added {_plural(len(added), 'article')} to this server: {titles}{more}. "
        f"{build_summary(report, CONTENT_LIMIT // 2)}"
    )
    return with_problems(head, [f"{p.origin}: {p.reason}" for p in problems])


def removed_summary(removed: Article, report: BuildReport) -> str:
    title = clip(one_line(removed.title), 200)
    return f"Removed “{title}”. {build_summary(report, CONTENT_LIMIT // 2)}"


def with_problems(head: str, problems: Sequence[str], limit: int = CONTENT_LIMIT) -> str:
    """`head`, then as many "skipped" lines as fit, then how many were left out."""
    if not problems:
        return head[:limit]
    text = f"{head}\nSkipped {_plural(len(problems), 'input')}:"
    for shown, problem in enumerate(problems):
        line = f"\n• {clip(one_line(problem), 300)}"
        rest = len(problems) - shown
        if len(text) + len(line) + len(f"\n…and {rest} more") > limit:
            return f"{text}\n…and {rest} more"
        text += line
    return text


def article_page(
    articles: Sequence[Article], page: int, collection: str, shared: int
) -> discord.Embed:
    """One page of a server's own articles, with the ids `/articles remove` takes."""
    pages = max(1, math.ceil(len(articles) / ARTICLES_PER_PAGE))
    page = min(max(page, 1), pages)
    embed = discord.Embed(title="This server's articles", colour=ANSWER_COLOUR)
    if not articles:
        embed.description = (
            "This server has no articles of its own yet; add one with `/articles add`. "
            f"Questions here also search the {_plural(shared, 'shared article')}."
        )
        return embed
    lines = []
    for article in articles[(page - 1) * ARTICLES_PER_PAGE : page * ARTICLES_PER_PAGE]:
        short_id = article.id.removeprefix(f"{collection}/")
        shown_id = f"`{short_id[:150]}`" if "`" not in short_id else clip(short_id, 150)
        date = f" ({clip(one_line(article.date), 40)})" if article.date else ""
        lines.append(f"• {clip(one_line(article.title), 150)}{date} — id {shown_id}")
    embed.description = "\n".join(lines)
    embed.set_footer(
        text=f"Page {page}/{pages} · {_plural(len(articles), 'article')} in this server · "
        f"{_plural(shared, 'shared article')}"
    )
    return embed


def status_embed(status: IndexStatus, collection: str, building: bool) -> discord.Embed:
    own = status.collections.get(collection, 0)
    shared = status.collections.get(SHARED_COLLECTION, 0)
    embed = discord.Embed(title="Index status", colour=ANSWER_COLOUR)
    embed.add_field(name="Searchable here", value=_plural(own + shared, "article"))
    embed.add_field(name="This server's own", value=_plural(own, "article"))
    embed.add_field(name="Shared collection", value=_plural(shared, "article"))
    embed.add_field(name="Passages (all servers)", value=str(status.passages))
    embed.add_field(name="Built", value=when(status.built_at))
    embed.add_field(name="Model", value=clip(status.model, 200))
    if building:
        embed.add_field(name="Now", value="A build is running.", inline=False)
    return embed

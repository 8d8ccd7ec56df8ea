"""Answers rendered for a terminal: quote with the answering sentence emphasised, and source."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.dates_text import date_label
from index.models import (
    ArticleRef,
    BuildReport,
    FeedbackReport,
    FeedInfo,
    Hit,
    MergeReport,
    PollReport,
    SearchResult,
    Span,
)

if TYPE_CHECKING:
    from index.engine import Watch

BOLD = "\x1b[1m"
RESET = "\x1b[0m"


def source_line(ref: ArticleRef) -> str:
    parts = [p for p in (ref.source, date_label(ref.date)) if p]
    return f"{ref.title}" + (f" — {', '.join(parts)}" if parts else "")


def emphasised(hit: Hit, ansi: bool) -> str:
    before = hit.excerpt(Span(hit.char_start, hit.quote_start))
    after = hit.excerpt(Span(hit.quote_end, hit.char_end))
    mark = (BOLD, RESET) if ansi else ("**", "**")
    return f"{before}{mark[0]}{hit.quote}{mark[1]}{after}"


def render_result(result: SearchResult, ansi: bool = False, width: int = 100) -> str:
    if not result.matched:
        lines = ["No passage in the collection answers that question."]
        if result.nearest:
            lines.append("Nearest articles:")
            lines.extend(f"  - {source_line(ref)}" for ref in result.nearest)
        return "\n".join(lines)
    blocks = []
    for number, hit in enumerate(result.hits, start=1):
        body = " ".join(emphasised(hit, ansi).split())
        wrapped = textwrap.fill(body, width=width, initial_indent="   ", subsequent_indent="   ")
        block = [f"{number}. {source_line(hit.article)}", wrapped]
        if hit.link:
            block.append(f"   {hit.link}")
        for copy in hit.also_in:
            block.append(f"   also in: {source_line(copy)}" + (f" {copy.url}" if copy.url else ""))
        blocks.append("\n".join(block))
    return "\n\n".join(blocks)


def render_build(report: BuildReport) -> str:
    if report.up_to_date:
        head = f"Index is up to date: {report.articles} articles, {report.passages} passages."
    else:
        head = (
            f"Indexed {report.articles} articles into {report.passages} passages in "
            f"{report.seconds:.1f} s ({report.embedded} embedded, {report.reused} reused; "
            f"{report.added_articles} added, {report.changed_articles} changed, "
            f"{report.removed_articles} removed)."
        )
    lines = [head]
    if report.problems:
        lines.append(f"Skipped {len(report.problems)} input(s):")
        lines.extend(f"  - {p.origin}: {p.reason}" for p in report.problems)
    return "\n".join(lines)


def render_merge(report: MergeReport) -> str:
    if not report.merged and not report.retrained:
        return "Nothing to merge: the segments are as the merge policy wants them."
    retrained = "; IVF lists trained again" if report.retrained else ""
    return (
        f"Merged {report.merged} segment(s) into one of {report.passages} passages in "
        f"{report.seconds:.1f} s ({report.dropped} deleted passages left out{retrained}): "
        f"{report.reason}."
    )


def render_feedback(report: FeedbackReport) -> str:
    lines = [f"Feedback in {report.scope} (demoted at {report.threshold} down-votes)"]
    if report.passages:
        lines.append("  Most down-voted passages:")
        for p in report.passages:
            mark = " [demoted]" if p.demoted else ""
            lines.append(f"    -{p.down} +{p.up}{mark}  {p.passage_id}  {p.title}")
            lines.append(f"        “{textwrap.shorten(p.quote, 90)}”")
    else:
        lines.append("  No down-voted passages.")
    if report.no_match:
        lines.append("  Latest questions with no match:")
        for q in report.no_match:
            moment = datetime.fromtimestamp(q.asked_at, UTC)
            lines.append(f"    {moment:%Y-%m-%d %H:%M}  {textwrap.shorten(q.question, 90)}")
    else:
        lines.append("  No unanswered questions.")
    return "\n".join(lines)


def feed_line(feed: FeedInfo) -> str:
    """One followed feed: id, title, URL, items and schedule, and its last error if any."""
    summary = f", {feed.from_summary} from the feed summary" if feed.from_summary else ""
    channel = f", posts to channel {feed.channel_id}" if feed.channel_id else ""
    lines = [
        f"[{feed.id}] {feed.title or '(not polled yet)'} — {feed.url}",
        f"    {feed.collection}: {feed.items} items{summary}{channel}; "
        f"last poll {feed.last_poll or 'never'}, next {feed.next_poll or 'now'}",
    ]
    if feed.last_error:
        lines.append(f"    last error: {feed.last_error}")
    return "\n".join(lines)


def render_poll(report: PollReport) -> str:
    if not report.feeds:
        lines = ["No feed was due."]
    else:
        lines = []
        for result in report.feeds:
            name = result.feed.title or result.feed.url
            if result.error:
                lines.append(f"{name}: failed: {result.error}")
            elif result.not_modified:
                lines.append(f"{name}: unchanged")
            else:
                lines.append(f"{name}: {len(result.added)} new")
                lines.extend(f"  + {source_line(ref)}  {ref.url or ''}" for ref in result.added)
    if report.pruned:
        lines.append(f"Pruned {report.pruned} old feed articles.")
    if report.build is not None:
        lines.append(render_build(report.build))
    return "\n".join(lines)


def watch_line(watch: Watch) -> str:
    """One watched question: its number, the question, its filters and when it expires."""
    filters = "".join(
        [
            f"; outlets {', '.join(watch.outlets)}" if watch.outlets else "",
            f"; since {watch.since}" if watch.since else "",
        ]
    )
    expires = f"{datetime.fromtimestamp(watch.expires_at, UTC):%Y-%m-%d}"
    return f"[{watch.id}] {watch.question}{filters} (expires {expires})"

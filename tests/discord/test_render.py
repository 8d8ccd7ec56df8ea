"""Rendering for Discord: escaping holds against adversarial text, and every embed fits.

Pure functions, no server: these run in milliseconds, so hypothesis can throw thousands of
hostile passages at them.
"""

from __future__ import annotations

import dataclasses
import re

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dates_text import date_label
from bot.discord_app.render import (
    CONTENT_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    IndexFacts,
    answer_embed,
    article_page,
    build_summary,
    distinct_quotes,
    quoted_passage,
)
from bot.discord_app.safe_text import ZWSP, clip, escape
from index.models import (
    Article,
    ArticleRef,
    BuildReport,
    Hit,
    SearchResult,
    SourceProblem,
    Span,
)
from tests.discord.checks import assert_embed_fits, assert_inert, unescape

FACTS = IndexFacts(articles=12, built_at="2026-11-25T14:45:09+00:00")
HOSTILE = [
    "@everyone",
    "@here",
    "<@123>",
    "<@!456>",
    "<@&789>",
    "<#42>",
    "</ask:1>",
    "<t:1700000000:R>",
    "<:emoji:123>",
    "[click here](https://evil.example/phish)",
    "[x](<https://evil.example>)",
    "discord.gg/abcdef",
    "https://discord.com/invite/xyz",
    "https://example.com/a_b_c*d*",
    "**bold**",
    "__under__",
    "~~gone~~",
    "||spoiler||",
    "`code`",
    "```block```",
    "# Heading",
    "> quote",
    "-# subtext",
    "- item",
    "1. first",
    "\\",
    "\u200b",
]
words = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet="abcXYZ019 *_~`|[]()<>#@:-.!?\\/\n", min_size=1, max_size=30),
)
sentence = st.builds(
    lambda parts, repeat: (" ".join(parts) * repeat).strip() + ".",
    st.lists(words, min_size=1, max_size=12),
    st.integers(min_value=1, max_value=12),
)


def bare_specials(text: str) -> list[str]:
    """Characters with a markdown meaning that are not backslash-escaped."""
    found, escaped = [], False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*_~`|[]<>":
            found.append(char)
    return found


def hit_of(sentences: list[str], quote: int, article: ArticleRef, start: int = 100) -> Hit:
    """A passage of `sentences` joined by spaces, at offset `start` of its article, quoting
    sentence number `quote`."""
    spans = []
    for sentence in sentences:
        begin = spans[-1].end + 1 if spans else start
        spans.append(Span(begin, begin + len(sentence)))
    return Hit(
        article=article,
        char_start=start,
        char_end=spans[-1].end,
        text=" ".join(sentences),
        quote_start=spans[quote].start,
        quote_end=spans[quote].end,
        score=0.9,
        sentences=tuple(spans),
    )


def ref(n: int, title: str = "Title", url: str | None = "https://news.example/a") -> ArticleRef:
    return ArticleRef(str(n), title, "2021-06-28", "The Outlet", url, "shared")


def assert_fits(embed: discord.Embed) -> None:
    assert_embed_fits(dict(embed.to_dict()))
    assert len(embed) <= EMBED_TOTAL_LIMIT


# --------------------------------------------------------------------------- escaping


@given(st.lists(words, max_size=20).map(" ".join))
@settings(max_examples=400)
def test_escape_is_inert_and_loses_no_text(text: str) -> None:
    escaped = escape(text)
    assert_inert(escaped)
    assert unescape(escaped) == text.replace(ZWSP, "")


@given(st.lists(words, max_size=20).map(" ".join))
def test_escape_leaves_no_bare_markdown_outside_links(text: str) -> None:
    outside = re.sub(r"(?:https?|steam)://[^\s<]+[^<.,:;\"')\]\s]", "", escape(text))
    assert bare_specials(outside) == []


def test_escape_examples() -> None:
    assert escape("[click](https://evil.example/x)") == r"\[click\](https://evil.example/x)"
    assert escape("hi @everyone") == f"hi @{ZWSP}everyone"
    assert escape("<@123> said") == r"\<@123\> said"
    assert escape("join discord.gg/abc") == f"join discord{ZWSP}.gg/abc"
    assert escape("see https://a.example/x_y_z.") == "see https://a.example/x_y_z."
    assert escape("1. first") == r"1\. first"
    assert escape("- item") == r"\- item"


@given(st.lists(words, max_size=30).map(" ".join), st.integers(min_value=1, max_value=300))
@settings(max_examples=300)
def test_clip_fits_and_keeps_a_prefix(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert len(clipped) <= limit
    shown = unescape(clipped.removesuffix("…"))
    assert text.replace(ZWSP, "").startswith(shown.rstrip())
    assert_inert(clipped)


# --------------------------------------------------------------------------- answers


@given(
    st.lists(st.lists(sentence, min_size=1, max_size=6), min_size=1, max_size=5),
    st.data(),
)
@settings(max_examples=100, deadline=None)
def test_any_answer_fits_every_limit_and_is_inert(
    passages: list[list[str]], data: st.DataObject
) -> None:
    hits = []
    for n, sentences in enumerate(passages):
        quote = data.draw(st.integers(min_value=0, max_value=len(sentences) - 1))
        title = data.draw(st.lists(words, min_size=1, max_size=40).map(" ".join))
        hits.append(hit_of(sentences, quote, ref(n, title)))
    question = data.draw(st.lists(words, min_size=1, max_size=60).map(" ".join))
    embed = answer_embed(SearchResult(question, tuple(hits), matched=True), FACTS)

    assert_fits(embed)
    assert len(embed.fields) == len(hits)
    for field in embed.fields:
        # The first line is the bot's own link to the article.
        assert_inert((field.value or "").split("\n", 1)[1])
        assert_inert(field.name or "")
        assert (field.value or "").count("**") >= 2
    assert_inert(embed.title or "")


# Relative to the clock: "5 years ago · 2021-06-28" as these tests are written.
DATE = date_label("2021-06-28")


def test_quote_is_bold_inside_its_passage() -> None:
    sentences = ["The port closed on Monday.", "Kirby said the strikes were necessary.", "Done."]
    embed = answer_embed(SearchResult("who?", (hit_of(sentences, 1, ref(1)),), matched=True), FACTS)

    (field,) = embed.fields
    assert field.name == "Title"
    assert field.value == (
        f"[The Outlet · {DATE}](https://news.example/a)\n"
        "The port closed on Monday. **Kirby said the strikes were necessary.** Done."
    )
    assert embed.footer.text == "12 articles indexed · index built 2026-11-25 14:45 UTC"


def test_the_source_links_to_the_quote_when_the_hit_has_a_deep_link() -> None:
    sentences = ["The port closed.", "Kirby spoke."]
    link = "https://news.example/a#:~:text=Kirby%20spoke."
    hit = dataclasses.replace(hit_of(sentences, 1, ref(1)), link=link)
    embed = answer_embed(SearchResult("who?", (hit,), matched=True), FACTS)

    assert (embed.fields[0].value or "").startswith(f"[The Outlet · {DATE}]({link})\n")
    assert DATE is not None and DATE.endswith("ago · 2021-06-28")


def test_long_passage_is_cut_at_sentences_around_the_quote() -> None:
    sentences = [
        f"Sentence number {i} says something rather long about the port." for i in range(60)
    ]
    embed = answer_embed(SearchResult("q", (hit_of(sentences, 30, ref(1)),), matched=True), FACTS)

    value = embed.fields[0].value or ""
    assert len(value) <= FIELD_VALUE_LIMIT
    assert "**Sentence number 30 says something rather long about the port.**" in value
    body = value.split("\n", 1)[1]
    assert body.startswith("… Sentence number ") and body.endswith("port. …")
    # Whole sentences only, nearest the quote first, on both sides.
    assert "Sentence number 29 " in body and "Sentence number 31 " in body
    assert "Sentence number 0 " not in body


def test_context_too_long_to_show_is_marked_as_cut() -> None:
    # The neighbours are the stored sentences, each longer than the room: neither is shown,
    # and both cuts are marked.
    neighbour = ("far " * 80).strip() + "."
    hit = hit_of([neighbour, "Kirby spoke.", neighbour], 1, ref(1))

    assert quoted_passage(hit, 60) == "… **Kirby spoke.** …"


def test_only_the_stored_sentences_are_shown_around_the_quote() -> None:
    # A line between two stored sentences (a "2 min read" the reader excluded) is no sentence
    # of the passage: context is made of the passage's sentences only.
    hit = hit_of(["The port closed.", "2 min read", "Kirby spoke."], 2, ref(1))
    hit = dataclasses.replace(hit, sentences=(hit.sentences[0], hit.sentences[2]))

    assert quoted_passage(hit, 200) == "The port closed. **Kirby spoke.**"


def test_overlong_quote_is_cut_at_a_word() -> None:
    sentences = [("word " * 400).strip() + "."]
    embed = answer_embed(SearchResult("q", (hit_of(sentences, 0, ref(1)),), matched=True), FACTS)

    value = embed.fields[0].value or ""
    assert len(value) <= FIELD_VALUE_LIMIT
    assert value.endswith("word…**")


def test_five_long_hits_share_the_6000_characters() -> None:
    sentences = [("long " * 150).strip() + "." for _ in range(5)]
    hits = tuple(hit_of(sentences, 2, ref(n, "T" * 300)) for n in range(5))
    embed = answer_embed(SearchResult("Q" * 400, hits, matched=True), FACTS)

    assert_fits(embed)
    assert len(embed.fields) == 5


def test_repeated_quote_is_shown_once() -> None:
    sentences = ["One.", "Two.", "Three."]
    first = hit_of(sentences, 1, ref(1))
    again = hit_of(sentences[1:], 0, ref(1), start=first.quote_start)
    assert (again.quote_start, again.quote_end) == (first.quote_start, first.quote_end)

    assert distinct_quotes([first, again]) == [first]


def test_no_match_lists_the_nearest_headlines_linked() -> None:
    nearest = (ref(1, "Harbour *reopens*"), ref(2, "Strikes", url=None))
    embed = answer_embed(SearchResult("bread?", (), matched=False, nearest=nearest), FACTS)

    assert embed.fields == []
    description = embed.description or ""
    assert description.startswith("No passage in the collection answers that question")
    assert rf"[Harbour \*reopens\*](https://news.example/a) — The Outlet · {DATE}" in description
    assert "• Strikes — The Outlet" in description


def test_article_without_url_or_outlet_is_still_cited() -> None:
    article = ArticleRef("a", "Plain", None, None, "javascript:alert(1)", "shared")
    embed = answer_embed(
        SearchResult("q", (hit_of(["Only sentence."], 0, article),), matched=True), FACTS
    )

    assert embed.fields[0].value == "**Only sentence.**"


# --------------------------------------------------------------------------- admin replies


def test_build_summary_fits_with_many_problems() -> None:
    problems = [SourceProblem(f"file_{i}.txt", "binary file, not text " * 5) for i in range(500)]
    report = BuildReport(articles=3, passages=9, embedded=2, reused=7, problems=problems)

    text = build_summary(report)

    assert len(text) <= CONTENT_LIMIT
    assert text.startswith("Indexed 3 articles into 9 passages")
    assert re.search(r"…and \d+ more$", text)
    assert r"file\_0.txt" in text


def test_article_page_pages_and_shows_removable_ids() -> None:
    articles = [
        Article(f"guild:1/a{i}.txt", f"Title {i}", "text", "2024-01-01", collection="guild:1")
        for i in range(23)
    ]

    last = article_page(articles, 99, "guild:1", shared=4)

    assert last.footer.text == "Page 3/3 · 23 articles in this server · 4 shared articles"
    assert (last.description or "").count("\n") == 2
    assert "• Title 20 (2024-01-01) — id `a20.txt`" in (last.description or "")
    assert "no articles of its own" in (article_page([], 1, "guild:1", 4).description or "")

"""Boilerplate spans (cleanup) and the head of plain-text articles (plaintext)."""

from __future__ import annotations

from datetime import date

import pytest

from index.ingest.cleanup import boilerplate_spans
from index.ingest.plaintext import parse_date, parse_head

PAGE = """Budget vote delayed
By Jane Doe | Staff writer
Updated on March 3, 2023 at 10:00
5 min read
Share this article
The council delayed its budget vote by a week. Members said they needed more time.
Click to share on Twitter
Subscribe to our newsletter for free updates
Advertisement
Residents who share a driveway will pay a lower fee, the council said.
Photo: City Hall
Related
The fee schedule will be published in full on the council's website next month.
Councillors will meet again on March 10 to vote on the final budget for the year.
4 Comments
Great article! Thanks for writing it.
"""

BOILERPLATE = [
    "By Jane Doe | Staff writer",
    "Updated on March 3, 2023 at 10:00",
    "5 min read",
    "Share this article",
    "Click to share on Twitter",
    "Subscribe to our newsletter for free updates",
    "Advertisement",
    "Photo: City Hall",
    "Related",
    "4 Comments\nGreat article! Thanks for writing it.\n",
]


def flagged(text: str, body_start: int = 0) -> list[str]:
    return [text[s.start : s.end] for s in boilerplate_spans(text, body_start)]


def test_boilerplate_lines_and_comment_footer_are_found() -> None:
    assert flagged(PAGE) == BOILERPLATE


def test_prose_is_not_flagged() -> None:
    prose = [
        "Budget vote delayed",
        "The council delayed its budget vote by a week. Members said they needed more time.",
        "Residents who share a driveway will pay a lower fee, the council said.",
        "The fee schedule will be published in full on the council's website next month.",
        "Councillors will meet again on March 10 to vote on the final budget for the year.",
    ]
    spans = boilerplate_spans(PAGE)
    for line in prose:
        start = PAGE.index(line)
        assert not any(s.start <= start < s.end for s in spans), line


@pytest.mark.parametrize(
    "line",
    [
        "By noon, the crowd had grown to 5,000 people.",
        "By Tuesday, officials said the bridge would reopen.",
        "By the time firefighters arrived the roof had collapsed.",
        "Share prices fell 3 percent after the announcement.",
        "Updated figures show 12 people were hurt.",
        "Published reports in 2019 said the same.",
        "Email was the main way residents reached the council.",
        "Related questions remain about the cost.",
        "Print editions were delayed by a day, the publisher said.",
    ],
)
def test_sentences_that_start_like_boilerplate_are_prose(line: str) -> None:
    text = f"Storm hits coast\nThe storm cut power to thousands of homes.\n{line}\n"
    assert flagged(text) == []


@pytest.mark.parametrize(
    "line",
    [
        "BY JOHN SMITH",
        "By J. R. Hartley, Reuters",
        "Published: 2023-03-03",
        "Posted 3 hours ago",
        "Posted by admin on March 3, 2023",
        "Updated Fri. March 3, 2023 10:32 a.m. EST",
        "Tweet",
        "Share on Facebook",
        "Follow us on Instagram",
        "Read more: Storm season starts early",
        "Image credit: Reuters",
    ],
)
def test_other_boilerplate_lines(line: str) -> None:
    text = f"Storm hits coast\n{line}\nThe storm cut power to thousands of homes.\n"
    assert flagged(text) == [line]


def test_footer_heading_in_the_first_half_is_a_section_title() -> None:
    # "Comments" early on is more likely the title of a section than a comment form.
    text = "Comments\n" + "The debate went on for hours, and every speaker was heard. " * 20
    assert flagged(text) == []


def test_lines_before_body_start_are_left_alone() -> None:
    text = "5 min read\nThe body starts here.\n3 min read\n"
    assert flagged(text, body_start=11) == ["3 min read"]


def test_windows_line_endings() -> None:
    text = PAGE.replace("\n", "\r\n")
    assert [t.rstrip("\r") for t in flagged(text)] == [
        b.replace("\n", "\r\n").rstrip("\r") for b in BOILERPLATE
    ]


def test_spans_index_the_text_exactly() -> None:
    text = "Title\r\n  Advertisement  \nBody sentence here.\n"
    spans = boilerplate_spans(text)
    assert len(spans) == 1
    assert text[spans[0].start : spans[0].end].strip() == "Advertisement"


# --- plaintext: the head of a .txt article ----------------------------------------------


@pytest.mark.parametrize(
    "line",
    ["Leave a reply :", "Comments (12):", "  about the author  \r", "4 comments"],
)
def test_footer_lines_with_edge_space_and_colons(line: str) -> None:
    text = "The council met.\n" * 5 + line + "\nGreat article!\n"
    assert boilerplate_spans(text)[0].start == text.index(line)


# Each of these took quadratic time when the patterns matched the edge spaces themselves: a
# hundred thousand spaces would hold the reader for minutes (see also
# tests/unit/text/test_sentences_scaling.py for why there is no timing threshold here).
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "line",
    [
        "Comments" + " " * 200_000 + "x",
        "About the author" + " " * 200_000 + "x",
        "Updated" + " " * 200_000 + "x",
        "Read more" + " " * 200_000 + "x" * 100,
        " " * 1_000_000,
    ],
)
def test_long_space_runs_are_not_boilerplate(line: str) -> None:
    text = "Storm hits coast\nThe storm cut power.\n" + line + "\nIt rained.\n"
    assert boilerplate_spans(text) == []


@pytest.mark.timeout(120)
def test_boilerplate_after_a_long_space_run_is_still_found() -> None:
    line = "Updated:" + " " * 200_000 + "June 3, 2024"
    text = "Storm hits coast\nThe storm cut power.\n" + line + "\nIt rained.\n"
    assert flagged(text) == [line]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("June 28, 2021", date(2021, 6, 28)),
        ("Jun 28, 2021", date(2021, 6, 28)),
        ("Sept. 3rd, 2020", date(2020, 9, 3)),
        ("28 June 2021", date(2021, 6, 28)),
        ("2021-06-28", date(2021, 6, 28)),
        ("Monday, June 28, 2021", date(2021, 6, 28)),
        ("Published on June 28, 2021", date(2021, 6, 28)),
        ("  06/28/2021 ", date(2021, 6, 28)),
        ("June 28", None),
        ("The strikes hit on June 28, 2021", None),
        ("", None),
    ],
)
def test_parse_date(line: str, expected: date | None) -> None:
    assert parse_date(line) == expected


def test_head_with_date_title_and_reading_time() -> None:
    text = "June 28, 2021\nU.S. strikes militia sites\n2 min read\n\nWASHINGTON — Body. More.\n"
    head = parse_head(text)
    assert head.title == "U.S. strikes militia sites"
    assert head.date == "2021-06-28"
    assert [text[s.start : s.end] for s in head.excluded] == [
        "June 28, 2021",
        "U.S. strikes militia sites",
        "2 min read",
    ]
    assert text[head.body_start :].lstrip().startswith("WASHINGTON")


def test_head_title_then_date() -> None:
    text = "Bridge reopens\nPosted on Sept. 3rd, 2020\n\nThe bridge reopened. Traffic flowed.\n"
    head = parse_head(text)
    assert (head.title, head.date) == ("Bridge reopens", "2020-09-03")
    assert text[head.body_start :].strip() == "The bridge reopened. Traffic flowed."


def test_prose_opening_is_not_a_title() -> None:
    text = (
        "June 28, 2021\nThe first paragraph is prose. It has two sentences.\n\nMore prose here.\n"
    )
    head = parse_head(text)
    assert head.title is None
    assert head.date == "2021-06-28"
    # Only the date line is metadata; the prose stays in the body.
    assert [text[s.start : s.end] for s in head.excluded] == ["June 28, 2021"]


def test_no_head_at_all() -> None:
    text = "The council met on Tuesday. It voted to raise the budget. Nobody objected.\n"
    head = parse_head(text)
    assert (head.title, head.date, head.excluded, head.body_start) == (None, None, (), 0)


def test_a_single_line_is_the_article_not_its_title() -> None:
    # Were it taken as the title, the article would have no text left to quote.
    text = "The council approved the budget on Tuesday\n"
    head = parse_head(text)
    assert (head.title, head.excluded, head.body_start) == (None, (), 0)
    dated = "June 28, 2021\nThe council approved the budget on Tuesday\n"
    head = parse_head(dated)
    assert (head.title, head.date) == (None, "2021-06-28")
    assert [dated[s.start : s.end] for s in head.excluded] == ["June 28, 2021"]


def test_a_short_opening_sentence_is_not_a_title() -> None:
    text = "The council met on Tuesday.\n\nIt voted to raise the budget. Nobody objected.\n"
    head = parse_head(text)
    assert (head.title, head.excluded, head.body_start) == (None, (), 0)


@pytest.mark.parametrize(
    "title",
    ["Talks resume in the U.S.", "Merger agreed with Acme Corp.", "Waiting for news...", "Why?"],
)
def test_headlines_may_end_in_an_abbreviation_or_other_marks(title: str) -> None:
    head = parse_head(f"{title}\n\nThe talks resumed on Monday. Both sides attended.\n")
    assert head.title == title

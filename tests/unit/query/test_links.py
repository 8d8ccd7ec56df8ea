"""Deep links with URL text fragments, encoded as the WICG spec requires."""

from __future__ import annotations

from urllib.parse import unquote

from index.query.links import deep_link, text_directive


def test_short_quote_is_one_encoded_term() -> None:
    link = deep_link("https://news.example/a?id=3", "Prices rose 3-4%, & fell, again.")
    assert link == (
        "https://news.example/a?id=3#:~:text=Prices%20rose%203%2D4%25%2C%20%26%20fell%2C%20again."
    )


def test_long_quote_is_start_and_end() -> None:
    quote = "The harbour council approved the budget on Tuesday after a long debate about the wall."
    directive = text_directive(quote)
    assert directive == "text=The%20harbour%20council%20approved,debate%20about%20the%20wall."
    start, end = directive.removeprefix("text=").split(",")
    assert quote.startswith(unquote(start)) and quote.endswith(unquote(end))


def test_existing_fragment_is_replaced_and_whitespace_collapsed() -> None:
    link = deep_link("https://news.example/a#comments", "Line one\n  continues")
    assert link == "https://news.example/a#:~:text=Line%20one%20continues"


def test_only_http_links_get_a_fragment() -> None:
    assert deep_link(None, "anything") is None
    assert deep_link("seeds/article.txt", "anything") == "seeds/article.txt"
    assert deep_link("HTTP://news.example/a", "  ") == "HTTP://news.example/a"
    non_ascii = deep_link("https://news.example/a", "Zoë’s café")
    assert non_ascii == "https://news.example/a#:~:text=Zo%C3%AB%E2%80%99s%20caf%C3%A9"

"""The paragraph around a quote, for a reader who wants more than the passage."""

from __future__ import annotations

from index.models import ArticleRef, QuoteContext
from index.text.sentences import split_sentences

# A "paragraph" longer than this (a page extracted as one line) is cut to whole sentences
# around the quote, nearest first.
MAX_PARAGRAPH_CHARS = 1500


def quote_context(article: ArticleRef, text: str, quote_start: int, quote_end: int) -> QuoteContext:
    start = text.rfind("\n", 0, quote_start) + 1
    end = text.find("\n", quote_end)
    end = len(text) if end < 0 else end
    if end - start > MAX_PARAGRAPH_CHARS:
        start, end = _around(text, start, end, quote_start, quote_end)
    # Leading and trailing blanks are not part of what is shown.
    while start < quote_start and text[start].isspace():
        start += 1
    while end > quote_end and text[end - 1].isspace():
        end -= 1
    return QuoteContext(article, text[start:end], start, quote_start, quote_end)


def _around(text: str, start: int, end: int, quote_start: int, quote_end: int) -> tuple[int, int]:
    spans = [(start + s.start, start + s.end) for s in split_sentences(text[start:end])]
    before = [s for s in spans if s[1] <= quote_start]
    after = [s for s in spans if s[0] >= quote_end]
    lo, hi = quote_start, quote_end
    room = MAX_PARAGRAPH_CHARS - (quote_end - quote_start)
    while before or after:
        grew = False
        for side in (before, after):
            if not side:
                continue
            s = side[-1] if side is before else side[0]
            width = (lo - s[0]) if side is before else (s[1] - hi)
            if width > room:
                side.clear()
                continue
            room -= width
            if side is before:
                lo = s[0]
                side.pop()
            else:
                hi = s[1]
                side.pop(0)
            grew = True
        if not grew:
            break
    return lo, hi

"""Sentence segmentation with exact character offsets.

syntok does the hard part inside a block (abbreviations like "U.S." and "Sen.", decimals,
quotations). Around it, line structure decides the blocks: news text puts paragraphs, bullet
items and headings on lines of their own, which a prose segmenter would glue together.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator

import syntok.segmenter as syntok

from index.models import Span
from index.text.excluded import ExcludedSpans

# Every pattern here is tried at one place (`match`) or, with `search`/`finditer`, cannot
# backtrack over a run more than once: a pattern ending in "\s*$" or "\s+[...]+$" tried with
# `search` restarts at every character of a long run of spaces and takes quadratic time, so
# what must hold at a line's end is checked with string methods from the end.
_BULLET_RE = re.compile(r"^\s*(?:[-*•·–—]|\d{1,3}[.)])\s+")
_TERMINALS = ".!?:;…"
_CLOSERS_AFTER_TERMINAL = "\"'”’)]"
# Glyphs (and dashes) that open a list item or a line; a sentence never starts with one.
_LEADING_BULLET_RE = re.compile(r"(?:[•·▪●◦‣∙*\-–—]+\s+)+")
# A quotation mark standing apart from any word, as scraped text leaves them: ". “" at a
# sentence's end, "” Then" at its start.
_QUOTES = "\"'“”‘’«»„‟‹›"
_QUOTE_RE = re.compile(f"[{_QUOTES}]")
_STRAY_START_RE = re.compile(rf"[{_QUOTES}]+\s+")
# "– McNaldy", "— John Kirby, Pentagon": a dash and a few capitalised words after a quotation,
# naming who said it. Tried with `match` at the fragment's start and end.
_ATTRIBUTION_RE = re.compile(r"[-–—]\s*[A-Z]\w*(?:[\s,.]+[A-Z]\w*){0,3}$")


def _blocks(text: str) -> Iterator[Span]:
    """Runs of lines that belong together: a paragraph, a bullet item, a heading.

    A single newline ends a block unless the line reads as hard-wrapped prose (no closing
    punctuation, and the next line continues in lower case).
    """
    lines = [m for m in re.finditer(r"[^\n]+", text) if m.group().strip()]
    start: int | None = None
    for i, line in enumerate(lines):
        if start is None:
            start = line.start()
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        joined = (
            nxt is not None
            and "\n\n" not in text[line.end() : nxt.start()]
            and not _ends_sentence(line.group())
            and not _BULLET_RE.match(nxt.group())
            and nxt.group().lstrip()[:1].islower()
        )
        if not joined:
            yield Span(start, line.end())
            start = None


def _ends_sentence(line: str) -> bool:
    """Whether the line ends in closing punctuation, maybe followed by quotes or brackets."""
    bare = line.rstrip().rstrip(_CLOSERS_AFTER_TERMINAL)
    return bare != "" and bare[-1] in _TERMINALS


_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = set(_OPENERS.values())
# syntok looks ahead from every opening bracket for its closer, so a run of unclosed ones is
# quadratic (20,000 "[" took seconds). Brackets closed within this many characters keep their
# meaning for the segmenter; the rest are blanked, one space for one character, so offsets
# into the chunk stay exact.
_BRACKET_REACH = 1000


def _mask_open_brackets(chunk: str) -> str:
    if not any(c in _OPENERS for c in chunk):
        return chunk
    open_at: list[int] = []
    masked: list[int] = []
    for i, c in enumerate(chunk):
        if c in _OPENERS:
            open_at.append(i)
        elif c in _CLOSERS and open_at and _OPENERS[chunk[open_at[-1]]] == c:
            start = open_at.pop()
            if i - start > _BRACKET_REACH:
                masked.append(start)
    masked.extend(open_at)
    if not masked:
        return chunk
    chars = list(chunk)
    for i in masked:
        chars[i] = " "
    return "".join(chars)


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def _tidy(text: str, span: Span) -> Span | None:
    """The span as a reader sees the sentence: no bullet glyph or stray quotation mark at
    either edge; None when nothing but punctuation is left (a lone "“" is not a sentence)."""
    start, end = span.start, span.end
    while (
        m := _LEADING_BULLET_RE.match(text, start, end) or _STRAY_START_RE.match(text, start, end)
    ) is not None:
        start = m.end()
    while (cut := _stray_end(text, start, end)) is not None:
        end = cut
    return _trimmed(text, start, end) if _has_words(text[start:end]) else None


def _stray_end(text: str, start: int, end: int) -> int | None:
    """Where whitespace followed by nothing but quotation marks begins at the end of
    text[start:end]; None when the span does not end that way."""
    quotes = end
    while quotes > start and text[quotes - 1] in _QUOTES:
        quotes -= 1
    space = quotes
    while space > start and text[space - 1].isspace():
        space -= 1
    return space if start <= space < quotes < end else None


def _has_words(piece: str) -> bool:
    return any(c.isalnum() for c in piece)


def _attach_attributions(text: str, spans: list[Span], skip: ExcludedSpans) -> list[Span]:
    """Fold an attribution fragment into the sentence before it, unless excluded text lies
    between them; alone it would be quoted as a "sentence" of its own."""
    # Looked up by position: a chain of attributions grows one sentence, and searching its
    # whole text for a quotation mark at each link would be quadratic.
    quotes = [m.start() for m in _QUOTE_RE.finditer(text)]
    out: list[Span] = []
    for span in spans:
        if (
            out
            and _ATTRIBUTION_RE.match(text, span.start, span.end)
            and _any_between(quotes, out[-1].start, span.start)
            and not skip.any_within(out[-1].end, span.start)
        ):
            out[-1] = Span(out[-1].start, span.end)
        else:
            out.append(span)
    return out


def _any_between(positions: list[int], start: int, end: int) -> bool:
    i = bisect_left(positions, start)
    return i < len(positions) and positions[i] < end


def split_sentences(text: str, excluded: Iterable[Span] = ()) -> list[Span]:
    """Sentence spans of `text`, in order, skipping any that fall inside an excluded span.

    A span never starts with a bullet or dash, never starts or ends with a quotation mark
    that stands apart from its words, and holds at least one letter or digit. Time grows
    linearly with the length of `text` (tests/unit/text/test_sentences_scaling.py).
    """
    skip = ExcludedSpans(excluded)
    worded = [s for s in _segment(text, skip) if _has_words(text[s.start : s.end])]
    out: list[Span] = []
    for raw in _attach_attributions(text, worded, skip):
        span = _tidy(text, raw)
        if span is not None and not skip.covers(span.start, span.end):
            out.append(span)
    return out


def _segment(text: str, skip: ExcludedSpans) -> list[Span]:
    out: list[Span] = []
    for block in _blocks(text):
        if skip.covers(block.start, block.end):
            continue
        chunk = _mask_open_brackets(text[block.start : block.end])
        for paragraph in syntok.analyze(chunk):
            for sentence in paragraph:
                tokens = list(sentence)
                if not tokens:
                    continue
                first = tokens[0]
                last = tokens[-1]
                # syntok's offset points at the token value, after any leading spacing.
                span = _trimmed(
                    text, block.start + first.offset, block.start + last.offset + len(last.value)
                )
                if span is not None and not skip.covers(span.start, span.end):
                    out.append(span)
    return out

"""Sentence segmentation with exact character offsets.

syntok does the hard part inside a block (abbreviations like "U.S." and "Sen.", decimals,
quotations). Around it, line structure decides the blocks: news text puts paragraphs, bullet
items and headings on lines of their own, which a prose segmenter would glue together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import syntok.segmenter as syntok

from index.models import Span

_BULLET_RE = re.compile(r"^\s*(?:[-*•·–—]|\d{1,3}[.)])\s+")
_TERMINAL_RE = re.compile(r"[.!?:;…][\"'”’)\]]*\s*$")
# Glyphs (and dashes) that open a list item or a line; a sentence never starts with one.
_LEADING_BULLET_RE = re.compile(r"(?:[•·▪●◦‣∙*\-–—]+\s+)+")
# A quotation mark standing apart from any word, as scraped text leaves them: ". “" at a
# sentence's end, "” Then" at its start.
_QUOTES = "\"'“”‘’«»„‟‹›"
_STRAY_END_RE = re.compile(rf"\s+[{_QUOTES}]+$")
_STRAY_START_RE = re.compile(rf"[{_QUOTES}]+\s+")
# "– McNaldy", "— John Kirby, Pentagon": a dash and a few capitalised words after a quotation,
# naming who said it.
_ATTRIBUTION_RE = re.compile(r"^[-–—]\s*[A-Z]\w*(?:[\s,.]+[A-Z]\w*){0,3}$")


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
            and not _TERMINAL_RE.search(line.group())
            and not _BULLET_RE.match(nxt.group())
            and nxt.group().lstrip()[:1].islower()
        )
        if not joined:
            yield Span(start, line.end())
            start = None


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
    while (m := _STRAY_END_RE.search(text, start, end)) is not None:
        end = m.start()
    return _trimmed(text, start, end) if _has_words(text[start:end]) else None


def _has_words(piece: str) -> bool:
    return any(c.isalnum() for c in piece)


def _attach_attributions(text: str, spans: list[Span], skip: list[Span]) -> list[Span]:
    """Fold an attribution fragment into the sentence before it, unless excluded text lies
    between them; alone it would be quoted as a "sentence" of its own."""
    out: list[Span] = []
    for span in spans:
        fragment = text[span.start : span.end]
        if (
            out
            and _ATTRIBUTION_RE.match(fragment)
            and any(q in text[out[-1].start : span.start] for q in _QUOTES)
            and not any(out[-1].end <= s.start and s.end <= span.start for s in skip)
        ):
            out[-1] = Span(out[-1].start, span.end)
        else:
            out.append(span)
    return out


def split_sentences(text: str, excluded: Iterable[Span] = ()) -> list[Span]:
    """Sentence spans of `text`, in order, skipping any that fall inside an excluded span.

    A span never starts with a bullet or dash, never starts or ends with a quotation mark
    that stands apart from its words, and holds at least one letter or digit.
    """
    skip = sorted(excluded, key=lambda s: s.start)
    worded = [s for s in _segment(text, skip) if _has_words(text[s.start : s.end])]
    out: list[Span] = []
    for raw in _attach_attributions(text, worded, skip):
        span = _tidy(text, raw)
        if span is not None and not any(x.start <= span.start and span.end <= x.end for x in skip):
            out.append(span)
    return out


def _segment(text: str, skip: list[Span]) -> list[Span]:
    out: list[Span] = []
    for block in _blocks(text):
        if any(s.start <= block.start and block.end <= s.end for s in skip):
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
                if span is not None and not any(
                    s.start <= span.start and span.end <= s.end for s in skip
                ):
                    out.append(span)
    return out

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


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def split_sentences(text: str, excluded: Iterable[Span] = ()) -> list[Span]:
    """Sentence spans of `text`, in order, skipping any that fall inside an excluded span."""
    skip = sorted(excluded, key=lambda s: s.start)
    out: list[Span] = []
    for block in _blocks(text):
        if any(s.start <= block.start and block.end <= s.end for s in skip):
            continue
        chunk = text[block.start : block.end]
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

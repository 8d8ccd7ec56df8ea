"""Passages: overlapping windows of consecutive sentences that fit the model's input window."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from index.models import Passage, Span
from index.text.excluded import ExcludedSpans
from index.text.sentences import split_sentences

TokenCounter = Callable[[str], int]


def approximate_tokens(text: str) -> int:
    """Word-piece count estimate for when no tokenizer is at hand (about 1.3 per word)."""
    return max(1, round(len(re.findall(r"\w+|[^\w\s]", text)) * 1.15))


@dataclass(frozen=True, slots=True)
class PassagePlan:
    max_sentences: int = 3
    max_tokens: int = 128
    overlap: int = 2


def _split_long(text: str, span: Span, max_tokens: int, count: TokenCounter) -> list[Span]:
    """Cut a sentence too long for the window at word boundaries into pieces that fit."""
    words = list(re.finditer(r"\S+", text[span.start : span.end]))
    pieces: list[Span] = []
    i = 0
    while i < len(words):
        j = i + 1
        while (
            j < len(words)
            and count(text[span.start + words[i].start() : span.start + words[j].end()])
            <= max_tokens
        ):
            j += 1
        pieces.append(Span(span.start + words[i].start(), span.start + words[j - 1].end()))
        i = j
    return pieces


def make_passages(
    article_id: str,
    text: str,
    excluded: Iterable[Span],
    plan: PassagePlan,
    count: TokenCounter = approximate_tokens,
) -> list[Passage]:
    """Windows of up to `plan.max_sentences` sentences and `plan.max_tokens` tokens.

    Consecutive windows share `plan.overlap` sentences, so an answer that sits at a window's
    edge still appears with its context in the next one.
    """
    skip = ExcludedSpans(excluded)
    units: list[Span] = []
    sizes: list[int] = []
    # Windows never reach across excluded text (a share prompt between two paragraphs):
    # a passage is one contiguous slice of the article, so it would be quoted too.
    segments: list[int] = []
    segment = 0
    for sentence in split_sentences(text, skip.spans):
        if units and skip.any_within(units[-1].end, sentence.start):
            segment += 1
        n = count(text[sentence.start : sentence.end])
        if n > plan.max_tokens:
            for piece in _split_long(text, sentence, plan.max_tokens, count):
                units.append(piece)
                sizes.append(count(text[piece.start : piece.end]))
                segments.append(segment)
        else:
            units.append(sentence)
            sizes.append(n)
            segments.append(segment)

    passages: list[Passage] = []
    start = 0
    while start < len(units):
        end = start + 1
        total = sizes[start]
        while (
            end < len(units)
            and end - start < plan.max_sentences
            and total + sizes[end] <= plan.max_tokens
            and segments[end] == segments[start]
        ):
            total += sizes[end]
            end += 1
        window = tuple(units[start:end])
        passages.append(Passage(article_id, window[0].start, window[-1].end, window))
        if end >= len(units):
            break
        start = end if segments[end] != segments[start] else max(start + 1, end - plan.overlap)
    return passages

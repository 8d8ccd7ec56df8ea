"""What the confidence and the quote of a ranked passage are read from, once per search."""

from __future__ import annotations

from dataclasses import dataclass

from index.models import Span


@dataclass(frozen=True, slots=True)
class PassageText:
    # Row of the passage's article in the store: quotes are kept apart per article.
    article: int
    title: str
    # The whole article: every span below indexes it.
    text: str
    passage: Span
    sentences: tuple[Span, ...]

    def excerpt(self, span: Span) -> str:
        return self.text[span.start : span.end]

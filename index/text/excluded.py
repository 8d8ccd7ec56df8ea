"""Excluded spans (boilerplate, headings, front matter) asked about in logarithmic time.

Splitting an article asks, for each of its sentences, whether an excluded span holds it or
lies between it and the one before. Scanning the whole list each time is quadratic in a
hostile article (thousands of "Advertisement" lines between thousands of one-word lines).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate

from index.models import Span


class ExcludedSpans:
    """Spans sorted by start, with running maxima and minima of their ends."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self.spans = sorted(spans, key=lambda s: s.start)
        self._starts = [s.start for s in self.spans]
        # The furthest any span starting at or before index i reaches.
        self._reach = list(accumulate((s.end for s in self.spans), max))
        # The nearest end of any span starting at or after index i.
        self._nearest_end = list(accumulate((s.end for s in reversed(self.spans)), min))[::-1]

    def __bool__(self) -> bool:
        return bool(self.spans)

    def covers(self, start: int, end: int) -> bool:
        """Whether one excluded span holds all of [start, end)."""
        before = bisect_right(self._starts, start)
        return before > 0 and self._reach[before - 1] >= end

    def any_within(self, start: int, end: int) -> bool:
        """Whether an excluded span lies wholly inside [start, end).

        A span ending by `end` also starts by it, so the nearest end among the spans that
        start at or after `start` decides.
        """
        first = bisect_right(self._starts, start - 1)
        return first < len(self.spans) and self._nearest_end[first] <= end

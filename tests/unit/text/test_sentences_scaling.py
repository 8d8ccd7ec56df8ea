"""Splitting stays linear on hostile text: long runs of spaces, quotes, brackets and dots.

How this is tested, and why. Python's `re` exposes no step count, and the team forbids
wall-clock thresholds in tests (on a shared machine they fail at random or prove nothing),
so "time grows linearly" is checked in two deterministic halves:

1. The patterns that backtracked quadratically were replaced by string scans from the end
   (`_ends_sentence`, `_stray_end`). Hypothesis checks that each gives exactly what the old
   pattern gave, on generated runs of whitespace, quotes, brackets and terminal punctuation
   short enough for the old pattern: behaviour is unchanged, only the cost is.
2. Inputs of about 1 MB built from the same runs are split, and the spans checked exactly
   (offsets, trimming, order). The quadratic code needed 93 s for 100 KB of spaces between
   two letters and hours for 1 MB; the linear code needs well under a second to a few
   seconds (bench/text_scaling.py prints the times and growth ratios for n = 10k..1M).
   The per-test timeout below is the hang guard pytest-timeout gives every test, set a
   hundredfold above the linear time: it is never a measurement, and a regression to
   quadratic time fails it by orders of magnitude, not by a margin.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.models import Span
from index.text.excluded import ExcludedSpans
from index.text.sentences import _QUOTES, _ends_sentence, _stray_end, split_sentences

# The patterns as they were before they were made linear: the reference for behaviour.
OLD_TERMINAL_RE = re.compile(r"[.!?:;…][\"'”’)\]]*\s*$")
OLD_STRAY_END_RE = re.compile(rf"\s+[{_QUOTES}]+$")

RUN_CHARS = " \t\n\u00a0" + _QUOTES + "()[]{}.!?:;…-—•" + "xyAB"


def runs(max_run: int, max_runs: int = 12) -> st.SearchStrategy[str]:
    """Text made of runs of one character each, as hostile input is."""
    run = st.tuples(st.sampled_from(RUN_CHARS), st.integers(1, max_run))
    return st.lists(run, max_size=max_runs).map(lambda rs: "".join(c * n for c, n in rs))


@settings(max_examples=400)
@given(runs(max_run=30))
def test_line_end_check_matches_the_old_pattern(line: str) -> None:
    assert _ends_sentence(line) == bool(OLD_TERMINAL_RE.search(line))


@settings(max_examples=400)
@given(runs(max_run=30), st.data())
def test_stray_quote_cut_matches_the_old_pattern(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    old = OLD_STRAY_END_RE.search(text, start, end)
    assert _stray_end(text, start, end) == (old.start() if old else None)


def assert_exact_spans(text: str, spans: list[Span]) -> None:
    previous_end = 0
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip()
        assert any(c.isalnum() for c in piece)
        previous_end = span.end


@pytest.mark.timeout(120)
def test_a_megabyte_of_spaces_has_no_sentence() -> None:
    assert split_sentences(" " * 1_000_000) == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("n", [100_000, 1_000_000])
@pytest.mark.parametrize("head", ["x", "# x"])
def test_letters_around_a_long_run_of_spaces(head: str, n: int) -> None:
    text = head + " " * n + "y"
    assert split_sentences(text) == [Span(0, len(text))]


@pytest.mark.timeout(120)
def test_stray_quotes_after_long_space_runs_are_cut() -> None:
    text = "He said so." + " " * 200_000 + "”" * 1000 + "\n\n" + "Then he left." + " " * 200_000
    spans = split_sentences(text)
    assert [text[s.start : s.end] for s in spans] == ["He said so.", "Then he left."]
    assert spans[1].start == text.index("Then")


@pytest.mark.timeout(120)
def test_a_long_chain_of_attributions_folds_into_one_sentence() -> None:
    text = "“We will win.”" + "\n– Al" * 40_000
    assert split_sentences(text) == [Span(0, len(text))]


@pytest.mark.timeout(120)
def test_many_excluded_lines_between_many_sentences() -> None:
    line = "Advertisement\nWord.\n"
    text = line * 25_000
    excluded = [Span(i, i + len("Advertisement")) for i in range(0, len(text), len(line))]
    spans = split_sentences(text, excluded)
    assert len(spans) == 25_000
    assert all(text[s.start : s.end] == "Word." for s in spans)


@pytest.mark.timeout(300)
@settings(max_examples=5, deadline=None)
@given(runs(max_run=100_000, max_runs=20))
def test_large_generated_runs_split_exactly(text: str) -> None:
    assert_exact_spans(text, split_sentences(text))


spans_strategy = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 20)).map(lambda t: Span(t[0], t[0] + t[1])),
    max_size=8,
)


@given(spans_strategy, st.integers(0, 80), st.integers(0, 20))
def test_excluded_span_lookups_match_a_scan(spans: list[Span], start: int, length: int) -> None:
    end = start + length
    excluded = ExcludedSpans(spans)
    assert excluded.covers(start, end) == any(s.start <= start and end <= s.end for s in spans)
    assert excluded.any_within(start, end) == any(start <= s.start and s.end <= end for s in spans)

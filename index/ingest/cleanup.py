"""Spans of boilerplate that passages must skip: reading-time lines, share prompts, comment forms.

The stored text is never rewritten; callers exclude the returned spans from passages.
"""

from __future__ import annotations

import re

from index.models import Span

# A line that is boilerplate on its own wherever it stands.
_LINE_PATTERNS = [
    r"\d+\s*(?:min(?:ute)?s?|m)\.?\s+read",
    r"(?:share|tweet|email|print)(?:\s+(?:this|on|via)\b.*)?",
    r"share\s+(?:this\s+)?(?:article|story|post)\b.*",
    r"(?:click|tap)\s+to\s+(?:share|print|email)\b.*",
    r"(?:subscribe|sign\s+up)\b.{0,80}(?:newsletter|updates|inbox|free)\b.*",
    r"(?:follow\s+us|like\s+us)\s+on\b.*",
    r"(?:advertisement|sponsored(?:\s+content)?|related(?:\s+(?:articles|stories|posts))?)",
    r"(?:read\s+more|continue\s+reading|see\s+also)\s*+:?.{0,80}",
    # A byline names a person: capitalised words, whatever the case-insensitive rest; and it is
    # not a sentence ("By noon, the crowd had grown." is prose).
    r"(?:by|written\s+by)\s+(?-i:[A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){0,3})"
    r"(?:\s*[|,].{0,60}(?<![.!?\"”]))?",
    # A timestamp line: a date or time follows the verb ("Updated figures show 12 ..." is prose).
    r"(?:updated|published|posted)(?:\s+(?:on|at))?(?:\s*:\s+|\s+)"
    r"(?=\d|by\s|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)"
    r"[a-z]*\.?\s)"
    r".{0,60}\d.{0,40}",
    r"(?:photo|image)\s*(?:credit)?\s*:.{0,120}",
]
# Matched whole against a line stripped of its edge spaces (and "\r" of CRLF files) in
# Python: edge space left to the pattern ("[ \t]*" beside "\s*" or ".{0,80}") backtracks over
# a long run of spaces once per split of it, in quadratic time.
_LINE_RE = re.compile("|".join(_LINE_PATTERNS), re.IGNORECASE)

# A line that starts a footer: it and everything after it is boilerplate (comment forms). An
# ending colon is cut off before matching, as the edge spaces are.
_FOOTER_RE = re.compile(
    r"leave\s+a\s+(?:reply|comment)|\d+\s+comments?|comments(?:\s*\(\d+\))?|"
    r"post\s+a\s+comment|join\s+the\s+discussion|about\s+the\s+author",
    re.IGNORECASE,
)
_EDGE_SPACE = " \t\r"


def boilerplate_spans(text: str, body_start: int = 0) -> list[Span]:
    """Spans of `text` (at or after `body_start`) that are not article prose."""
    lines = [
        (m.start(), m.end(), bare)
        for m in re.finditer(r"[^\n]+", text)
        if m.start() >= body_start and (bare := m.group().lstrip(" \t").rstrip(_EDGE_SPACE))
    ]
    spans: list[Span] = []
    footer = next((start for start, _, bare in lines if _is_footer(bare)), None)
    # A footer heading in the first half is more likely a section title than a comment form.
    end_of_body = len(text)
    if footer is not None and footer >= body_start + (len(text) - body_start) // 2:
        end_of_body = footer
        spans.append(Span(footer, len(text)))
    for start, end, bare in lines:
        if end <= end_of_body and _LINE_RE.fullmatch(bare):
            spans.append(Span(start, end))
    return sorted(spans, key=lambda s: s.start)


def _is_footer(bare: str) -> bool:
    if bare.endswith(":"):
        bare = bare[:-1].rstrip(_EDGE_SPACE)
    return _FOOTER_RE.fullmatch(bare) is not None

"""Make untrusted text (article passages, titles, user input) inert inside a Discord message.

Article text is quoted into embeds, where Discord renders markdown, masked links, mentions,
custom emoji and timestamps. Everything that could change how the text renders is escaped
with a backslash, which Discord hides, so the reader still sees the source's exact words.
Mass mentions and invite links get a zero-width space instead: a backslash would not stop
Discord from recognising them everywhere it scans for them.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"

# Discord's own autolink pattern (the one discord.py's escape_markdown keeps as well). Inside a
# link Discord applies no markdown, so there only what could end our own bold markers, open a
# code span or spoiler, or look like a masked link is escaped: underscores and tildes, common
# in URLs, stay as they are and the link stays usable.
_URL_RE = re.compile(r"(?<![\w\\])(?:https?|steam)://[^\s<]+[^<.,:;\"')\]\s]")
_OUTSIDE_LINKS_RE = re.compile(r"([\\*_~`|\[\]<>#])")
_INSIDE_LINKS_RE = re.compile(r"([\\*`|\[\]])")
# At the start of a line these begin a list, a subtext line or a numbered list ("1." is
# escaped at its dot: Discord shows a backslash before a digit).
_LINE_START_RE = re.compile(r"\A(\s*(?:\d+(?=\.))?)([-+.])")
_MASS_MENTION_RE = re.compile(r"@(everyone|here)", re.IGNORECASE)
_INVITE_RE = re.compile(
    r"(discord(?:app)?)(\s*\.\s*(?:gg|io|me|li|new|com\s*/\s*invite)\b)", re.IGNORECASE
)
_WHITESPACE_RE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """Collapse every run of whitespace (newlines too) to one space, so that no line of the
    text can start a heading, quote block or list."""
    return _WHITESPACE_RE.sub(" ", text).strip()


def neutralise(text: str) -> str:
    """Break mass mentions and invite links without changing what the text looks like."""
    text = _MASS_MENTION_RE.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)
    return _INVITE_RE.sub(lambda m: f"{m.group(1)}{ZWSP}{m.group(2)}", text)


def escape(text: str) -> str:
    """`text` as literal Discord markdown: no formatting, masked link, mention or invite."""
    text = neutralise(text)
    out: list[str] = []
    cursor = 0
    for link in _URL_RE.finditer(text):
        out.append(_OUTSIDE_LINKS_RE.sub(r"\\\1", text[cursor : link.start()]))
        out.append(_INSIDE_LINKS_RE.sub(r"\\\1", link.group()))
        cursor = link.end()
    out.append(_OUTSIDE_LINKS_RE.sub(r"\\\1", text[cursor:]))
    return _LINE_START_RE.sub(r"\1\\\2", "".join(out))


def clip(text: str, limit: int, ellipsis: str = "…") -> str:
    """The longest prefix of `text`, cut at a word boundary, whose escaped form plus
    `ellipsis` fits in `limit` characters; `text` escaped and whole when it fits."""
    whole = escape(text)
    if len(whole) <= limit:
        return whole
    if limit < len(ellipsis):
        return ""
    words = [m.start() for m in re.finditer(r"\s+", text)]
    # A first word longer than the room is cut inside.
    return (
        _longest(text, words, limit, ellipsis)
        or _longest(text, list(range(1, len(text))), limit, ellipsis)
        or ellipsis
    )


def _longest(text: str, cuts: list[int], limit: int, ellipsis: str) -> str:
    """Binary search over cut positions; every answer is checked, so an odd string where a
    longer prefix escapes shorter can only cost length, never the limit."""
    low, high, best = 0, len(cuts) - 1, ""
    while low <= high:
        middle = (low + high) // 2
        candidate = escape(text[: cuts[middle]].rstrip()) + ellipsis
        if len(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def safe_url(url: str | None) -> str | None:
    """An http(s) URL that can sit inside `[text](url)`, or None."""
    if not url or not re.match(r"https?://[^\s]+\Z", url):
        return None
    return url.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")

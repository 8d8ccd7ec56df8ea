"""Deep links that open an article at the quoted sentence: URL text fragments.

A text fragment (`#:~:text=...`, WICG "Text Fragments") makes the browser scroll to and
highlight the first match of the text. Its terms are percent-encoded, and "-", "&" and ","
must be too, since they delimit the directive's parts; everything outside the unreserved set
is encoded here. A long quote is given as its first and last words (`textStart,textEnd`), which
matches the same range and survives small differences inside it (markup, a changed word).
"""

from __future__ import annotations

from urllib.parse import quote, urldefrag

# Above this many words a quote is linked by its first and last `_EDGE_WORDS` words.
_LONG_WORDS = 10
_EDGE_WORDS = 4


def encode_term(text: str) -> str:
    return quote(text, safe="").replace("-", "%2D")


def text_directive(quote_text: str) -> str | None:
    """`text=...` for `quote_text`, or None when it holds no words."""
    words = quote_text.split()
    if not words:
        return None
    if len(words) <= _LONG_WORDS:
        return f"text={encode_term(' '.join(words))}"
    start = " ".join(words[:_EDGE_WORDS])
    end = " ".join(words[-_EDGE_WORDS:])
    return f"text={encode_term(start)},{encode_term(end)}"


def deep_link(url: str | None, quote_text: str) -> str | None:
    """`url` opening at `quote_text` when it is an http(s) URL (any fragment it had is
    replaced); other URLs as they are; None without one."""
    if not url:
        return None
    if not url.lower().startswith(("http://", "https://")):
        return url
    directive = text_directive(quote_text)
    base = urldefrag(url).url
    return f"{base}#:~:{directive}" if directive else base

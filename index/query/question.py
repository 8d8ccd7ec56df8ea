"""Any string a user can send, made into a question the encoder, BM25 and SQLite all accept."""

from __future__ import annotations

from itertools import chain

# C0 and C1 control characters (NUL, escapes, ...) carry no words; as spaces they cannot glue
# two words into one either.
_CONTROLS = {code: " " for code in chain(range(0x20), range(0x7F, 0xA0))}


def clean_question(raw: str, max_chars: int) -> str:
    """`raw` without control characters or lone surrogates, trimmed, cut to `max_chars`.

    Surrogate halves that arrived as two code points are joined into their character; a lone
    half, which no UTF-8 encoder (the tokenizer, PyStemmer, SQLite) accepts, becomes U+FFFD.
    """
    text = raw.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.translate(_CONTROLS).strip()[:max_chars].rstrip()

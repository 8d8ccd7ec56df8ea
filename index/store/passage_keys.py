"""Passage keys: a 64-bit name for one version of a passage, the same in every state.

A key hashes the article's id and digest with the passage's span, so it survives merges
(which renumber rows) and names a new key when the article changes (its digest changes), so
an index outside the data directory (Milvus) is kept in step by adding and deleting keys.
"""

from __future__ import annotations

import hashlib

import numpy as np

from index.store.database import Store


def passage_key(article_id: str, article_digest: str, char_start: int, char_end: int) -> int:
    raw = f"{article_id}\x1f{article_digest}\x1f{char_start}\x1f{char_end}".encode(
        "utf-8", "surrogatepass"
    )
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big", signed=True)


def store_keys(store: Store) -> np.ndarray:
    """The key of each passage of one segment's store, by local row."""
    articles = {row: (id_, digest) for row, id_, digest, _ in store.article_index()}
    columns = store.passage_columns()
    return np.fromiter(
        (
            passage_key(*articles[int(a)], int(s), int(e))
            for a, s, e in zip(columns.article, columns.start, columns.end, strict=True)
        ),
        dtype=np.int64,
        count=len(columns.article),
    )

"""The last body of every URL source, with its validators, so a rebuild asks the server
"changed since?" (ETag / Last-Modified) instead of downloading every page again.

One SQLite file in the data directory; each entry is replaced in one transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from index.ingest.fetch import Fetched, fetch_url

URL_CACHE_NAME = "url-cache.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,
    final_url TEXT NOT NULL,
    content_type TEXT NOT NULL,
    charset TEXT,
    etag TEXT,
    last_modified TEXT,
    body BLOB NOT NULL
);
"""


class UrlCache:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / URL_CACHE_NAME

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30.0)
        try:
            conn.executescript(_SCHEMA)
            with conn:
                yield conn
        finally:
            conn.close()

    def fetch(self, url: str, *, max_bytes: int, timeout: float, allow_private: bool) -> Fetched:
        """`url`'s page: the cached body when the server answers 304, else the new one."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT final_url, content_type, charset, etag, last_modified, body "
                "FROM pages WHERE url = ?",
                (url,),
            ).fetchone()
        cached = Fetched(row[0], bytes(row[5]), row[1], row[2], row[3], row[4]) if row else None
        fetched = fetch_url(
            url,
            max_bytes=max_bytes,
            timeout=timeout,
            allow_private=allow_private,
            etag=cached.etag if cached else None,
            last_modified=cached.last_modified if cached else None,
        )
        if fetched.not_modified and cached is not None:
            return cached
        if fetched.etag or fetched.last_modified:
            with self._connect() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO pages VALUES (?,?,?,?,?,?,?)",
                    (
                        url,
                        fetched.url,
                        fetched.content_type,
                        fetched.charset,
                        fetched.etag,
                        fetched.last_modified,
                        fetched.body,
                    ),
                )
        return fetched

"""The SQLite store: passage columns read as arrays, in row order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.models import Article, Span
from index.store.database import Store, StoredArticle, StoredPassage, write_store


def _article(row: int) -> StoredArticle:
    article = Article(
        id=f"a{row}", title=f"Title {row}", text="One. Two. Three.", collection="shared"
    )
    return StoredArticle(row, article, digest=f"d{row}", origin="test")


def test_passage_columns_follow_the_rows(tmp_path: Path) -> None:
    passages = [
        StoredPassage(row, row % 2, row, row + 5, (Span(row, row + 5),), f"p{row}", f"k{row}")
        for row in range(7)
    ]
    # Written out of order: the columns are by row, not by insertion.
    write_store(tmp_path / "store.db", [_article(0), _article(1)], passages[::-1])
    store = Store(tmp_path / "store.db")
    columns = store.passage_columns()
    store.close()
    np.testing.assert_array_equal(columns.article, [r % 2 for r in range(7)])
    np.testing.assert_array_equal(columns.start, range(7))
    np.testing.assert_array_equal(columns.end, range(5, 12))
    assert columns.article.dtype == np.int64


def test_an_empty_store_has_empty_columns(tmp_path: Path) -> None:
    write_store(tmp_path / "store.db", [], [])
    store = Store(tmp_path / "store.db")
    columns = store.passage_columns()
    store.close()
    assert len(columns.article) == len(columns.start) == len(columns.end) == 0

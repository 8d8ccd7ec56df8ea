"""Admin-added articles per collection: the contract against the data directory's files and
PostgreSQL, and what the files alone must do (safe names, no temporary file left)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import InputError
from index.models import SHARED_COLLECTION, Article, ParsedArticle, Span
from index.store.backend import StateStores
from index.store.library import FileLibrary


def parsed(article_id: str, text: str = "The bridge reopened. Traffic flowed.") -> ParsedArticle:
    return ParsedArticle(
        Article(id=article_id, title=f"Title of {article_id}", text=text, date="2024-01-02"),
        excluded=(Span(0, 3),),
        origin=f"upload:{article_id}",
    )


def test_add_list_and_remove_per_collection(stores: StateStores) -> None:
    library = stores.library()
    added = library.add("111", [parsed("bridge.txt"), parsed("dam.txt")])
    assert [a.id for a in added] == ["111/bridge.txt", "111/dam.txt"]
    assert all(a.collection == "111" for a in added)
    library.add("222", [parsed("bridge.txt")])

    assert [p.article.id for p in library.articles("111")] == ["111/bridge.txt", "111/dam.txt"]
    assert [p.article.id for p in library.articles("222")] == ["222/bridge.txt"]
    assert library.articles("333") == []
    assert library.collections() == ["111", "222"]

    removed = library.remove("111", "bridge.txt")
    assert removed.id == "111/bridge.txt"
    assert [p.article.id for p in library.articles("111")] == ["111/dam.txt"]
    # The other collection's article of the same name is untouched.
    assert [p.article.id for p in library.articles("222")] == ["222/bridge.txt"]


def test_articles_survive_a_reload_verbatim(stores: StateStores) -> None:
    text = "  Odd  spacing\tand “quotes”.\n\nSecond paragraph.  "
    stores.library().add("111", [parsed("odd.md", text)])
    [again] = stores.library().articles("111")
    assert again.article.text == text
    assert again.article.date == "2024-01-02"
    assert again.excluded == (Span(0, 3),)
    assert again.origin == "upload:odd.md"
    assert [p.article.id for p in stores.library().read_all()] == ["111/odd.md"]


def test_same_id_replaces_and_scoped_ids_are_not_doubled(stores: StateStores) -> None:
    library = stores.library()
    library.add("111", [parsed("bridge.txt", "First version. Of the text.")])
    library.add("111", [parsed("111/bridge.txt", "Second version. Of the text.")])
    [only] = library.articles("111")
    assert only.article.id == "111/bridge.txt"
    assert only.article.text == "Second version. Of the text."


def test_remove_by_scoped_id_and_unknown_id(stores: StateStores) -> None:
    library = stores.library()
    library.add("111", [parsed("a.txt"), parsed("b.txt")])
    assert library.remove("111", "111/a.txt").id == "111/a.txt"
    with pytest.raises(InputError, match=r"no article 'a\.txt'"):
        library.remove("111", "a.txt")
    # Another collection's id cannot be reached from this one.
    library.add("222", [parsed("c.txt")])
    with pytest.raises(InputError):
        library.remove("111", "222/c.txt")
    assert [p.article.id for p in library.articles("222")] == ["222/c.txt"]


def test_shared_collection_is_refused(stores: StateStores, tmp_path: Path) -> None:
    library = stores.library()
    with pytest.raises(InputError, match="shared collection"):
        library.add(SHARED_COLLECTION, [parsed("a.txt")])
    with pytest.raises(InputError, match="shared collection"):
        library.remove(SHARED_COLLECTION, "a.txt")
    with pytest.raises(InputError, match="shared collection"):
        library.articles(SHARED_COLLECTION)
    assert not (tmp_path / "library").exists()


def test_collection_names_cannot_escape_the_library_folder(tmp_path: Path) -> None:
    library = FileLibrary(tmp_path / "data")
    library.add("../../outside", [parsed("a.txt")])
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert len(files) == 1
    assert files[0].parent == tmp_path / "data" / "library"
    assert [p.article.id for p in library.articles("../../outside")] == ["../../outside/a.txt"]


def test_writes_leave_no_temporary_file(tmp_path: Path) -> None:
    library = FileLibrary(tmp_path)
    library.add("111", [parsed("a.txt")])
    library.remove("111", "a.txt")
    assert sorted(p.name for p in (tmp_path / "library").iterdir()) == ["111.jsonl"]
    assert library.collections() == []

"""Incremental reindexing with the real model: only what changed is embedded."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from config import Settings
from index.build import document_text
from index.encode.embedder import Embedder
from index.engine import Engine, plan_from
from index.ingest.readers import read_sources
from index.text.passages import make_passages

pytestmark = pytest.mark.integration

HARBOUR = """Harbour reopens after storm repairs

The harbour of Riverton reopened on Tuesday after a week of repairs to its sea wall.
Fishermen said the new wall held during the spring tides without any damage.
The port authority expects container traffic to double by the end of next year.
Repairs cost about two million dollars, paid by the regional government.
The mayor thanked the workers who rebuilt the wall in heavy rain.
"""

LIBRARY = """Library extends opening hours

The city library will stay open until nine in the evening on weekdays from May.
The change follows a petition signed by more than two thousand residents.
Four new staff members will be hired for the evening shifts.
"""

BRIDGE = {
    "id": "bridge-1",
    "title": "Old bridge closes for a year",
    "date": "2024-02-01",
    "text": "The old stone bridge over the river closed on Monday for a year of repairs. "
    "Drivers will have to use the ferry or the ring road while engineers replace its arches. "
    "The council said the bridge had carried traffic for more than two centuries.",
}


def documents(sources: list[str], settings: Settings, embedder: Embedder) -> list[str]:
    """The texts the indexer embeds for these sources, computed independently of it."""
    report = read_sources(sources, max_bytes=settings.max_article_bytes)
    assert report.problems == []
    out = []
    for parsed in report.articles:
        a = parsed.article
        for p in make_passages(
            a.id, a.text, parsed.excluded, plan_from(settings), embedder.count_tokens
        ):
            out.append(document_text(a.title, p.text_of(a.text)))
    return out


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    (folder / "library.txt").write_text(LIBRARY, encoding="utf-8")
    (folder / "more.jsonl").write_text(json.dumps(BRIDGE) + "\n", encoding="utf-8")
    return folder


def test_reindex_counts(
    source_dir: Path, settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    settings = replace(settings, sources=(str(source_dir),), passage_sentences=2)
    engine = Engine(settings, embedder)
    sources = [str(source_dir)]
    before = documents(sources, settings, embedder)

    first = engine.rebuild()
    assert (first.articles, first.passages, first.embedded, first.reused) == (
        3,
        len(before),
        len(before),
        0,
    )
    assert first.added_articles == 3

    # Nothing changed: nothing is embedded and no new generation is written.
    again = engine.rebuild()
    assert again.up_to_date
    assert (again.embedded, again.generation) == (0, first.generation)

    # Edit one sentence in the middle of one article.
    (source_dir / "harbour.txt").write_text(
        HARBOUR.replace("two million dollars", "three million dollars"), encoding="utf-8"
    )
    after = documents(sources, settings, embedder)
    expected = sum(doc not in set(before) for doc in after)
    harbour_passages = sum(doc.startswith("Harbour reopens") for doc in after)
    assert 0 < expected < harbour_passages, "the edit should touch some windows, not all"
    edited = engine.rebuild()
    assert not edited.up_to_date
    assert edited.embedded == expected
    assert edited.reused == len(after) - expected
    assert (edited.changed_articles, edited.added_articles, edited.removed_articles) == (1, 0, 0)
    assert (
        "three million dollars" in engine.ask("How much did the harbour repairs cost?").hits[0].text
    )

    # Remove an article: it leaves the index, and no vector is computed for that.
    bridge_question = "Why did the old stone bridge close?"
    assert engine.ask(bridge_question).hits[0].article.id == "bridge-1"
    (source_dir / "more.jsonl").unlink()
    removed = engine.rebuild()
    assert (removed.embedded, removed.removed_articles, removed.articles) == (0, 1, 2)
    assert removed.passages == len(after) - sum(doc.startswith(BRIDGE["title"]) for doc in after)
    searcher = engine.searcher()
    assert "bridge-1" not in {a.id for a in searcher.articles}
    answer = searcher.search(bridge_question, k=10, apply_threshold=False)
    assert all(hit.article.id != "bridge-1" for hit in answer.hits)

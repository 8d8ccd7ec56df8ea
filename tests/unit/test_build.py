"""The indexer and searcher wired together, with the hash embedder standing in for the model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from index.build import EncodesText, build_index, document_text
from index.models import Article, Mode, ParsedArticle, Span
from index.query.searcher import Searcher, SearchTuning
from index.store.layout import DataDir
from index.store.segments import read_state
from index.text.passages import PassagePlan, make_passages
from tests.unit.embedders import WrappedEmbedder

PLAN = PassagePlan(max_sentences=2)


def article(article_id: str, text: str, collection: str = "shared") -> ParsedArticle:
    a = Article(id=article_id, title=article_id.title(), text=text, collection=collection)
    return ParsedArticle(a, (), f"test:{article_id}")


HARBOUR = article(
    "harbour",
    "The harbour reopened on Tuesday. Fishermen said the wall held. "
    "The port expects more ships. Repairs cost two million.",
)
LIBRARY = article(
    "library",
    "The library opens until nine. Residents asked for longer hours. Staff will be hired.",
)
BRIDGE = article("bridge", "The bridge closed for repairs. Traffic used the ferry.", "guild-1")


class _Counting(WrappedEmbedder):
    """Counts the texts an embedder is asked to encode."""

    def __init__(self, inner: EncodesText) -> None:
        super().__init__(inner)
        self.encoded = 0

    def before_encode(self, texts: Sequence[str]) -> None:
        self.encoded += len(texts)


def passage_count(parsed: ParsedArticle) -> int:
    a = parsed.article
    return len(make_passages(a.id, a.text, parsed.excluded, PLAN))


def test_incremental_builds(tmp_path: Path, hash_embedder: EncodesText) -> None:
    data_dir = tmp_path / "data"
    first = build_index(data_dir, [HARBOUR, LIBRARY], hash_embedder, PLAN)
    total = passage_count(HARBOUR) + passage_count(LIBRARY)
    assert (first.articles, first.passages, first.embedded, first.reused) == (2, total, total, 0)
    assert first.added_articles == 2

    counting = _Counting(hash_embedder)
    again = build_index(data_dir, [HARBOUR, LIBRARY], counting, PLAN)
    assert again.up_to_date
    assert (again.embedded, again.generation) == (0, first.generation)
    assert counting.encoded == 0, "an up-to-date build must not touch the model"

    # Change the last sentence: only the windows holding it are new.
    edited = article("harbour", HARBOUR.article.text.replace("two million", "three million"))
    changed = build_index(data_dir, [edited, LIBRARY], hash_embedder, PLAN)
    old_windows = {
        document_text("Harbour", p.text_of(HARBOUR.article.text))
        for p in make_passages("harbour", HARBOUR.article.text, (), PLAN)
    }
    new_windows = [
        document_text("Harbour", p.text_of(edited.article.text))
        for p in make_passages("harbour", edited.article.text, (), PLAN)
    ]
    expected = sum(w not in old_windows for w in new_windows)
    assert expected == 1
    assert (changed.embedded, changed.reused) == (expected, total - expected)
    assert (changed.changed_articles, changed.added_articles) == (1, 0)

    removed = build_index(data_dir, [edited], hash_embedder, PLAN)
    assert (removed.embedded, removed.removed_articles) == (0, 1)
    assert removed.passages == passage_count(edited)


def test_a_different_model_re_embeds_everything(
    tmp_path: Path,
    hash_embedder: EncodesText,
) -> None:
    data_dir = tmp_path / "data"
    build_index(data_dir, [HARBOUR], hash_embedder, PLAN)
    hash_embedder.name = "another-model"
    report = build_index(data_dir, [HARBOUR], hash_embedder, PLAN)
    assert not report.up_to_date
    assert (report.embedded, report.reused) == (passage_count(HARBOUR), 0)


def test_duplicate_ids_are_reported_and_skipped(
    tmp_path: Path,
    hash_embedder: EncodesText,
) -> None:
    copy = ParsedArticle(LIBRARY.article, (), "test:copy")
    report = build_index(tmp_path / "data", [LIBRARY, copy], hash_embedder, PLAN)
    assert report.articles == 1
    assert len(report.problems) == 1
    assert report.problems[0].origin == "test:copy"
    assert "duplicate article id 'library'" in report.problems[0].reason


@pytest.mark.parametrize("approximate_from", [None, 1])
def test_search_within_collections(
    tmp_path: Path, hash_embedder: EncodesText, approximate_from: int | None
) -> None:
    data_dir = tmp_path / "data"
    build_index(
        data_dir, [HARBOUR, LIBRARY, BRIDGE], hash_embedder, PLAN, approximate_from=approximate_from
    )
    state = read_state(DataDir(data_dir).current())
    assert (state.quantizer is not None) == (approximate_from is not None)
    searcher = Searcher.open(data_dir, hash_embedder, SearchTuning(min_score=0.0))
    try:
        question = "the bridge closed for repairs"
        everywhere = searcher.search(question, k=3)
        assert everywhere.hits[0].article.id == "bridge"
        shared = searcher.search(question, k=3, collections={"shared"})
        assert shared.hits
        assert all(h.article.collection == "shared" for h in shared.hits)
        guild = searcher.search(question, k=3, collections={"guild-1"}, mode=Mode.LEXICAL)
        assert [h.article.id for h in guild.hits] == ["bridge"]
        assert searcher.search(question, collections={"nobody"}).hits == ()
        for hit in everywhere.hits:
            assert hit.char_start <= hit.quote_start < hit.quote_end <= hit.char_end
    finally:
        searcher.close()


def test_a_build_without_passages(tmp_path: Path, hash_embedder: EncodesText) -> None:
    title_only = ParsedArticle(
        Article(id="note.txt", title="Just a short note", text="Just a short note\n"),
        (Span(0, 17),),
        "test",
    )
    report = build_index(tmp_path / "data", [title_only], hash_embedder, PLAN)
    assert (report.articles, report.passages) == (1, 0)

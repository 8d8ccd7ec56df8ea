"""Answer quality with the real model: hybrid ranking, duplicates, diversity, article context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import Settings
from index.encode.embedder import Embedder
from index.engine import Engine
from index.models import Mode

pytestmark = pytest.mark.integration

HARBOUR = (
    "The harbour authority approved a new breakwater on Tuesday. "
    "Engineers said construction would start in the spring. "
    "The project is funded by a regional grant. "
    "Fishermen welcomed the decision after years of storm damage. "
    "The council's vote was unanimous."
)
WIRE = (
    "Officials confirmed that the Zelkova-7 reactor was shut down for inspection. "
    "The shutdown will last about three weeks. "
    "No radiation was released, the operator said."
)


def _write_jsonl(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def engine(tmp_path: Path, embedder: Embedder) -> Engine:
    source = _write_jsonl(
        tmp_path / "articles.jsonl",
        [
            {
                "id": "harbour",
                "title": "Harbour gets a breakwater",
                "text": HARBOUR,
                "source": "Coast Times",
                "date": "2024-03-05",
            },
            {"id": "wire-a", "title": "Reactor shut down", "text": WIRE, "source": "Wire A"},
            {
                "id": "wire-b",
                "title": "Reactor shut down for checks",
                "text": WIRE,
                "source": "Paper B",
                "url": "https://example.org/b",
            },
        ],
    )
    settings = Settings(data_dir=tmp_path / "data", sources=(str(source),))
    engine = Engine(settings, embedder)
    engine.rebuild()
    return engine


def test_syndicated_copies_become_one_hit_listing_every_source(engine: Engine) -> None:
    result = engine.ask("Why was the reactor shut down?", k=3)
    assert result.matched
    first = result.hits[0]
    sources = {first.article.source, *(ref.source for ref in first.also_in)}
    assert sources == {"Wire A", "Paper B"}
    texts = [h.text for h in result.hits]
    assert len(texts) == len(set(texts))


def test_rare_names_are_found_by_the_lexical_side(engine: Engine) -> None:
    result = engine.ask("Zelkova-7", k=1)
    assert result.matched
    assert "Zelkova-7" in result.hits[0].quote


def test_overlapping_windows_never_fill_the_list(engine: Engine) -> None:
    result = engine.searcher().search("breakwater harbour project", 5, apply_threshold=False)
    same_article = [h for h in result.hits if h.article.id == "harbour"]
    for i, a in enumerate(same_article):
        for b in same_article[i + 1 :]:
            shared = max(0, min(a.char_end, b.char_end) - max(a.char_start, b.char_start))
            assert shared * 2 <= min(a.char_end - a.char_start, b.char_end - b.char_start)


def test_the_title_gives_passages_context(settings: Settings, embedder: Embedder) -> None:
    engine = Engine(settings, embedder)
    engine.rebuild()
    result = engine.ask("What did Kirby say about the strikes?")
    assert result.matched
    assert "Kirby" in result.hits[0].text


def test_quote_is_the_answering_sentence_inside_its_passage(engine: Engine) -> None:
    result = engine.ask("When will construction of the breakwater start?", k=1)
    hit = result.hits[0]
    assert hit.char_start <= hit.quote_start < hit.quote_end <= hit.char_end
    assert hit.quote == "Engineers said construction would start in the spring."


@pytest.mark.parametrize("mode", list(Mode))
def test_every_mode_ranks_and_quotes(engine: Engine, mode: Mode) -> None:
    result = engine.searcher().search("new breakwater approved", 2, mode=mode)
    assert result.hits
    assert result.hits[0].article.id == "harbour"


def test_the_threshold_decides_whether_to_answer_not_which_hits(engine: Engine) -> None:
    searcher = engine.searcher()
    question = "When will construction of the breakwater start?"
    shown = searcher.search(question, 5)
    raw = searcher.search(question, 5, apply_threshold=False)
    assert shown.matched
    # The later hits are about other articles and weak on their own; they are still shown.
    assert [h.text for h in shown.hits] == [h.text for h in raw.hits]
    assert len(shown.hits) > 1

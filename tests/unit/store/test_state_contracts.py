"""The contracts of the answers, the locks and the index pointer, against SQLite (and the data
directory's files) and PostgreSQL: what several bot and worker processes rely on when they
share the state."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from index.build import EncodesText, build_index
from index.errors import BuildBusyError, IndexMissingError, PollBusyError, UnknownAnswerError
from index.models import AnswerRecord, Article, ParsedArticle, SearchFilters, ShownHit, Sort
from index.query.searcher import Searcher, SearchTuning
from index.store.backend import StateStores
from index.store.locks import BUILD, POLL
from index.text.passages import PassagePlan


def _hit(n: int) -> ShownHit:
    return ShownHit(f"a{n}#0-40", f"a{n}", f"Title {n}", f"https://x.example/{n}", "Quote.", 3, 9)


def _record(answer_id: str, created_at: float) -> AnswerRecord:
    return AnswerRecord(
        id=answer_id,
        scope="guild:1",
        question="When did the harbour reopen?",
        collections=("guild:1", "shared"),
        k=2,
        asker="member:7",
        private=True,
        created_at=created_at,
        matched=True,
        pages=((_hit(1), _hit(2)),),
        filters=SearchFilters(
            since=datetime(2024, 7, 1, tzinfo=UTC),
            outlets=("Harbour News",),
            sort=Sort.NEWEST,
        ),
    )


def test_an_answer_stored_by_one_process_is_read_and_paged_by_another(
    stores: StateStores,
) -> None:
    record = _record("ans-1", time.time())
    stores.answers(30).add(record)
    # Another process: stores of its own over the same state.
    other = StateStores(stores.data_dir, stores.db).answers(30)

    assert other.get("ans-1") == record
    other.set_page("ans-1", 1, [_hit(3)])
    paged = stores.answers(30).get("ans-1")
    assert paged.pages == ((_hit(1), _hit(2)), (_hit(3),))
    with pytest.raises(UnknownAnswerError):
        other.get("never-given")


def test_answers_older_than_the_retention_are_unknown_and_forgotten(
    stores: StateStores,
) -> None:
    answers = stores.answers(1)
    old = _record("old", time.time() - 2 * 86400)
    answers.add(old)
    with pytest.raises(UnknownAnswerError):
        answers.get("old")

    answers.add(_record("new", time.time()))

    kept = stores.answers(0)
    assert kept.get("new").id == "new"
    # Storing the new one dropped the expired one for good, even for a store keeping all.
    with pytest.raises(UnknownAnswerError):
        kept.get("old")


@pytest.mark.parametrize("name", [BUILD, POLL])
def test_a_lock_is_exclusive_across_processes_and_free_again_after(
    stores: StateStores, name: str
) -> None:
    # Two lock objects (and, in PostgreSQL, two sessions), as two processes would hold.
    mine, theirs = stores.locks(), StateStores(stores.data_dir, stores.db).locks()
    with mine.exclusive(name, BuildBusyError):
        with pytest.raises(PollBusyError), theirs.exclusive(name, PollBusyError):
            pass
        # Another lock's name is another lock.
        with theirs.exclusive(f"{name}-other", PollBusyError):
            pass
    with (
        theirs.exclusive(name, PollBusyError),
        pytest.raises(BuildBusyError),
        mine.exclusive(name, BuildBusyError),
    ):
        pass


def test_the_pointer_names_the_last_state_written_for_every_reader(stores: StateStores) -> None:
    writer, reader = stores.pointer(), StateStores(stores.data_dir, stores.db).pointer()
    assert reader.read() is None

    writer.write("gen-1")
    writer.write("gen-2")

    assert reader.read() == "gen-2"


def test_a_build_publishes_through_the_backends_pointer_and_searchers_follow_it(
    stores: StateStores, tmp_path: Path, hash_embedder: EncodesText
) -> None:
    layout = stores.layout()
    with pytest.raises(IndexMissingError):
        layout.current()
    harbour = ParsedArticle(
        Article("harbour", "Harbour", "The harbour reopened on Tuesday. The wall held.")
    )
    ferry = ParsedArticle(Article("ferry", "Ferry", "The ferry runs every hour from the pier."))

    first = build_index(tmp_path, [harbour], hash_embedder, PassagePlan(), layout=layout)
    second = build_index(tmp_path, [harbour, ferry], hash_embedder, PassagePlan(), layout=layout)

    assert first.generation is not None and second.generation is not None
    assert stores.pointer().read() == second.generation.name
    assert layout.current() == second.generation
    searcher = Searcher(layout.current(), hash_embedder, SearchTuning(min_score=0.0))
    assert searcher.search("ferry pier", 1).hits[0].article.id == "ferry"
    # The CURRENT file is the pointer of the SQLite backend only.
    assert (tmp_path / "CURRENT").exists() == (stores.db is None)

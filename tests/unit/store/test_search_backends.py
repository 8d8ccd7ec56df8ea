"""The search-backend contract, the same cases on every backend: the local segments, Milvus
Lite in-process (a `.db` file) and `milvus-lite server` over gRPC on a loopback port.

Raw scores are never compared across backends (Milvus Lite computes BM25's statistics per
segment and over a filter's rows); what is compared is what the contract promises: rows
within the scope, k of them whenever k qualify, deleted rows never, appended rows found,
cosine similarities as the vectors give them, BM25 normalised to [0, 1].
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.build import build_index, update_index
from index.errors import MilvusUnavailableError
from index.merge import merge_segments
from index.models import Article, ParsedArticle, SearchFilters
from index.query.searcher import Searcher, SearchTuning
from index.store.layout import DataDir
from index.store.lexical import query_terms
from index.store.local_search import open_local
from index.store.milvus.collection import MilvusTarget, client_for, forget_client
from index.store.milvus.mirror import RECORD_NAME, MilvusMirror
from index.store.milvus.search import MilvusBackend, milvus_opener
from index.store.search_backend import OpensBackend, QuestionSearch
from index.store.segments import read_state
from index.text.passages import PassagePlan
from tests.unit.conftest import HashEmbedder

PLAN = PassagePlan(max_sentences=1, overlap=0)
TUNING = SearchTuning(min_score=0.0, max_shared=10)
# A search wide enough to return every row of these small indexes.
EVERYTHING = 10_000

STORIES = {
    "harbour": "The harbour wall held during the storm. Fishermen praised the repaired wall.",
    "council": "The council vote approved the budget. The mayor signed the budget on Friday.",
    "library": "The library opens late on weekdays. Readers asked for longer library hours.",
    "ferry": "The ferry crossed the river at dawn. The bridge stayed closed for repairs.",
    "market": "Farmers sold apples at the market. Rain kept buyers away from the market.",
    "court": "The judge adjourned the court case. The election court meets next week.",
}


def _article(
    name: str, text: str, collection: str, date: str | None, source: str | None
) -> ParsedArticle:
    return ParsedArticle(
        Article(
            id=f"{collection}/{name}",
            title=name.title(),
            text=text,
            date=date,
            source=source,
            collection=collection,
        ),
        (),
        "test",
    )


def _articles() -> list[ParsedArticle]:
    """Each story in two collections, dated a month apart, from two outlets."""
    out = []
    for i, (name, text) in enumerate(STORIES.items()):
        out.append(_article(name, text, "shared", f"2024-0{1 + i % 6}-15", "Alpha News"))
        out.append(_article(name, text, "guild:7", None if i % 3 == 0 else "2024-03-01", "Beta"))
    return out


class Backend:
    """One backend under test: how searchers open it and what builds publish through."""

    def __init__(self, target: MilvusTarget | None) -> None:
        self.target = target
        self.mirror = MilvusMirror(target) if target is not None else None
        self.opener: OpensBackend = open_local if target is None else milvus_opener(target)

    def close(self) -> None:
        if self.target is not None and self.target.lite:
            forget_client(self.target.uri)


@pytest.fixture(params=["local", "lite", "server"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    collection = f"passages_{secrets.token_hex(4)}"
    if request.param == "local":
        chosen = Backend(None)
    elif request.param == "lite":
        chosen = Backend(MilvusTarget(str(tmp_path / "m.db"), collection))
    else:
        chosen = Backend(MilvusTarget(request.getfixturevalue("milvus_server"), collection))
    yield chosen
    chosen.close()


def _build(data_dir: Path, backend: Backend, articles: list[ParsedArticle]) -> None:
    build_index(data_dir, articles, HashEmbedder(), PLAN, mirror=backend.mirror)
    merge_segments(data_dir, mirror=backend.mirror)


def _open(data_dir: Path, backend: Backend) -> Searcher:
    return Searcher.open(data_dir, HashEmbedder(), TUNING, backend.opener)


def _question(searcher: Searcher, text: str, lexical: bool = True) -> QuestionSearch:
    vector = HashEmbedder().encode([text])[0]
    return searcher.backend.question(vector, query_terms(text), lexical)


def _article_ids(searcher: Searcher, rows: np.ndarray) -> set[str]:
    return {searcher.articles[int(searcher._passage_article[r])].id for r in rows}


def test_k_rows_within_the_scope_whenever_k_qualify(tmp_path: Path, backend: Backend) -> None:
    _build(tmp_path, backend, _articles())
    searcher = _open(tmp_path, backend)
    try:
        found = _question(searcher, "harbour wall storm budget")
        scopes = {
            "guild only": (searcher._scope(["guild:7"], None), {"guild:7"}, None),
            "outlet": (
                searcher._scope(None, SearchFilters(outlets=("alpha  NEWS",))),
                None,
                "Alpha News",
            ),
            "march on": (
                searcher._scope(None, SearchFilters(since=datetime(2024, 3, 1, tzinfo=UTC))),
                None,
                None,
            ),
        }
        for name, (scope, collections, outlet) in scopes.items():
            allowed = searcher._within_scope(scope, np.arange(len(searcher._passage_article)))
            qualifying = int(allowed.sum())
            assert 0 < qualifying < searcher.passage_count, name
            for k in (1, 3, qualifying, qualifying + 5):
                rows = found.dense_top(k, scope)
                assert len(rows) == min(k, qualifying), (name, k)
                assert allowed[rows].all(), name
            lexical = found.lexical_top(EVERYTHING, scope)
            assert len(lexical) and allowed[lexical].all(), name
            for article in _article_ids(searcher, rows):
                ref = next(a for a in searcher.articles if a.id == article)
                assert collections is None or ref.collection in collections
                assert outlet is None or ref.source == outlet
    finally:
        searcher.close()


def test_dates_follow_the_filters_semantics(tmp_path: Path, backend: Backend) -> None:
    """Undated articles are outside every window, but `as_of` alone keeps them; a day
    covers the whole day."""
    _build(tmp_path, backend, _articles())
    searcher = _open(tmp_path, backend)
    try:
        found = _question(searcher, "library hours")
        as_of = searcher._scope(None, SearchFilters(as_of=datetime(2024, 2, 1, tzinfo=UTC)))
        until = searcher._scope(None, SearchFilters(until=datetime(2024, 2, 1, tzinfo=UTC)))
        day = searcher._scope(
            ["guild:7"], SearchFilters(since=datetime(2024, 3, 1, 23, 59, tzinfo=UTC))
        )
        for scope in (as_of, until, day):
            allowed = searcher._within_scope(scope, np.arange(len(searcher._passage_article)))
            rows = found.dense_top(EVERYTHING, scope)
            assert sorted(rows.tolist()) == np.flatnonzero(allowed).tolist()
        undated = {a.id for a in searcher.articles if a.date is None}
        assert undated & _article_ids(searcher, found.dense_top(EVERYTHING, as_of))
        assert not undated & _article_ids(searcher, found.dense_top(EVERYTHING, until))
        nothing = searcher._scope([], None)
        assert len(found.dense_top(5, nothing)) == len(found.lexical_top(5, nothing)) == 0
    finally:
        searcher.close()


def test_pool_scores_are_cosines_and_normalised_bm25(tmp_path: Path, backend: Backend) -> None:
    _build(tmp_path, backend, _articles())
    searcher = _open(tmp_path, backend)
    try:
        question = "ferry crossed at dawn"
        found = _question(searcher, question)
        everything = searcher._scope(None, None)
        rows = np.union1d(found.dense_top(8, everything), found.lexical_top(8, everything))
        scores = found.pool_scores(rows)
        vector = HashEmbedder().encode([question])[0]
        local = open_local(
            tmp_path,
            read_state(DataDir(tmp_path).current()),
            searcher._store,
            searcher._live,
            vector.shape[0],
        )
        assert np.allclose(scores.dense, local.vectors.similarities(rows, vector), atol=1e-5)
        assert ((scores.lexical >= 0) & (scores.lexical <= 1)).all()
        holds = np.array(["Ferry" in a for a in _titles(searcher, rows)])
        assert (scores.lexical[holds] > 0).all() and (scores.lexical[~holds] == 0).all()
        dense_only = _question(searcher, question, lexical=False).pool_scores(rows)
        assert (dense_only.lexical == 0).all()
    finally:
        searcher.close()


def test_term_weights_are_the_best_bm25_score_of_each_term(
    tmp_path: Path, backend: Backend
) -> None:
    """A term's quote weight: its best BM25 score in the collection, 0 for a term no passage
    holds. Milvus answers each term once per opened state: asked again, it searches nothing."""
    _build(tmp_path, backend, _articles())
    searcher = _open(tmp_path, backend)
    try:
        terms = query_terms("ferry harbour zyzzyva ferry")
        weights = searcher.backend.term_weights(terms)
        assert set(weights) == set(terms.stems)
        absent = {t for t in terms.stems if t.startswith("zyzzyv")}
        assert absent and all(weights[t] == 0 for t in absent)
        assert all(weights[t] > 0 for t in set(terms.stems) - absent)
        if isinstance(searcher.backend, MilvusBackend):
            searched: list[tuple[Any, ...]] = []
            original = searcher.backend.search

            def counted(*args: Any, **kwargs: Any) -> Any:
                searched.append(args)
                return original(*args, **kwargs)

            searcher.backend.search = counted  # type: ignore[method-assign]
            assert searcher.backend.term_weights(terms) == weights
            assert searched == []
            searcher.backend.term_weights(query_terms("ferry budget"))
            assert len(searched) == 1 and searched[0][0] == ["budget"]
    finally:
        searcher.close()


def _titles(searcher: Searcher, rows: np.ndarray) -> list[str]:
    return [searcher.articles[int(searcher._passage_article[r])].title for r in rows]


def test_deletions_and_appends_reach_the_backend(tmp_path: Path, backend: Backend) -> None:
    articles = _articles()
    _build(tmp_path, backend, articles)
    removed = {"shared/harbour", "guild:7/harbour"}
    update_index(tmp_path, HashEmbedder(), PLAN, remove=removed, mirror=backend.mirror)
    added = _article(
        "zeppelin",
        "A zeppelin moored above the harbour. The zeppelin crew waved at the harbour.",
        "shared",
        "2024-05-05",
        "Alpha News",
    )
    update_index(tmp_path, HashEmbedder(), PLAN, add=[added], mirror=backend.mirror)
    searcher = _open(tmp_path, backend)
    try:
        found = _question(searcher, "harbour wall zeppelin")
        everything = searcher._scope(None, None)
        dense = found.dense_top(EVERYTHING, everything)
        lexical = found.lexical_top(EVERYTHING, everything)
        assert len(dense) == searcher.passage_count
        for rows in (dense, lexical):
            ids = _article_ids(searcher, rows)
            assert not ids & removed
            assert "shared/zeppelin" in ids
        assert _article_ids(searcher, lexical[:1]) == {"shared/zeppelin"}
        hits = searcher.search("zeppelin crew", k=3, apply_threshold=False).hits
        assert hits[0].article.id == "shared/zeppelin"
    finally:
        searcher.close()


def test_a_changed_article_replaces_its_rows(tmp_path: Path, backend: Backend) -> None:
    articles = _articles()
    _build(tmp_path, backend, articles)
    changed = _article(
        "market", "Farmers sold pumpkins at the market.", "shared", "2024-05-15", "Alpha News"
    )
    update_index(tmp_path, HashEmbedder(), PLAN, add=[changed], mirror=backend.mirror)
    searcher = _open(tmp_path, backend)
    try:
        found = _question(searcher, "apples market rain pumpkins")
        rows = found.dense_top(EVERYTHING, searcher._scope(["shared"], None))
        texts = [
            searcher._store.article_text(int(searcher._passage_article[r]))
            for r in rows
            if searcher.articles[int(searcher._passage_article[r])].id == "shared/market"
        ]
        assert texts == ["Farmers sold pumpkins at the market."]
    finally:
        searcher.close()


def test_milvus_follows_merges_and_is_filled_when_configured_late(tmp_path: Path) -> None:
    """A merge writes nothing to Milvus but its record; an index built before Milvus was
    configured is copied whole by the next build, even with nothing changed."""
    data_dir = tmp_path / "data"
    articles = _articles()
    build_index(data_dir, articles, HashEmbedder(), PLAN)
    target = MilvusTarget(str(tmp_path / "late.db"), "late")
    mirror = MilvusMirror(target)
    try:
        report = build_index(data_dir, articles, HashEmbedder(), PLAN, mirror=mirror)
        assert not report.up_to_date
        assert mirror.holds(data_dir, DataDir(data_dir).current())
        update_index(
            data_dir,
            HashEmbedder(),
            PLAN,
            add=[_article("zoo", "The zoo bought a panda.", "shared", None, None)],
            remove={"shared/court"},
            mirror=mirror,
        )
        before = (data_dir / RECORD_NAME).read_text()
        merged = merge_segments(data_dir, everything=True, mirror=mirror)
        assert merged.merged and (data_dir / RECORD_NAME).read_text() != before
        assert mirror.holds(data_dir, DataDir(data_dir).current())
        searcher = Searcher.open(data_dir, HashEmbedder(), TUNING, milvus_opener(target))
        try:
            found = _question(searcher, "judge court election")
            rows = found.dense_top(EVERYTHING, searcher._scope(None, None))
            assert len(rows) == searcher.passage_count
            assert "shared/court" not in _article_ids(searcher, rows)
        finally:
            searcher.close()
        again = build_index(data_dir, articles[:-1], HashEmbedder(), PLAN, mirror=mirror)
        assert not again.up_to_date
    finally:
        forget_client(target.uri)


def test_a_lite_file_another_process_holds_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pymilvus import MilvusClient; "
            f"MilvusClient({str(path)!r}); print('ready', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(MilvusUnavailableError, match=r"one process at a time"):
            client_for(MilvusTarget(str(path), "passages"))
    finally:
        holder.kill()
        holder.wait(timeout=30)
        forget_client(str(path))


def test_the_searcher_answers_through_every_backend(tmp_path: Path, backend: Backend) -> None:
    """Fusion, confidence and quotes above the backend: each story's question finds that
    story, in the collection asked, with the quote from its sentence about it."""
    _build(tmp_path, backend, _articles())
    searcher = _open(tmp_path, backend)
    try:
        questions = {
            "harbour": "Did the harbour wall hold in the storm?",
            "council": "What did the council vote approve?",
            "ferry": "When did the ferry cross the river?",
        }
        for name, question in questions.items():
            result = searcher.search(question, k=3, collections=["guild:7"])
            assert result.matched, name
            assert {h.article.collection for h in result.hits} == {"guild:7"}, name
            top = result.hits[0]
            assert top.article.id == f"guild:7/{name}", name
            assert name in top.text[top.quote_start - top.char_start :].lower(), name
    finally:
        searcher.close()

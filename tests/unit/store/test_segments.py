"""An index updated segment by segment answers exactly like one built fresh from the same
articles: same top-10 passages, same scores, deleted rows never returned."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from index.build import EncodesText, build_index, update_index
from index.merge import MergePolicy, merge_segments
from index.models import Article, ParsedArticle
from index.query.searcher import Searcher, SearchTuning
from index.store.layout import DataDir
from index.store.local_search import LocalBackend
from index.store.segments import read_state
from index.text.passages import PassagePlan

PLAN = PassagePlan(max_sentences=2)
WORDS = [
    "harbour",
    "wall",
    "council",
    "vote",
    "library",
    "bridge",
    "ferry",
    "storm",
    "tide",
    "school",
    "budget",
    "mayor",
    "river",
    "museum",
    "train",
    "station",
    "fire",
    "crew",
    "market",
    "farmers",
    "rain",
    "election",
    "court",
    "judge",
    "hospital",
]
QUESTIONS = [
    "harbour wall storm",
    "council vote budget",
    "library museum",
    "ferry bridge river",
    "fire crew station",
    "judge court election",
    "farmers market rain",
    "hospital mayor",
]


def article(n: int, version: int = 0, collection: str = "shared") -> ParsedArticle:
    rng = random.Random(n * 1000 + version)
    sentences = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))).capitalize() + "."
        for _ in range(rng.randint(2, 6))
    ]
    a = Article(id=f"a{n}", title=f"Story {n}", text=" ".join(sentences), collection=collection)
    return ParsedArticle(a, (), f"test:{n}")


def answers(data_dir: Path, embedder: EncodesText, **kwargs: object) -> list[object]:
    searcher = Searcher.open(data_dir, embedder, SearchTuning(min_score=0.0, max_shared=10))
    try:
        out = []
        for question in QUESTIONS:
            result = searcher.search(question, k=10, apply_threshold=False, **kwargs)  # type: ignore[arg-type]
            out.append(
                [(h.article.id, h.char_start, h.char_end, round(h.score, 6)) for h in result.hits]
            )
        return out
    finally:
        searcher.close()


def fresh(tmp_path: Path, embedder: EncodesText, articles: Sequence[ParsedArticle]) -> Path:
    data_dir = tmp_path / f"fresh-{len(list(tmp_path.iterdir()))}"
    build_index(data_dir, articles, embedder, PLAN)
    return data_dir


def _ties_in_id_order(hits: list[tuple[str, int, int, float]]) -> list[tuple[str, int, int, float]]:
    # Passages scoring exactly alike keep row order, which segments change: ties are compared
    # in id order.
    return sorted(hits, key=lambda h: (-round(h[3], 5), h[:3]))


def assert_same(got: list[object], expected: list[object]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(map(_ties_in_id_order, got), map(_ties_in_id_order, expected), strict=True):  # type: ignore[arg-type]
        assert len(g) == len(e)
        # Passages scoring nothing at all fill k in row order: any of them is right.
        g, e = [x for x in g if x[3] > 0], [x for x in e if x[3] > 0]
        assert [x[:3] for x in g] == [x[:3] for x in e], (g, e)
        assert [x[3] for x in g] == pytest.approx([x[3] for x in e], abs=1e-6)  # type: ignore[index]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_updates_in_any_order_answer_like_a_fresh_build(
    tmp_path: Path, hash_embedder: EncodesText, seed: int
) -> None:
    rng = random.Random(seed)
    live = {n: article(n, collection="guild" if n % 3 == 0 else "shared") for n in range(12)}
    data_dir = tmp_path / "updated"
    build_index(data_dir, list(live.values()), hash_embedder, PLAN)
    for step in range(6):
        action = rng.choice(["add", "change", "remove"])
        if action == "add" or len(live) < 4:
            for n in range(100 + step * 3, 103 + step * 3):
                live[n] = article(n)
        elif action == "change":
            for n in rng.sample(sorted(live), 2):
                live[n] = article(n, version=step + 1, collection=live[n].article.collection)
        else:
            for n in rng.sample(sorted(live), 2):
                del live[n]
        report = build_index(data_dir, list(live.values()), hash_embedder, PLAN)
        assert not report.up_to_date
        expected_dir = fresh(tmp_path, hash_embedder, list(live.values()))
        assert_same(answers(data_dir, hash_embedder), answers(expected_dir, hash_embedder))
        assert_same(
            answers(data_dir, hash_embedder, collections={"guild"}),
            answers(expected_dir, hash_embedder, collections={"guild"}),
        )
    state = read_state(DataDir(data_dir).current())
    assert len(state.segments) > 1
    assert any(ref.deleted for ref in state.segments)


def test_deleted_rows_are_never_returned_and_k_is_filled(
    tmp_path: Path, hash_embedder: EncodesText
) -> None:
    data_dir = tmp_path / "data"
    first = [article(n) for n in range(8)]
    build_index(data_dir, first, hash_embedder, PLAN)
    kept = [article(n, version=9) for n in range(4)] + first[4:6]
    build_index(data_dir, kept, hash_embedder, PLAN)
    searcher = Searcher.open(data_dir, hash_embedder, SearchTuning(min_score=0.0, max_shared=10))
    try:
        texts = {p.article.id: p.article.text for p in kept}
        for question in QUESTIONS:
            hits = searcher.search(question, k=10, apply_threshold=False).hits
            assert len(hits) == min(10, searcher.passage_count)
            for hit in hits:
                assert hit.article.id in texts
                assert (
                    hit.text in texts[hit.article.id]
                    or hit.text.strip("…") in texts[hit.article.id]
                )
    finally:
        searcher.close()


def test_a_merge_drops_deleted_rows_and_answers_the_same(
    tmp_path: Path, hash_embedder: EncodesText
) -> None:
    data_dir = tmp_path / "data"
    live = {n: article(n) for n in range(6)}
    build_index(data_dir, list(live.values()), hash_embedder, PLAN)
    for step in range(3):
        live[50 + step] = article(50 + step)
        live[step] = article(step, version=1)
        build_index(data_dir, list(live.values()), hash_embedder, PLAN)
    before = DataDir(data_dir).current()
    reader = Searcher.open(data_dir, hash_embedder, SearchTuning(min_score=0.0))
    report = merge_segments(data_dir, policy=MergePolicy(factor=2, floor=10_000))
    assert report.merged == 4 and report.dropped > 0
    state = read_state(DataDir(data_dir).current())
    assert len(state.segments) == 1 and not state.segments[0].deleted
    expected = answers(fresh(tmp_path, hash_embedder, list(live.values())), hash_embedder)
    assert_same(answers(data_dir, hash_embedder), expected)
    # A reader of the state before the merge keeps reading its files.
    assert before.is_dir()
    assert reader.search(QUESTIONS[0], k=3, apply_threshold=False).hits
    reader.close()
    assert merge_segments(data_dir).merged == 0


def test_ivf_takes_appends_and_a_merge_retrains_when_the_lists_drift(
    tmp_path: Path, hash_embedder: EncodesText
) -> None:
    data_dir = tmp_path / "data"
    live = {n: article(n) for n in range(10)}
    build_index(data_dir, list(live.values()), hash_embedder, PLAN, approximate_from=1)
    trained = read_state(DataDir(data_dir).current())
    assert trained.quantizer is not None
    for n in range(10, 40):
        live[n] = article(n)
    build_index(data_dir, list(live.values()), hash_embedder, PLAN, approximate_from=1)
    appended = read_state(DataDir(data_dir).current())
    # New vectors go to the trained lists: no retraining on update.
    assert (appended.quantizer, len(appended.segments)) == (trained.quantizer, 2)
    searcher = Searcher.open(data_dir, hash_embedder, SearchTuning(min_score=0.0, max_shared=10))
    try:
        assert isinstance(searcher.backend, LocalBackend) and searcher.backend.vectors.approximate
        assert len(searcher.search(QUESTIONS[1], k=10, apply_threshold=False).hits) == 10
    finally:
        searcher.close()
    report = merge_segments(data_dir, approximate_from=1)
    assert report.retrained and "drifted" in report.reason
    merged = read_state(DataDir(data_dir).current())
    assert merged.quantizer != trained.quantizer and len(merged.segments) == 1


def test_update_index_adds_and_removes_without_the_rest(
    tmp_path: Path, hash_embedder: EncodesText
) -> None:
    data_dir = tmp_path / "data"
    base = [article(n) for n in range(8)]
    build_index(data_dir, base, hash_embedder, PLAN)
    report = update_index(
        data_dir, hash_embedder, PLAN, add=[article(20), article(1, version=3)], remove={"a2"}
    )
    assert (report.added_articles, report.changed_articles, report.removed_articles) == (1, 1, 1)
    expected = [a for a in base if a.article.id not in {"a1", "a2"}]
    expected += [article(20), article(1, version=3)]
    assert_same(
        answers(data_dir, hash_embedder),
        answers(fresh(tmp_path, hash_embedder, expected), hash_embedder),
    )
    assert build_index(data_dir, expected, hash_embedder, PLAN).up_to_date

"""An index written by the release before segments (one generation: store, FAISS file and
lexical folder, no state) is upgraded in place into a one-segment state that reuses its
vectors, and answers like a fresh build; until then the answering side says what to run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from config import load_settings
from index.build import EncodesText, _digest, article_digest, document_text
from index.encode.slot import EmbedderSlot
from index.errors import IndexUpgradeError
from index.models import ParsedArticle
from index.query.searcher import Searcher, SearchTuning
from index.store.database import StoredArticle, StoredPassage, passage_text_key, write_store
from index.store.layout import LEXICAL_NAME, STORE_NAME, VECTORS_NAME, DataDir
from index.store.manifest import Manifest, checksum_folder, write_manifest
from index.store.segments import read_state
from index.store.vectors import VectorIndex
from index.text.passages import PassagePlan, make_passages
from index.updating import Updater
from index.worker import Worker
from tests.unit.conftest import HashEmbedder
from tests.unit.embedders import WrappedEmbedder
from tests.unit.store.test_segments import PLAN, answers, article, assert_same, fresh

ARTICLES = [article(n) for n in range(12)]


class CountingEmbedder(WrappedEmbedder):
    def __init__(self) -> None:
        super().__init__(HashEmbedder())
        self.encoded = 0

    def before_encode(self, texts: Sequence[str]) -> None:
        self.encoded += len(texts)


def old_generation(
    data_dir: Path,
    articles: Sequence[ParsedArticle],
    embedder: EncodesText,
    plan: PassagePlan,
    approximate: bool = False,
) -> Path:
    """A data directory as the single-generation builder left it: `gen-*/` holding
    articles.sqlite, vectors.faiss (flat, or IVF when approximate), the lexical folder and
    the manifest, named by CURRENT. The lexical files are bm25s's, which the upgrade never
    reads (its postings come from the stored text), so the folder is left empty here."""
    stored_articles, stored_passages, documents = [], [], []
    for row, p in enumerate(articles):
        stored_articles.append(StoredArticle(row, p.article, article_digest(p), p.origin))
        for passage in make_passages(
            p.article.id, p.article.text, p.excluded, plan, embedder.count_tokens
        ):
            text = passage.text_of(p.article.text)
            doc = document_text(p.article.title, text, p.article.date)
            stored_passages.append(
                StoredPassage(
                    len(stored_passages),
                    row,
                    passage.char_start,
                    passage.char_end,
                    passage.sentences,
                    _digest(embedder.name, doc),
                    passage_text_key(text),
                )
            )
            documents.append(doc)
    folder = data_dir / "gen-20240101T000000-abcdef"
    folder.mkdir(parents=True)
    write_store(folder / STORE_NAME, stored_articles, stored_passages)
    vectors = embedder.encode(documents)
    VectorIndex.build(vectors, embedder.dimension, approximate).save(folder / VECTORS_NAME)
    (folder / LEXICAL_NAME).mkdir()
    collections: dict[str, int] = {}
    for a in stored_articles:
        collections[a.article.collection] = collections.get(a.article.collection, 0) + 1
    write_manifest(
        folder,
        Manifest(
            model=embedder.name,
            dimension=embedder.dimension,
            passages=len(stored_passages),
            articles=len(stored_articles),
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            source_digest="old",
            passage_plan=asdict(plan),
            versions={},
            files=checksum_folder(folder),
            collections=collections,
        ),
    )
    (data_dir / "CURRENT").write_text(folder.name + "\n", encoding="utf-8")
    return folder


def _updater(tmp_path: Path, data_dir: Path, embedder: EncodesText) -> Updater:
    sources = tmp_path / "sources"
    sources.mkdir(exist_ok=True)
    settings = load_settings(
        environ={},
        env_file=None,
        data_dir=data_dir,
        sources=[str(sources)],
        model=embedder.name,
        passage_sentences=PLAN.max_sentences,
        passage_overlap=PLAN.overlap,
        max_passage_tokens=PLAN.max_tokens,
    )
    return Updater(settings, EmbedderSlot(settings.model, embedder))  # type: ignore[arg-type]


def test_the_answering_side_says_to_run_the_worker_until_it_is_upgraded(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    data_dir = tmp_path / "data"
    old_generation(data_dir, ARTICLES, hash_embedder, PLAN)

    with pytest.raises(IndexUpgradeError, match="earlier release") as caught:
        Searcher.open(data_dir, hash_embedder, SearchTuning())

    assert "articlebot worker" in str(caught.value)
    assert "articlebot index build" in str(caught.value)


@pytest.mark.usefixtures("hash_model")
def test_a_search_on_an_old_index_is_one_line_and_exit_1(
    cli_env: Path, hash_embedder: HashEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = cli_env / "data"
    old_generation(data_dir, ARTICLES, hash_embedder, PLAN)

    assert main(["search", "harbour wall", "--data-dir", str(data_dir)]) == 1

    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "earlier release" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("approximate", [False, True])
def test_the_worker_upgrades_it_at_start_without_embedding(
    tmp_path: Path, approximate: bool
) -> None:
    data_dir = tmp_path / "data"
    old_generation(data_dir, ARTICLES, HashEmbedder(), PLAN, approximate)
    embedder = CountingEmbedder()
    updater = _updater(tmp_path, data_dir, embedder)
    worker = Worker(updater.settings, updater)
    worker.stop.set()

    worker.run()

    assert embedder.encoded == 0
    state = read_state(DataDir(data_dir).current())
    assert len(state.segments) == 1 and state.segments[0].articles == len(ARTICLES)
    assert (state.quantizer is not None) is approximate
    hash_embedder = HashEmbedder()
    # A collection this small has fewer IVF lists than a question probes: exact either way.
    assert_same(
        answers(data_dir, hash_embedder),
        answers(fresh(tmp_path, hash_embedder, ARTICLES), hash_embedder),
    )


def test_a_build_over_an_old_index_embeds_only_what_changed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    old_generation(data_dir, ARTICLES, HashEmbedder(), PLAN)
    embedder = CountingEmbedder()
    updater = _updater(tmp_path, data_dir, embedder)
    changed = [*ARTICLES[1:], article(50)]

    report = updater.build_from(changed)

    passages_of_new = len(
        make_passages("a50", article(50).article.text, (), PLAN, embedder.count_tokens)
    )
    assert embedder.encoded == passages_of_new
    assert (report.added_articles, report.removed_articles) == (1, 1)
    hash_embedder = HashEmbedder()
    assert_same(
        answers(data_dir, hash_embedder),
        answers(fresh(tmp_path, hash_embedder, changed), hash_embedder),
    )
    manifest = json.loads((DataDir(data_dir).current() / "manifest.json").read_text())
    assert manifest["articles"] == len(changed)

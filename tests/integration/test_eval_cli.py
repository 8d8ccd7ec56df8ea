"""`articlebot eval` on a generated dataset, and on the shared SQuAD set when it is present."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import main
from index.encode.embedder import Embedder

pytestmark = pytest.mark.integration

SQUAD = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "squad"

ARTICLES: list[dict[str, str | None]] = [
    {
        "id": "t-harbour",
        "title": "Riverton harbour",
        "date": "2023-04-05",
        "source": "Test Gazette",
        "url": "https://example.org/harbour",
        "text": "The harbour of Riverton reopened on Tuesday after a week of repairs.\n\n"
        "Repairs to the sea wall cost about two million dollars.\n\n"
        "Fishermen said the new wall held during the spring tides.",
    },
    {
        "id": "t-library",
        "title": "City library",
        "date": None,
        "source": "Test Gazette",
        "url": None,
        "text": "The city library will stay open until nine in the evening on weekdays.\n\n"
        "The change follows a petition signed by more than two thousand residents.",
    },
    {
        "id": "t-volcano",
        "title": "Mount Hekla",
        "date": None,
        "source": None,
        "url": None,
        "text": "Mount Hekla is a stratovolcano in the south of Iceland.\n\n"
        "Its last eruption began in February 2000 and lasted eleven days.",
    },
]

QUESTIONS = [
    ("q1", "How much did the sea wall repairs cost?", "two million dollars", "t-harbour"),
    ("q2", "How many residents signed the petition?", "more than two thousand", "t-library"),
    ("q3", "When did Hekla last erupt?", "February 2000", "t-volcano"),
    ("q4", "Where is Mount Hekla?", "the south of Iceland", "t-volcano"),
]


def write_dataset(folder: Path) -> None:
    """The layout of ../shared/eval/squad: articles, questions, and answer offsets apart."""
    folder.mkdir()
    texts = {str(a["id"]): str(a["text"]) for a in ARTICLES}
    with (folder / "articles.jsonl").open("w", encoding="utf-8") as fh:
        for article in ARTICLES:
            fh.write(json.dumps(article) + "\n")
    with (
        (folder / "questions.jsonl").open("w", encoding="utf-8") as questions,
        (folder / "questions_meta.jsonl").open("w", encoding="utf-8") as meta,
    ):
        for qid, question, answer, article_id in QUESTIONS:
            start = texts[article_id].index(answer)
            questions.write(
                json.dumps(
                    {"id": qid, "question": question, "answers": [answer], "article_id": article_id}
                )
                + "\n"
            )
            meta.write(json.dumps({"id": qid, "answer_starts": [start]}) + "\n")


def figures(out: str, pipeline: str = "hybrid") -> dict[str, float]:
    """The named figures of one pipeline's row of the eval table."""
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("pipeline"))
    row = next(line for line in lines if line.startswith(pipeline))
    names = header.split()[1:]
    values = row.split()[1:]
    return dict(zip(names, map(float, values), strict=True))


def test_eval_on_a_small_dataset(
    cli_env: Path, shared_model: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = cli_env / "tiny"
    write_dataset(dataset)
    assert main(["eval", str(dataset), "--compare"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{dataset}: 3 articles, 4 questions\n")
    for pipeline in ("hybrid", "dense", "lexical"):
        row = figures(out, pipeline)
        assert set(row) >= {"hit@1", "hit@3", "hit@5", "hit@10", "MRR@10", "quote@1"}
        assert 0.0 <= row["hit@1"] <= row["hit@3"] <= row["hit@5"] <= row["hit@10"] <= 1.0
    hybrid = figures(out)
    # Four plain questions, each answered by one sentence of one short article.
    assert hybrid["hit@1"] == 1.0
    assert hybrid["MRR@10"] == 1.0
    assert hybrid["quote@1"] == 1.0
    # The figure is the median passage length in characters of this very index.
    assert 40 < hybrid["med.chars"] < 200


def test_eval_with_limit_and_no_match_check(
    cli_env: Path, shared_model: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = cli_env / "tiny"
    write_dataset(dataset)
    assert main(["eval", str(dataset), "--limit", "2", "--no-match"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{dataset}: 3 articles, 2 questions\n")
    assert figures(out)["hit@1"] == 1.0
    assert "no-match check (min_score 0.44): half the articles indexed" in out
    assert re.search(r"declined, questions about articles not indexed: \d\.\d{3} of \d", out)
    row = r"^ +(\d+)%  +(\d\.\d{3})  +(\d\.\d{3})  +(\d\.\d{3})  +-?\d\.\d{3}$"
    sweep = [tuple(float(x) for x in r) for r in re.findall(row, out, re.M)]
    assert [target for target, *_ in sweep] == [80, 85, 90, 95]
    thresholds = [threshold for _, threshold, _, _ in sweep]
    assert thresholds == sorted(thresholds)
    for target, _, declined, kept in sweep:
        assert declined >= target / 100
        assert 0.0 <= kept <= 1.0


def test_eval_on_a_folder_that_is_not_a_dataset(
    cli_env: Path, shared_model: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "empty").mkdir()
    assert main(["eval", str(cli_env / "empty")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"articlebot: {cli_env / 'empty' / 'articles.jsonl'}: missing;")


@pytest.mark.skipif(
    not (SQUAD / "articles.jsonl").is_file(),
    reason=f"the shared SQuAD evaluation set is not at {SQUAD}",
)
def test_eval_on_the_shared_squad_set(
    cli_env: Path, shared_model: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    # Four articles (about 500 passages) and their questions keep this to seconds; the full
    # set is for `articlebot eval` by hand.
    assert main(["eval", str(SQUAD), "--articles", "4", "--limit", "200"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{SQUAD}: 4 articles, 200 questions\n")
    hybrid = figures(out)
    assert 0.0 <= hybrid["hit@1"] <= hybrid["hit@10"] <= 1.0
    # Floors well below what the pipeline reaches (0.9+ at hit@5): the wiring is right.
    assert hybrid["hit@5"] >= 0.8
    assert hybrid["quote@1"] >= 0.5

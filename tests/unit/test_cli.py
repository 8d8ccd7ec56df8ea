"""The command line without the model: help, bad settings, missing index, status."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from index.models import BuildReport


def test_help(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: articlebot")
    for command in ("index", "search", "ask", "chat", "eval", "run"):
        assert command in out


def test_subcommand_help(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["search", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--batch" in out and "--json" in out and "--data-dir" in out


def test_unknown_command_is_a_usage_error(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["frobnicate"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_bad_setting_exits_2_with_a_message(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARTICLEBOT_TOP_K", "0")
    assert main(["index", "status", "--data-dir", str(cli_env / "data")]) == 2
    captured = capsys.readouterr()
    assert captured.err == "articlebot: ARTICLEBOT_TOP_K must be between 1 and 10\n"
    assert captured.out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "--shards", "0-3"],
            "ARTICLEBOT_SHARDS needs ARTICLEBOT_SHARD_COUNT (--shard-count): the total number "
            "of shards across every process",
        ),
        (
            ["run", "--shards", "2-4", "--shard-count", "4"],
            "ARTICLEBOT_SHARDS: shard 4 is not below ARTICLEBOT_SHARD_COUNT 4 (shards are "
            "numbered from 0)",
        ),
    ],
)
def test_unusable_shards_exit_2_before_connecting(
    cli_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"articlebot: {message}\n"
    assert captured.out == ""


def test_bad_setting_in_dotenv(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_env / ".env").write_text("ARTICLEBOT_BATCH_SIZE=many\n", encoding="utf-8")
    assert main(["index", "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("articlebot: setting ARTICLEBOT_BATCH_SIZE has an unusable value")
    assert err.count("\n") == 1


def test_missing_index_is_one_line_naming_the_data_dir(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = cli_env / "no-index-here"
    assert main(["index", "status", "--data-dir", str(data_dir)]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"articlebot: No index in {data_dir}. "
        f"Run `articlebot index build --data-dir {data_dir}` first.\n"
    )
    assert "Traceback" not in captured.out + captured.err


def test_status_of_a_built_index(
    cli_env: Path,
    built_index: tuple[Path, BuildReport],
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir, report = built_index
    assert report.generation is not None
    assert main(["index", "status", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert f"Index in {data_dir} ({report.generation.name})" in out
    assert "model:    hash-test-model" in out
    assert f"articles: 2  passages: {report.passages}" in out
    assert "collection shared: 2 articles" in out


HEAVY_MODULES = {
    "faiss",
    "bm25s",
    "scipy",
    "torch",
    "numpy",
    "sentence_transformers",
    "transformers",
    "discord",
}


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["search", "--help"]])
def test_help_and_version_import_no_engine_dependency(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:]))\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *HEAVY_MODULES],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "LOADED []"


def test_version(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert re.fullmatch(r"articlebot \S+\n", capsys.readouterr().out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "-k", "0", "q"], "argument -k: 0 is not between 1 and 10"),
        (["ask", "-k", "11", "q"], "argument -k: 11 is not between 1 and 10"),
        (["search", "-k", "three", "q"], "argument -k: 'three' is not a whole number"),
        (["eval", "ds", "--limit", "0"], "argument --limit: 0 is not 1 or more"),
        (["eval", "ds", "--limit", "-2"], "argument --limit: -2 is not 1 or more"),
        (["eval", "ds", "--articles", "0"], "argument --articles: 0 is not 1 or more"),
        (["sync", "--guild", "0"], "argument --guild: 0 is not 1 or more"),
        (["run", "--shard-count", "0"], "argument --shard-count: 0 is not 1 or more"),
        (["search"], "search takes a QUESTION or --batch FILE, one of the two"),
        (
            ["search", "q", "--batch", "f"],
            "search takes a QUESTION or --batch FILE, one of the two",
        ),
    ],
)
def test_usage_errors_exit_2(
    cli_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1].endswith(f"error: {message}")
    assert captured.out == ""


def one_error_line(captured: Any) -> str:
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.count("\n") == 1
    line: str = captured.err
    assert line.startswith("articlebot: ")
    return line


@pytest.mark.usefixtures("hash_model")
@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["search", "--batch", "{missing}", "--data-dir", "{index}"], "{missing}: No such file"),
        (["search", "--batch", "{folder}", "--data-dir", "{index}"], "{folder}: Is a directory"),
        (["search", "q", "--data-dir", "{file}"], "{file}: not a folder"),
        (["ask", "q", "--data-dir", "{file}"], "{file}: not a folder"),
        (["index", "status", "--data-dir", "{file}"], "{file}: not a folder"),
        (["index", "build", "{folder}", "--data-dir", "{file}"], "{file}: not a folder"),
        (["index", "build", "{folder}", "--data-dir", "{file}/sub"], "{file}/sub: Not a directory"),
        (["eval", "{missing}"], "{missing}/articles.jsonl: missing"),
        (["eval", "{file}"], "{file}/articles.jsonl: Not a directory"),
    ],
)
def test_a_bad_path_is_one_line_and_exit_1(
    cli_env: Path,
    built_index: tuple[Path, BuildReport],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    reason: str,
) -> None:
    paths = {
        "missing": str(cli_env / "missing"),
        "folder": str(cli_env / "folder"),
        "file": str(cli_env / "file.txt"),
        "index": str(built_index[0]),
    }
    (cli_env / "folder").mkdir()
    (cli_env / "file.txt").write_text("not a folder", encoding="utf-8")
    assert main([a.format(**paths) for a in argv]) == 1
    assert one_error_line(capsys.readouterr()).startswith(f"articlebot: {reason.format(**paths)}")


@pytest.mark.usefixtures("hash_model")
def test_build_of_a_missing_source_reports_it(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = cli_env / "missing"
    assert main(["index", "build", str(missing), "--data-dir", "data"]) == 1
    captured = capsys.readouterr()
    assert f"  - {missing}: no such file or folder" in captured.out
    assert "Traceback" not in captured.err


DATASET_FILES = ("articles.jsonl", "questions.jsonl", "questions_meta.jsonl")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("articles.jsonl", b"\xff\xfe not utf-8\n", "articles.jsonl: not UTF-8 text"),
        ("questions.jsonl", b"[" * 100_000 + b"\n", "questions.jsonl line 1: JSON nested"),
        ("questions.jsonl", b"1" * 5000 + b"\n", "questions.jsonl line 1: Exceeds the limit"),
        ("questions.jsonl", b"[1, 2]\n", "questions.jsonl line 1: expected a JSON object"),
        ("questions.jsonl", b'{"id": "q1"}\n', "question 'q1' has a missing or malformed field"),
        ("questions_meta.jsonl", b'{"x": 1}\n', 'questions_meta.jsonl: a line has no "id"'),
    ],
)
def test_a_bad_eval_dataset_is_one_line_and_exit_1(
    cli_env: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, reason: str
) -> None:
    dataset = cli_env / "ds"
    dataset.mkdir()
    (dataset / "articles.jsonl").write_text('{"id": "a", "text": "Some text."}\n')
    (dataset / "questions.jsonl").write_text(
        '{"id": "q1", "question": "What?", "article_id": "a", "answers": ["Some"]}\n'
    )
    (dataset / "questions_meta.jsonl").write_text('{"id": "q1", "answer_starts": [0]}\n')
    (dataset / name).write_bytes(content)
    assert main(["eval", str(dataset)]) == 1
    assert reason in one_error_line(capsys.readouterr())


def test_status_json(
    cli_env: Path, built_index: tuple[Path, BuildReport], capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, report = built_index
    assert report.generation is not None
    assert main(["index", "status", "--json", "--data-dir", str(data_dir)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["data_dir"] == str(data_dir)
    assert status["generation"] == report.generation.name
    assert status["model"] == "hash-test-model"
    assert (status["articles"], status["passages"]) == (2, report.passages)
    assert status["collections"] == {"shared": 2}
    assert isinstance(status["built_at"], str)


MATCHING = "When did the harbour reopen after the repairs?"
UNANSWERED = "banana bread recipe"


def search_json(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.usefixtures("hash_model")
def test_search_json_carries_quote_confidence_and_nearest(
    cli_env: Path, built_index: tuple[Path, BuildReport], capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = str(built_index[0])
    assert main(["search", MATCHING, "--json", "-k", "2", "--data-dir", data_dir]) == 0
    [line] = search_json(capsys.readouterr().out)
    assert line["matched"] is True and line["nearest"] == []
    first = line["results"][0]
    assert first["article_id"] == "harbour"
    offset = first["char_start"]
    assert (
        first["quote"] == first["text"][first["quote_start"] - offset : first["quote_end"] - offset]
    )
    assert "harbour reopened" in first["quote"]
    assert line["confidence"] == first["confidence"]
    assert all(isinstance(r["confidence"], float) for r in line["results"])

    assert main(["search", UNANSWERED, "--json", "--data-dir", data_dir]) == 3
    [line] = search_json(capsys.readouterr().out)
    assert line["matched"] is False and line["results"] == []
    assert isinstance(line["confidence"], float)
    assert line["nearest"]
    assert set(line["nearest"][0]) == {"article_id", "title", "url", "date", "source"}
    assert {n["title"] for n in line["nearest"]} <= {"Harbour reopens", "Library hours"}


@pytest.mark.usefixtures("hash_model")
def test_search_and_ask_exit_3_on_no_match(
    cli_env: Path, built_index: tuple[Path, BuildReport], capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = str(built_index[0])
    assert main(["search", UNANSWERED, "--data-dir", data_dir]) == 3
    assert main(["ask", UNANSWERED, "--data-dir", data_dir]) == 3
    assert main(["search", MATCHING, "--data-dir", data_dir]) == 0
    assert main(["ask", MATCHING, "--data-dir", data_dir]) == 0
    out = capsys.readouterr().out
    assert out.count("No passage in the collection answers that question.") == 2


BAD_BATCH = (
    json.dumps({"id": "q1", "question": MATCHING}).encode()
    + b"\nnot json\n\n[1, 2]\n"
    + b'{"id": "q5"}\n'
    + b'{"id": "q6", "question": 7}\n'
    + b"\xff\xfe\n"
    + b"[" * 50_000
    + b"\n"
    + b'{"question": "\\ud800 harbour\\u0000 reopen"}\n'
    + b'{"id": "\\udfff", "question": "banana bread recipe"}\n'
)


@pytest.mark.usefixtures("hash_model")
def test_batch_goes_on_past_bad_lines(
    cli_env: Path, built_index: tuple[Path, BuildReport], capsys: pytest.CaptureFixture[str]
) -> None:
    batch = cli_env / "questions.jsonl"
    batch.write_bytes(BAD_BATCH)
    assert main(["search", "--batch", str(batch), "--data-dir", str(built_index[0])]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = search_json(captured.out)
    assert [line["id"] for line in lines] == ["q1", 2, 4, "q5", "q6", 7, 8, 9, "\udfff"]
    assert lines[0]["matched"] is True
    assert lines[1] == {"id": 2, "error": "line 2: invalid JSON (Expecting value)"}
    assert lines[2]["error"] == 'line 4: expected an object {"id", "question"}'
    assert lines[3]["error"] == 'line 5: "question" must be a string'
    assert lines[4]["error"] == 'line 6: "question" must be a string'
    assert lines[5]["error"] == "line 7: not UTF-8 text"
    assert lines[6]["error"] == "line 8: JSON nested too deeply"
    assert lines[7]["matched"] is True
    assert lines[8]["matched"] is False


@pytest.mark.usefixtures("hash_model")
def test_a_batch_line_over_a_megabyte_is_answered_with_its_question_cut(
    cli_env: Path, built_index: tuple[Path, BuildReport], capsys: pytest.CaptureFixture[str]
) -> None:
    # 100,000 emoji as JSON escapes (1.2 MB): answered, the question cut to
    # ARTICLEBOT_MAX_QUESTION_CHARS so the matching words at its head decide.
    escaped = "\\ud83e\\udd14" * 100_000
    batch = cli_env / "long.jsonl"
    batch.write_text(
        f'{{"id": "long", "question": "{MATCHING} {escaped}"}}\n'
        f'{{"question": "{escaped}"}}\n'
        '{"id": "last", "question": "banana bread recipe"}\n',
        encoding="ascii",
    )
    assert main(["search", "--batch", str(batch), "--data-dir", str(built_index[0])]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = search_json(captured.out)
    assert [line["id"] for line in lines] == ["long", 2, "last"]
    assert lines[0]["matched"] is True
    assert all("results" in line for line in lines)


@pytest.mark.usefixtures("hash_model")
@pytest.mark.parametrize(
    ("questions", "code"),
    [((MATCHING, UNANSWERED), 0), ((UNANSWERED, UNANSWERED), 3), ((), 0)],
)
def test_batch_from_stdin_and_its_exit_code(
    cli_env: Path,
    built_index: tuple[Path, BuildReport],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    questions: tuple[str, ...],
    code: int,
) -> None:
    lines = "".join(json.dumps({"id": i, "question": q}) + "\n" for i, q in enumerate(questions))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(lines.encode())))
    assert main(["search", "--batch", "-", "--data-dir", str(built_index[0])]) == code
    out = search_json(capsys.readouterr().out)
    assert [line["id"] for line in out] == list(range(len(questions)))


def test_filter_options_are_offered(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("search", "ask"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        for option in ("--since", "--until", "--outlet", "--sort", "--as-of"):
            assert option in out


def test_bad_date_is_refused_before_the_model_loads(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = cli_env / "no-index-here"
    assert main(["ask", "who?", "--since", "soonish", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("articlebot: Cannot read “soonish” as a date. Use an ISO date")
    assert "yesterday" in err and "3 days ago" in err


@pytest.mark.usefixtures("hash_model")
def test_a_bad_date_on_a_batch_line_is_that_lines_error(
    cli_env: Path, built_index: tuple[Path, BuildReport], capsys: pytest.CaptureFixture[str]
) -> None:
    batch = cli_env / "q.jsonl"
    batch.write_text(
        f'{{"id": 1, "question": "{MATCHING}", "as_of": "2099-07-21"}}\n'
        f'{{"id": 2, "question": "{MATCHING}", "until": "later"}}\n',
        encoding="utf-8",
    )
    assert main(["search", "--batch", str(batch), "--data-dir", str(built_index[0])]) == 1
    first, second = search_json(capsys.readouterr().out)
    assert first["id"] == 1 and "results" in first
    assert second["id"] == 2 and second["error"].startswith("line 2: Cannot read “later”")

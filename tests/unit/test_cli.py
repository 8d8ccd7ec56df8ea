"""The command line without the model: help, bad settings, missing index, status."""

from __future__ import annotations

from pathlib import Path

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


def test_bad_batch_line_names_the_line(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = cli_env / "q.jsonl"
    batch.write_text(
        '{"id": 1, "question": "who?", "as_of": "2024-07-21"}\n'
        '{"id": 2, "question": "who?", "until": "later"}\n',
        encoding="utf-8",
    )
    assert main(["search", "--batch", str(batch), "--data-dir", str(cli_env / "none")]) == 1
    assert capsys.readouterr().err.startswith(f"articlebot: {batch} line 2: Cannot read “later”")

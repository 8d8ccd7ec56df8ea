"""The command line without the model: help, bad settings, missing index, status."""

from __future__ import annotations

import os
import subprocess
import sys
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


def test_help_imports_no_engine_dependency(cli_env: Path) -> None:
    script = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "DISCORD_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), *sys.path])
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    modules = set(done.stdout.splitlines()[-1].split())
    assert "bot" in modules
    heavy = {"numpy", "faiss", "bm25s", "scipy", "onnxruntime", "torch", "trafilatura"}
    assert not modules & heavy, sorted(modules & heavy)

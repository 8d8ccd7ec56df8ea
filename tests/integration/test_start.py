"""`articlebot start` without a token, as `make run` runs it on a fresh machine: the worker
child builds the first index, the chat answers from it, and end of input stops both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ARTICLEBOT = Path(sys.executable).parent / "articlebot"
SEEDS = Path(__file__).resolve().parents[2] / "seeds"
KIRBY = "Who said the targets were chosen because the facilities were used by militants?"

pytestmark = pytest.mark.integration


def test_first_run_chat_waits_for_the_workers_index_and_stops_it_at_the_end(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "DISCORD_"))}
    env["ARTICLEBOT_SOURCES"] = str(SEEDS)
    done = subprocess.run(
        [str(ARTICLEBOT), "start", "--data-dir", str(tmp_path / "data")],
        input=KIRBY + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert "First run: the worker is building the index" in done.stdout
    assert "The United States is attacking" in done.stdout
    assert "index.worker: worker" in done.stderr and done.stderr.rstrip().endswith("stopped")
    assert (tmp_path / "data" / "CURRENT").is_file()

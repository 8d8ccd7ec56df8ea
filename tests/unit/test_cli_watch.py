"""`articlebot watch add|list|remove|matches` over the hash embedder: a watched question, an
article that answers it, the match printed once as a JSON line; with the state in SQLite
files, and in PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

FERRY = {
    "id": "ferry",
    "title": "Eastgate ferry terminal",
    "date": "2026-12-01",
    "source": "Valley Courier",
    "url": "https://news.test/ferry",
    "text": "The Eastgate ferry terminal will open on 14 March, the port authority said. "
    "Ferries to the islands will leave from the new terminal every hour.",
}
LIBRARY = {
    "id": "library",
    "title": "Library hours",
    "text": "The city library will open until nine on weekdays. Staff will be hired.",
}


@pytest.mark.usefixtures("hash_model")
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_watch_from_the_command_line(
    cli_env: Path,
    backend: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if backend == "postgresql":
        monkeypatch.setenv("ARTICLEBOT_DATABASE_URL", request.getfixturevalue("pg_db").url)
    data = ["--data-dir", str(cli_env / "data")]
    articles = cli_env / "articles.jsonl"
    articles.write_text(json.dumps(LIBRARY) + "\n", encoding="utf-8")
    assert main(["index", "build", str(articles), *data]) == 0
    capsys.readouterr()

    assert main(["watch", "add", "When will the Eastgate ferry terminal open?", *data]) == 0
    assert capsys.readouterr().out.startswith("Watching: [1] When will the Eastgate ferry")
    assert main(["watch", "add", "when will the eastgate ferry terminal open", *data]) == 0
    assert capsys.readouterr().out.startswith("Renewed: [1]")
    assert main(["watch", "add", "Library?", "--since", "not a date", *data]) == 1
    assert "not a date" in capsys.readouterr().err
    assert main(["watch", "matches", *data]) == 0
    assert capsys.readouterr().out == ""

    articles.write_text(json.dumps(LIBRARY) + "\n" + json.dumps(FERRY) + "\n", encoding="utf-8")
    assert main(["index", "build", str(articles), *data]) == 0
    capsys.readouterr()
    assert main(["watch", "matches", *data]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    match = json.loads(line)
    assert match["watch"] == 1
    # Renewing took the later wording.
    assert match["question"] == "when will the eastgate ferry terminal open"
    assert [h["article"]["id"] for h in match["hits"]] == ["ferry"]
    assert main(["watch", "matches", *data]) == 0
    assert capsys.readouterr().out == ""

    assert main(["watch", "list", "--json", *data]) == 0
    (listed,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (listed["id"], listed["target"], listed["collection"]) == (1, "cli", "shared")
    assert main(["watch", "remove", "1", *data]) == 0
    assert capsys.readouterr().out.startswith("No longer watching: [1]")
    assert main(["watch", "remove", "1", *data]) == 1
    assert main(["watch", "list", *data]) == 0
    assert capsys.readouterr().out == "No question is watched.\n"
    # The watches live with the rest of the state: in PostgreSQL, no SQLite file is made.
    assert (cli_env / "data" / "watches.sqlite").exists() == (backend == "sqlite")

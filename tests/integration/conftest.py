"""The integration layer: the real all-MiniLM-L6-v2 model, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import DEFAULT_MODEL, Settings
from index.encode.embedder import Embedder

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled model, loaded once: a load takes seconds, a test should not pay for it."""
    return Embedder()


@pytest.fixture
def seeds() -> Path:
    return SEEDS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings, with the index in this test's own folder and the repo's seeds."""
    return Settings(data_dir=tmp_path / "data", sources=(str(SEEDS),))


@pytest.fixture
def shared_model(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> Embedder:
    """Makes every `Engine` the CLI creates use the session's model instead of loading its own.

    The object handed out is the real model; only the repeated load is saved. Another model
    name would need another model, so that is refused rather than silently substituted.
    """

    def load(model: str = DEFAULT_MODEL, device: str = "cpu") -> Embedder:
        assert model == DEFAULT_MODEL, f"this test session only has {DEFAULT_MODEL} loaded"
        return embedder

    monkeypatch.setattr("index.engine.Embedder", load)
    return embedder

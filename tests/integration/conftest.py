"""The integration layer: the real all-MiniLM-L6-v2 model, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import DEFAULT_MODEL, Settings
from index.encode.embedder import Embedder
from index.encode.export import (
    ExportableEmbedder,
    cached_export,
    cached_folder,
    query_model_for_build,
)
from index.encode.onnx import QueryModelRecord

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


@pytest.fixture(scope="session")
def query_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export cache for the session: an export takes half a minute."""
    return tmp_path_factory.mktemp("query-models")


@pytest.fixture
def shared_model(
    embedder: Embedder, query_model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Embedder:
    """Makes every `Engine` the CLI creates use the session's model instead of loading its own,
    and the session's ONNX export instead of exporting it again into each data directory.

    The objects handed out are the real ones; only the repeated work is saved. Another model
    name would need another model, so that is refused rather than silently substituted.
    """

    def load(model: str = DEFAULT_MODEL, device: str = "cpu") -> Embedder:
        assert model == DEFAULT_MODEL, f"this test session only has {DEFAULT_MODEL} loaded"
        return embedder

    def place(model: ExportableEmbedder, cache: Path, build: Path) -> QueryModelRecord:
        return query_model_for_build(model, query_model_cache, build)

    def export(model: ExportableEmbedder, cache: Path) -> Path:
        return cached_export(model, query_model_cache)

    def exported(name: str, location: str, cache: Path) -> Path | None:
        return cached_folder(name, location, query_model_cache)

    monkeypatch.setattr("index.encode.slot.Embedder", load)
    monkeypatch.setattr("index.updating.query_model_for_build", place)
    monkeypatch.setattr("index.updating.cached_export", export)
    monkeypatch.setattr("index.updating.cached_folder", exported)
    return embedder

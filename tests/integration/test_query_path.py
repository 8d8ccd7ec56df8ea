"""The light query path: questions encoded by the ONNX copy of the model, without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from config import Settings
from index.encode.embedder import Embedder
from index.encode.export import cached_export
from index.encode.onnx import ONNX_NAME, OnnxQueryEncoder
from index.engine import Engine
from index.evaluate import load_dataset
from index.ingest.readers import read_sources

pytestmark = pytest.mark.integration

SQUAD = Path(__file__).resolve().parents[3] / "shared" / "eval" / "squad"
HEAVY = ("torch", "sentence_transformers", "transformers")


def _questions() -> list[str]:
    if (SQUAD / "questions.jsonl").is_file():
        return [q.text for q in load_dataset(SQUAD).questions[::100]]
    return [
        "Who said the targets were chosen because the facilities were used by militants?",
        "Where are the facilities the United States attacked?",
        "When did the harbour reopen?",
    ]


def test_onnx_and_torch_question_vectors_agree(embedder: Embedder, query_model_cache: Path) -> None:
    encoder = OnnxQueryEncoder(cached_export(embedder, query_model_cache))
    questions = _questions()
    onnx = np.vstack([encoder.encode([q]) for q in questions])
    torch = embedder.encode(questions)
    cosines = np.sum(onnx * torch, axis=1)
    assert onnx.shape == torch.shape
    assert float(cosines.min()) >= 0.99, f"worst of {len(questions)}: {cosines.min():.4f}"


def test_the_query_model_holds_its_word_table_as_int8_rows(
    embedder: Embedder, query_model_cache: Path
) -> None:
    import onnx
    from onnx import numpy_helper

    folder = cached_export(embedder, query_model_cache)
    graph = onnx.load(str(folder / ONNX_NAME)).graph
    tables = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    words = tables["transformer.embeddings.word_embeddings.weight.int8"]
    assert words.dtype == np.int8 and words.shape[1] == embedder.dimension
    scales = tables["transformer.embeddings.word_embeddings.weight.scale"]
    assert scales.shape == (words.shape[0], 1) and bool((scales > 0).all())
    largest_float = max(a.nbytes for a in tables.values() if a.dtype == np.float32)
    assert largest_float < words.nbytes


def test_answering_imports_neither_torch_nor_sentence_transformers(
    shared_model: Embedder, seeds: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    engine = Engine(Settings(data_dir=data_dir), shared_model)
    engine.build_from(read_sources([str(seeds)], max_bytes=5_000_000, timeout=5).articles)
    script = (
        "import json, sys\n"
        "from bot.cli import main\n"
        "code = main(['search', '--json', 'Who was attacked along the border?'])\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "DISCORD_"))}
    env["ARTICLEBOT_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), *sys.path])
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=True,
    )
    answer, report = (json.loads(line) for line in done.stdout.splitlines()[-2:])
    assert report["code"] == 0
    assert answer["matched"] and answer["results"], done.stderr
    modules = {m.split(".")[0] for m in report["modules"]}
    assert "onnxruntime" in modules
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))

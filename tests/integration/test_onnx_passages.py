"""The light update path: passages embedded by the float32 ONNX copy of the model, without
torch, giving the vectors torch gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from index.encode.embedder import Embedder
from index.encode.export import cached_export
from index.encode.onnx_passages import BATCH_TOKENS, OnnxPassageEncoder
from index.store.files import DataFiles
from index.text.sentences import split_sentences

HEAVY = ("torch", "sentence_transformers", "transformers")


def _texts(seeds: Path) -> list[str]:
    text = next(seeds.glob("*.txt")).read_text(encoding="utf-8")
    sentences = [text[s.start : s.end] for s in split_sentences(text)]
    windows = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 2)]
    odd = ["Zürich’s café — naïve façade", "x", "42", "word " * 400, "  spaced   out  "]
    return windows + odd


def test_passage_vectors_and_token_counts_match_torch(
    embedder: Embedder, query_model_cache: Path, seeds: Path
) -> None:
    encoder = OnnxPassageEncoder(cached_export(embedder, query_model_cache))
    texts = _texts(seeds)
    assert [encoder.count_tokens(t) for t in texts] == [embedder.count_tokens(t) for t in texts]
    assert encoder.count_tokens("word " * 400) > encoder.max_tokens
    onnx = encoder.encode(texts)
    torch = embedder.encode(texts)
    assert onnx.shape == torch.shape == (len(texts), embedder.dimension)
    assert float(np.abs(onnx - torch).max()) < 1e-5


def test_batches_follow_the_token_budget_and_keep_the_order(
    embedder: Embedder, query_model_cache: Path, seeds: Path
) -> None:
    encoder = OnnxPassageEncoder(cached_export(embedder, query_model_cache))
    texts = _texts(seeds)
    heard: list[int] = []
    whole = encoder.encode(texts, batch_size=64, progress=heard.append)
    assert sum(heard) == len(texts)
    # The 400-word text fills the model's width, so its batch holds fewer than 64 rows.
    assert heard[0] == BATCH_TOKENS // encoder.max_tokens
    one_by_one = np.vstack([encoder.encode([t]) for t in texts])
    assert float(np.abs(whole - one_by_one).max()) < 1e-5
    reversed_order = encoder.encode(texts[::-1], batch_size=3)[::-1]
    assert float(np.abs(whole - reversed_order).max()) < 1e-5
    assert encoder.encode([]).shape == (0, encoder.dimension)


def test_a_build_with_the_export_cached_never_loads_torch(
    embedder: Embedder, seeds: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    # What the first build of a data directory leaves behind: the model's export, cached.
    cached_export(embedder, DataFiles(data_dir).query_models)
    script = (
        "import json, sys\n"
        "from bot.cli import main\n"
        f"built = main(['index', 'build', {str(seeds)!r}])\n"
        "code = main(['search', '--json', 'Who was attacked along the border?'])\n"
        "print(json.dumps({'built': built, 'code': code, 'modules': sorted(sys.modules)}))\n"
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
        timeout=600,
        check=True,
    )
    answer, report = (json.loads(line) for line in done.stdout.splitlines()[-2:])
    assert report["built"] == 0 and report["code"] == 0, done.stderr
    assert answer["matched"] and answer["results"], done.stderr
    modules = {m.split(".")[0] for m in report["modules"]}
    assert "onnxruntime" in modules
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))

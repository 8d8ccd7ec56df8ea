"""Make the ONNX copies of the embedding model (build time only): the int8 one the query side
runs, and the float32 one it is quantised from, with which a worker embeds passages.

The transformer is exported with torch's TorchScript-based exporter, with mean pooling and
normalisation inside the graph, then its weight matrix multiplications are quantised to int8
per channel by onnxruntime, and its word-embedding table to int8 per row (a lookup, not where
the time goes, but most of the memory an answering process spends on the model).

The export takes about half a minute, so it is cached in the data directory under a key of the
model and its files, and each generation gets hard links to the cached files: rebuilding with
an unchanged model exports nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import os
import secrets
import shutil
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from index.encode.onnx import (
    INFO_NAME,
    ONNX_NAME,
    QUERY_MODEL_DIR,
    TOKENIZER_NAME,
    EncoderInfo,
    OnnxQueryEncoder,
    QueryModelRecord,
)
from index.encode.onnx_passages import PASSAGE_ONNX_NAME, OnnxPassageEncoder
from index.errors import ArticlebotError
from index.store.manifest import file_digest

log = logging.getLogger(__name__)

CACHE_DIR = ".query-models"
# Part of the cache key: a change to how the export is made must not reuse older exports.
RECIPE = "mean-pool-normalize/int8-matmul-per-channel/int8-lookup-rows/2"
# Lookup tables from this size are stored as int8 rows (`_compact_lookup_tables`); the
# position and type tables below it are too small to matter.
_MIN_TABLE_BYTES = 4 << 20
# The export is refused when ONNX and torch disagree more than this on the probe sentences:
# int8 questions, and float32 passages, which must match the vectors torch would store.
MIN_COSINE = 0.99
MIN_PASSAGE_COSINE = 0.9999
_PROBES = (
    "Which team won the cup final last year?",
    "When did the harbour reopen after the storm?",
    "How many residents signed the petition for the library to stay open until nine on "
    "weekdays, and who will staff the evening shifts?",
    "Who is the mayor?",
)


class QueryExportError(ArticlebotError):
    """The model cannot be turned into the ONNX query model; questions use torch instead."""


@runtime_checkable
class ExportableEmbedder(Protocol):
    """A loaded sentence-transformers embedder (`index.encode.embedder.Embedder`)."""

    name: str
    location: str

    @property
    def sentence_transformer(self) -> Any: ...


def cache_key(name: str, location: str) -> str:
    """The model's name, its files (path, size, time) when it is a local folder, and the
    recipe and exporter versions."""
    sha = hashlib.sha256()
    for part in (name, RECIPE, _version("torch"), _version("onnxruntime")):
        sha.update(part.encode("utf-8") + b"\x00")
    folder = Path(location)
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stat = path.stat()
                entry = f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}"
                sha.update(entry.encode("utf-8") + b"\x00")
    return sha.hexdigest()[:24]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def query_model_for_build(
    embedder: ExportableEmbedder, cache_root: Path, build: Path
) -> QueryModelRecord:
    """Put the query model into the generation being built at `build`, exporting it first
    unless the cache has it; a model that cannot be exported gets a record saying why."""
    try:
        cached = cached_export(embedder, cache_root)
    except QueryExportError as exc:
        log.warning("questions will be encoded with torch: %s", exc)
        return QueryModelRecord(model=embedder.name, file=None, reason=str(exc))
    return place_query_model(cached, embedder.name, build)


def place_query_model(cached: Path, model: str, build: Path) -> QueryModelRecord:
    """Link the export in `cached` into the generation being built at `build`."""
    target = build / QUERY_MODEL_DIR
    target.mkdir()
    for name in (ONNX_NAME, TOKENIZER_NAME, INFO_NAME):
        try:
            os.link(cached / name, target / name)
        except OSError:
            shutil.copy2(cached / name, target / name)
    return QueryModelRecord(
        model=model,
        file=f"{QUERY_MODEL_DIR}/{ONNX_NAME}",
        sha256=file_digest(target / ONNX_NAME),
    )


_EXPORTED = (ONNX_NAME, PASSAGE_ONNX_NAME, TOKENIZER_NAME, INFO_NAME)


def cached_folder(name: str, location: str, cache_root: Path) -> Path | None:
    """The cache's export of the model, if it has one; found without loading the model (or
    torch), so a worker can embed with ONNX Runtime alone."""
    folder = cache_root / cache_key(name, location)
    return folder if all((folder / n).is_file() for n in _EXPORTED) else None


def cached_export(embedder: ExportableEmbedder, cache_root: Path) -> Path:
    """The folder holding the exported model, made now when the cache lacks it."""
    cached = cached_folder(embedder.name, embedder.location, cache_root)
    if cached is not None:
        return cached
    folder = cache_root / cache_key(embedder.name, embedder.location)
    cache_root.mkdir(parents=True, exist_ok=True)
    work = cache_root / f".export-{secrets.token_hex(4)}"
    work.mkdir()
    try:
        _export(embedder, work)
        shutil.rmtree(folder, ignore_errors=True)
        work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for stale in cache_root.iterdir():
        if stale != folder and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    return folder


def _export(embedder: ExportableEmbedder, work: Path) -> None:
    model = embedder.sentence_transformer
    modules = [type(m).__name__ for m in model]
    if modules[:2] != ["Transformer", "Pooling"] or set(modules[2:]) - {"Normalize"}:
        raise QueryExportError(f"model {embedder.name!r} has modules {modules}, not supported")
    pooling = model[1].get_config_dict().get("pooling_mode")
    if pooling != "mean":
        raise QueryExportError(f"model {embedder.name!r} pools by {pooling!r}, not mean")
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise QueryExportError(f"model {embedder.name!r} has no fast (tokenizer.json) tokenizer")
    sample = tokenizer(list(_PROBES[:2]), padding=True, return_tensors="pt")
    transformer = model[0].auto_model
    parameters = inspect.signature(transformer.forward).parameters
    inputs = tuple(
        n
        for n in ("input_ids", "attention_mask", "token_type_ids")
        if n in sample and n in parameters
    )
    if not {"input_ids", "attention_mask"} <= set(inputs):
        raise QueryExportError(f"model {embedder.name!r} takes inputs this export does not know")

    # Kept beside the int8 copy: the worker embeds passages with it (`onnx_passages.py`).
    full = work / PASSAGE_ONNX_NAME
    try:
        _torch_export(transformer, inputs, tuple(sample[n] for n in inputs), full)
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with _quiet_root_logger():
            quantize_dynamic(
                full,
                work / ONNX_NAME,
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                nodes_to_exclude=_feed_forward_outputs(full),
                extra_options={"MatMulConstBOnly": True},
            )
        _compact_lookup_tables(work / ONNX_NAME)
    except Exception as exc:  # noqa: BLE001 - the exporters raise many unrelated types
        raise QueryExportError(f"the ONNX export of {embedder.name!r} failed: {exc}") from None
    tokenizer.backend_tokenizer.save(str(work / TOKENIZER_NAME))
    info = EncoderInfo(
        model=embedder.name,
        dimension=int(model.get_embedding_dimension()),
        max_tokens=int(model.max_seq_length or 512),
        inputs=inputs,
    )
    (work / INFO_NAME).write_text(json.dumps(info.to_json(), indent=2), encoding="utf-8")

    # One at a time, as questions come: int8 activation ranges are taken over the whole batch.
    encoder = OnnxQueryEncoder(work)
    onnx_vectors = np.vstack([encoder.encode([p]) for p in _PROBES])
    torch_vectors = model.encode(list(_PROBES), normalize_embeddings=True, convert_to_numpy=True)
    worst = float(np.min(np.sum(onnx_vectors * torch_vectors, axis=1)))
    if worst < MIN_COSINE:
        raise QueryExportError(
            f"the ONNX copy of {embedder.name!r} drifts from it (cosine {worst:.3f})"
        )
    passage_vectors = OnnxPassageEncoder(work).encode(list(_PROBES))
    worst = float(np.min(np.sum(passage_vectors * torch_vectors, axis=1)))
    if worst < MIN_PASSAGE_COSINE:
        raise QueryExportError(
            f"the float32 ONNX copy of {embedder.name!r} drifts from it (cosine {worst:.6f})"
        )


def _compact_lookup_tables(path: Path) -> None:
    """Store each large float lookup table (the word embeddings: 47 MB of a 69 MB model) as
    int8 rows, each with its own scale, dequantised after the lookup.

    The table is two thirds of what an answering process loads for its model; a scale per row
    keeps every word's vector to within half a step of its own largest value, where one scale
    for the whole table (what onnxruntime's quantiser does) rounds small rows to nothing.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    tables = {t.name: t for t in graph.initializer}
    nodes = list(graph.node)
    rewritten = []
    for node in nodes:
        table = tables.get(node.input[0]) if node.op_type == "Gather" else None
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        if table is None or table.data_type != TensorProto.FLOAT or axis != 0:
            rewritten.append(node)
            continue
        weights = numpy_helper.to_array(table)
        if weights.ndim != 2 or weights.nbytes < _MIN_TABLE_BYTES:
            rewritten.append(node)
            continue
        scale = np.abs(weights).max(axis=1, keepdims=True) / 127.0
        scale[scale == 0] = 1.0
        rows = np.clip(np.rint(weights / scale), -127, 127).astype(np.int8)
        graph.initializer.remove(table)
        graph.initializer.extend(
            [
                numpy_helper.from_array(rows, f"{table.name}.int8"),
                numpy_helper.from_array(scale.astype(np.float32), f"{table.name}.scale"),
            ]
        )
        out, ids = node.output[0], node.input[1]
        rewritten += [
            helper.make_node("Gather", [f"{table.name}.int8", ids], [f"{out}.int8"]),
            helper.make_node("Gather", [f"{table.name}.scale", ids], [f"{out}.scale"]),
            helper.make_node("Cast", [f"{out}.int8"], [f"{out}.wide"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{out}.wide", f"{out}.scale"], [out]),
        ]
    del graph.node[:]
    graph.node.extend(rewritten)
    onnx.save(model, str(path))


def _feed_forward_outputs(path: Path) -> list[str]:
    """The matrix multiplications that end each feed-forward block, kept in float: quantising
    them costs the most agreement (question cosine to torch 0.990 at worst instead of 0.992 on
    dev questions), for a sixth of the weights."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return [
        n.name
        for n in graph.node
        if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name
    ]


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime's quantiser logs one INFO line per tensor on the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _torch_export(
    transformer: Any, names: tuple[str, ...], sample: tuple[Any, ...], path: Path
) -> None:
    import torch

    class Pooled(torch.nn.Module):
        """The transformer followed by mean pooling over real tokens and L2 normalisation,
        as sentence-transformers computes them."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            given = dict(zip(names, tensors, strict=True))
            tokens = self.transformer(**given).last_hidden_state
            weights = given["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["embedding"] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter: the dynamo one would add onnxscript to the dependencies.
        # Its tracer warnings are about shape-dependent branches that the dynamic axes cover.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled().eval(),
            sample,
            str(path),
            input_names=list(names),
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )

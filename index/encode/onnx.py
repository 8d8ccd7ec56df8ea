"""Question encoding with ONNX Runtime: the light query path.

An index built with a sentence-transformers model carries an int8 ONNX copy of it (see
`index/encode/export.py`), so a process that only answers questions needs onnxruntime and the
`tokenizers` package, never torch or sentence-transformers. The session runs on one thread: a
question is a few dozen tokens, and a thread pool only spins against whatever else the machine
(or a build in the same process) is doing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorruptError

QUERY_MODEL_DIR = "query-model"
ONNX_NAME = "model.int8.onnx"
TOKENIZER_NAME = "tokenizer.json"
INFO_NAME = "encoder.json"


@dataclass(frozen=True, slots=True)
class EncoderInfo:
    """What the query side must know beyond the graph, written beside it by the export."""

    model: str
    dimension: int
    max_tokens: int
    inputs: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dimension": self.dimension,
            "max_tokens": self.max_tokens,
            "inputs": list(self.inputs),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> EncoderInfo:
        return cls(
            model=str(raw["model"]),
            dimension=int(raw["dimension"]),
            max_tokens=int(raw["max_tokens"]),
            inputs=tuple(str(i) for i in raw["inputs"]),
        )


@dataclass(frozen=True, slots=True)
class QueryModelRecord:
    """The manifest's entry for the generation's query model; `file` is None when the model
    could not be exported, and `reason` says why."""

    model: str
    file: str | None
    sha256: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "file": self.file,
            "sha256": self.sha256,
            "reason": self.reason,
        }

    @classmethod
    def from_manifest(cls, raw: dict[str, Any]) -> QueryModelRecord | None:
        """None for an index built before query models existed."""
        if not raw:
            return None
        return cls(
            model=str(raw.get("model", "")),
            file=raw.get("file"),
            sha256=raw.get("sha256"),
            reason=raw.get("reason"),
        )


def read_info(folder: Path) -> EncoderInfo:
    path = folder / INFO_NAME
    try:
        return EncoderInfo.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(path, f"the query model description is unreadable: {exc}") from None


class OnnxQueryEncoder:
    """Unit vectors for questions from the exported model in `folder`."""

    def __init__(self, folder: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        info = read_info(folder)
        self.name = info.model
        self.dimension = info.dimension
        self.folder = folder
        self._inputs = info.inputs
        try:
            self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_NAME))
        except Exception as exc:  # noqa: BLE001 - the Rust binding raises a bare Exception
            raise IndexCorruptError(folder / TOKENIZER_NAME, f"unreadable: {exc}") from None
        # The file may carry a fixed-length padding from training; questions pad only to the
        # longest in their batch, as sentence-transformers does.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(info.max_tokens)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(
                str(folder / ONNX_NAME), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors share no base class
            raise IndexCorruptError(
                folder / ONNX_NAME, f"ONNX Runtime cannot load it: {exc}"
            ) from None

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors for `texts`, shape (len(texts), dimension), float32."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for begin in range(0, len(texts), batch_size):
            batch = list(texts[begin : begin + batch_size])
            encodings = self._tokenizer.encode_batch(batch)
            width = max(len(e.ids) for e in encodings)
            feed = {name: np.zeros((len(batch), width), dtype=np.int64) for name in self._inputs}
            for row, e in enumerate(encodings):
                n = len(e.ids)
                feed["input_ids"][row, :n] = e.ids
                feed["attention_mask"][row, :n] = 1
                if "token_type_ids" in feed:
                    feed["token_type_ids"][row, :n] = e.type_ids
            (vectors,) = self._session.run(["embedding"], feed)
            out[begin : begin + len(batch)] = vectors
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

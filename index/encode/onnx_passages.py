"""Passage encoding with ONNX Runtime: the light update path.

The export of the query model (`index/encode/export.py`) also keeps the float32 graph it
quantises. Run by ONNX Runtime, that graph gives the sentence-transformers vectors to within
float rounding (largest difference 2e-7 on SQuAD passages), so a worker whose export is cached
embeds new passages without importing torch: measured on 300 passages of 100 words, a peak
of about 300 MB against 790-850 MB for the torch model (whose libraries alone hold 500 MB).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.encode.onnx import TOKENIZER_NAME, read_info
from index.errors import IndexCorruptError

PASSAGE_ONNX_NAME = "model.fp32.onnx"
# Tokens per batch (padded width x rows). ONNX Runtime's arena keeps its largest request,
# so the batch is bounded by tokens, not rows: on 100-word passages, batches of 8 peaked at
# 300 MB and batches of 32 at 505 MB, for about the same time per passage.
BATCH_TOKENS = 2048


class OnnxPassageEncoder:
    """Unit vectors for passages from the float32 export in `folder`; what the indexer needs
    of an embedder (`index.build.EncodesText`)."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        info = read_info(folder)
        self.name = info.model
        self.dimension = info.dimension
        self.max_tokens = info.max_tokens
        self._inputs = info.inputs
        try:
            tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_NAME))
        except Exception as exc:  # noqa: BLE001 - the Rust binding raises a bare Exception
            raise IndexCorruptError(folder / TOKENIZER_NAME, f"unreadable: {exc}") from None
        tokenizer.no_padding()
        tokenizer.no_truncation()
        # Counting must see every token (the passage plan cuts windows by it); encoding
        # truncates as sentence-transformers does, special tokens included.
        self._counter = tokenizer
        self._tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self._tokenizer.enable_truncation(info.max_tokens)
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        path = folder / PASSAGE_ONNX_NAME
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors share no base class
            raise IndexCorruptError(path, f"ONNX Runtime cannot load it: {exc}") from None

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Unit vectors for `texts`, shape (len(texts), dimension), float32.

        Texts are tokenised once, then run longest first, so each batch pads to similar
        lengths; a batch holds at most `batch_size` texts and `BATCH_TOKENS` padded tokens.
        `progress` hears the number of texts after every batch.
        """
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        begin = 0
        while begin < len(order):
            width = len(encodings[order[begin]].ids)
            rows = max(1, min(batch_size, BATCH_TOKENS // max(width, 1)))
            ids = order[begin : begin + rows]
            feed = {name: np.zeros((len(ids), width), dtype=np.int64) for name in self._inputs}
            for row, i in enumerate(ids):
                e = encodings[i]
                n = len(e.ids)
                feed["input_ids"][row, :n] = e.ids
                feed["attention_mask"][row, :n] = 1
                if "token_type_ids" in feed:
                    feed["token_type_ids"][row, :n] = e.type_ids
            (vectors,) = self._session.run(["embedding"], feed)
            out[ids] = vectors
            begin += len(ids)
            if progress is not None:
                progress(len(ids))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

"""The learned ranker, confidence and quote choice: three logistic regressions, the first two
over `features.FEATURE_NAMES`, the quote's over `features.SENTENCE_FEATURE_NAMES`, trained by
`python -m bench.train_ranker` and read here with numpy alone (the answering process never
imports the training library).

The file (`ranker.npz`, provenance in `ranker.json` beside it) holds, per model, the
features' means and scales and the coefficients over the scaled features. The confidence's
intercept is shifted at training so that the threshold chosen there lands on the default
`min_score`: the setting keeps its meaning whichever ranker answers.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.npyio import NpzFile

from index.errors import ArticlebotError
from index.query.features import FEATURE_NAMES, SENTENCE_FEATURE_NAMES

MODEL_PATH = Path(__file__).with_name("ranker.npz")


class ModelFileError(ArticlebotError):
    """The learned ranker's file is missing or unreadable: shown to the user as it is."""


@dataclass(frozen=True, slots=True)
class LinearModel:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logits(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale) @ self.coef + self.intercept

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(features)))


@dataclass(frozen=True, slots=True)
class LearnedRanker:
    ranker: LinearModel
    confidence: LinearModel
    # Scores each sentence of a shown passage: the highest is its quote.
    quote: LinearModel
    # Candidates (in fused order) the ranker reorders; the rest keep their place after them.
    depth: int
    # The first `keep_top` passages the fused ranking shows (overlapping windows passed
    # over) stay the first ones, reordered among themselves, and the other candidates come
    # after them: the first `keep_top` hits are the fused ones, so they hold an answer
    # exactly as often with the ranker as without. 0 reorders all `depth` as one.
    keep_top: int

    def order(self, scores: np.ndarray, kept: np.ndarray) -> np.ndarray:
        """The candidates (positions in fused order) by the ranker's `scores`, those of
        `kept` (the first `keep_top` the fused ranking shows) before the others."""
        after = np.ones(len(scores), dtype=bool)
        after[kept] = False
        return np.lexsort((np.arange(len(scores)), -scores, after))

    def confidence_features(self, features: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The confidence reads each candidate's features, its ranker score and its lead
        over the best other candidate."""
        order = np.sort(scores)[::-1]
        runner_up = np.where(scores >= order[0], order[1] if len(order) > 1 else 0.0, order[0])
        return np.column_stack([features, scores, scores - runner_up])

    def standalone_features(self, features: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The confidence's input for each candidate judged on its own (the newest-first
        listing): trailing another candidate is no evidence against it there, so its lead
        counts as at least a tie."""
        both = self.confidence_features(features, scores)
        both[:, -1] = np.maximum(both[:, -1], 0.0)
        return both


def load(path: Path | None = None) -> LearnedRanker:
    """The model in `path`, the committed `MODEL_PATH` when None."""
    path = MODEL_PATH if path is None else path
    try:
        with _archive(path) as data:
            names = tuple(str(n) for n in data["feature_names"])
            sentence_names = tuple(str(n) for n in data["sentence_feature_names"])
            if names != FEATURE_NAMES or sentence_names != SENTENCE_FEATURE_NAMES:
                raise ModelFileError(
                    f"{path}: trained on other features than this version reads; train it "
                    "again with `python -m bench.train_ranker`, or set ARTICLEBOT_RANKER=fused"
                )
            models = [
                LinearModel(
                    data[f"{p}_mean"],
                    data[f"{p}_scale"],
                    data[f"{p}_coef"],
                    float(data[f"{p}_intercept"]),
                )
                for p in ("ranker", "confidence", "quote")
            ]
            model = LearnedRanker(
                models[0], models[1], models[2], int(data["depth"]), int(data["keep_top"])
            )
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelFileError(
            f"{path}: cannot read the learned ranker ({exc}); train it with "
            "`python -m bench.train_ranker`, or set ARTICLEBOT_RANKER=fused"
        ) from None
    _check_shapes(path, model)
    return model


def _archive(path: Path) -> NpzFile:
    data = np.load(path, allow_pickle=False)
    if not isinstance(data, NpzFile):
        raise ValueError("one array, not the model's archive")
    return data


def _check_shapes(path: Path, model: LearnedRanker) -> None:
    """Every array the right length for its features, every number finite: a file that
    passes scores every question without a shape error or a NaN."""
    widths = (
        (model.ranker, len(FEATURE_NAMES)),
        (model.confidence, len(FEATURE_NAMES) + 2),
        (model.quote, len(SENTENCE_FEATURE_NAMES)),
    )
    for linear, width in widths:
        arrays = (linear.mean, linear.scale, linear.coef)
        if any(a.shape != (width,) for a in arrays) or not all(
            np.isfinite(a).all() for a in (*arrays, np.array(linear.intercept))
        ):
            raise _damaged(path, f"a model's arrays are not {width} finite numbers")
    if model.depth < 1:
        raise _damaged(path, f"depth {model.depth} is below 1")
    if not 0 <= model.keep_top <= model.depth:
        raise _damaged(path, f"keep_top {model.keep_top} is not within 0..{model.depth}")


def _damaged(path: Path, why: str) -> ModelFileError:
    return ModelFileError(
        f"{path}: damaged ({why}); train it again with `python -m bench.train_ranker`, "
        "or set ARTICLEBOT_RANKER=fused"
    )


def save(path: Path, model: LearnedRanker) -> None:
    arrays: dict[str, np.ndarray] = {
        "feature_names": np.array(FEATURE_NAMES),
        "sentence_feature_names": np.array(SENTENCE_FEATURE_NAMES),
    }
    for prefix, linear in (
        ("ranker", model.ranker),
        ("confidence", model.confidence),
        ("quote", model.quote),
    ):
        arrays[f"{prefix}_mean"] = linear.mean
        arrays[f"{prefix}_scale"] = linear.scale
        arrays[f"{prefix}_coef"] = linear.coef
        arrays[f"{prefix}_intercept"] = np.array(linear.intercept)
    arrays["depth"] = np.array(model.depth)
    arrays["keep_top"] = np.array(model.keep_top)
    # Written aside and swapped in: a crash never leaves half a model where it is read.
    aside = path.with_name(path.name + ".tmp")
    with aside.open("wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]
    aside.replace(path)

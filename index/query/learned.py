"""The learned ranker and confidence: two logistic regressions over `features.FEATURE_NAMES`,
trained by `python -m bench.train_ranker` and read here with numpy alone (the answering
process never imports the training library).

The file (`ranker.npz`, provenance in `ranker.json` beside it) holds, per model, the
features' means and scales and the coefficients over the scaled features. The confidence's
intercept is shifted at training so that the threshold chosen there lands on the default
`min_score`: the setting keeps its meaning whichever ranker answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import ArticlebotError
from index.query.features import FEATURE_NAMES

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
    # Candidates (in fused order) the ranker reorders; the rest keep their place after them.
    depth: int
    # Added to a sentence's term share when it holds the answer type asked: quote choice.
    quote_type_bonus: float

    def confidence_features(self, features: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The confidence reads each candidate's features, its ranker score and its lead
        over the best other candidate."""
        order = np.sort(scores)[::-1]
        runner_up = np.where(scores >= order[0], order[1] if len(order) > 1 else 0.0, order[0])
        return np.column_stack([features, scores, scores - runner_up])


def load(path: Path = MODEL_PATH) -> LearnedRanker:
    try:
        with np.load(path, allow_pickle=False) as data:
            names = tuple(str(n) for n in data["feature_names"])
            if names != FEATURE_NAMES:
                raise ModelFileError(f"{path}: trained on other features than this version reads")
            models = [
                LinearModel(
                    data[f"{p}_mean"],
                    data[f"{p}_scale"],
                    data[f"{p}_coef"],
                    float(data[f"{p}_intercept"]),
                )
                for p in ("ranker", "confidence")
            ]
            return LearnedRanker(
                models[0], models[1], int(data["depth"]), float(data["quote_type_bonus"])
            )
    except (OSError, KeyError) as exc:
        raise ModelFileError(
            f"{path}: cannot read the learned ranker ({exc}); train it with "
            "`python -m bench.train_ranker`, or set ARTICLEBOT_RANKER=fused"
        ) from None


def save(
    path: Path,
    ranker: LinearModel,
    confidence: LinearModel,
    depth: int,
    quote_type_bonus: float,
) -> None:
    arrays: dict[str, np.ndarray] = {"feature_names": np.array(FEATURE_NAMES)}
    for prefix, model in (("ranker", ranker), ("confidence", confidence)):
        arrays[f"{prefix}_mean"] = model.mean
        arrays[f"{prefix}_scale"] = model.scale
        arrays[f"{prefix}_coef"] = model.coef
        arrays[f"{prefix}_intercept"] = np.array(model.intercept)
    arrays["depth"] = np.array(depth)
    arrays["quote_type_bonus"] = np.array(quote_type_bonus)
    with path.open("wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]

"""What a finished run got right and wrong: best epoch, overfitting, confusion matrix, confident mistakes."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.errors import ModelFileError
from core.verdict import positive

TEST_SCORES = "test_scores.npy"


def lowest_val_loss(history: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The history entry of the epoch with the lowest validation loss."""
    scored = [h for h in history if h.get("val_loss") is not None]
    return min(scored, key=lambda h: h["val_loss"]) if scored else None


def best_epoch(history: Sequence[dict[str, Any]]) -> int | None:
    """The (1-based) epoch with the lowest validation loss."""
    best = lowest_val_loss(history)
    return best["epoch"] if best else None


def overfitting_note(history: Sequence[dict[str, Any]]) -> str | None:
    """A plain-language note when validation loss rose after its lowest point."""
    best = lowest_val_loss(history)
    if best is None:
        return None
    later = [h for h in history if h["epoch"] > best["epoch"] and h.get("val_loss") is not None]
    if not later or max(h["val_loss"] for h in later) <= best["val_loss"]:
        return None
    return (f"Validation loss rose after epoch {best['epoch']}: overfitting. The model kept memorising the training "
            f"reviews while getting worse on reviews it had not seen.")


def confusion_matrix(y: np.ndarray, scores: np.ndarray) -> list[list[int]]:
    """Rows: actual negative/positive; columns: predicted negative/positive (threshold 0.5)."""
    predicted = positive(scores).astype(int)
    return [[int(np.sum((y == a) & (predicted == p))) for p in (0, 1)] for a in (0, 1)]


@dataclass(frozen=True)
class Mistake:
    index: int  # position in the test split
    label: int
    score: float

    @property
    def confidence(self) -> float:
        """How sure the model was of its wrong answer (0.5 to 1)."""
        return max(self.score, 1 - self.score)


def mistakes(y: np.ndarray, scores: np.ndarray, limit: int = 20) -> list[Mistake]:
    """Misclassified test reviews, most confident first."""
    wrong = np.flatnonzero(positive(scores) != (y == 1))
    order = wrong[np.argsort(-np.abs(scores[wrong] - 0.5), kind="stable")][:limit]
    return [Mistake(int(i), int(y[i]), float(scores[i])) for i in order]


def load_test_scores(run_dir: str | Path, expected: int) -> np.ndarray:
    """The run's saved test-split probabilities."""
    path = Path(run_dir) / TEST_SCORES
    try:
        scores = np.load(path)
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"The test predictions of this run ({TEST_SCORES}) are missing or corrupt.") from exc
    if scores.shape != (expected,):
        raise ModelFileError(f"The test predictions in {TEST_SCORES} do not match the test split "
                             f"({scores.shape[0]} vs {expected}).")
    return scores

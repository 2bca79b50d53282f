"""What a finished run got right and wrong: best epoch, overfitting, confusion matrix, per-class results,
confident mistakes. Scores are a binary model's 1-D P(label 1) or a 3+-class model's (n, k) probabilities."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.data import imdb
from core.errors import ModelFileError
from core.verdict import predicted, probabilities

TEST_SCORES = "test_scores.npy"


def lowest_val_loss(history: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The history entry of the epoch with the lowest validation loss."""
    scored = [h for h in history if h.get("val_loss") is not None]
    return min(scored, key=lambda h: h["val_loss"]) if scored else None


def best_epoch(history: Sequence[dict[str, Any]]) -> int | None:
    """The (1-based) epoch with the lowest validation loss."""
    best = lowest_val_loss(history)
    return best["epoch"] if best else None


def stop_reason(history: Sequence[dict[str, Any]], epochs: int, patience: int | None, stopped: bool) -> str:
    """Why training ended, in one sentence: the budget of `epochs` ran out, early stopping (`patience` epochs
    without a lower validation loss) ended it, or the user stopped it. With early stopping on, Keras restores the
    weights of the epoch with the lowest validation loss whichever way it ended, and the sentence says so."""
    done, best = len(history), best_epoch(history)
    restored = f" The model is the one of epoch {best}, the lowest validation loss." if patience and best else ""
    if stopped:
        return f"Stopped by you after {done} of {epochs} epochs.{restored}"
    if patience and done < epochs:
        return (f"Early stopping ended training after epoch {done} of {epochs}: validation loss had not gone below "
                f"epoch {best}'s for {patience} epochs.{restored}")
    return f"Trained all {epochs} epochs of its budget.{restored}"


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


def class_names(num_classes: int, labels: Sequence[str] | None = None) -> tuple[str, ...]:
    """The classes' names: `labels` when given, IMDB's for two classes, else "class 0", "class 1", ..."""
    if labels is not None:
        return tuple(str(label) for label in labels)
    return imdb.LABELS if num_classes == 2 else tuple(f"class {i}" for i in range(num_classes))


def num_classes(scores: np.ndarray) -> int:
    return 2 if np.ndim(scores) == 1 else int(np.shape(scores)[1])


def confusion_matrix(y: np.ndarray, scores: np.ndarray) -> list[list[int]]:
    """k x k counts: rows are the true class, columns the predicted class (`verdict.predicted`)."""
    k = num_classes(scores)
    counts = np.bincount(np.asarray(y, dtype=np.int64) * k + predicted(scores), minlength=k * k)
    return counts.reshape(k, k).tolist()


@dataclass(frozen=True)
class ClassScores:
    """How well a model does on one class: of the reviews it called this class, the share that were (precision);
    of the reviews of this class, the share it found (recall); and how many test reviews are of it (support)."""

    label: str
    precision: float
    recall: float
    support: int


@dataclass(frozen=True)
class ClassReport:
    """Accuracy, the confusion matrix (rows: the true class, columns: the predicted one) and each class's scores."""

    accuracy: float
    confusion: list[list[int]]
    per_class: tuple[ClassScores, ...]


def class_report(y: np.ndarray, scores: np.ndarray, labels: Sequence[str] | None = None) -> ClassReport:
    """The class report of `scores` on the true classes `y`. A class the model never predicts has precision 0."""
    confusion = np.array(confusion_matrix(y, scores))
    names = class_names(len(confusion), labels)
    support, called = confusion.sum(axis=1), confusion.sum(axis=0)
    right = np.diag(confusion)
    per_class = tuple(ClassScores(names[i], float(right[i] / called[i]) if called[i] else 0.0,
                                  float(right[i] / support[i]) if support[i] else 0.0, int(support[i]))
                      for i in range(len(names)))
    return ClassReport(float(right.sum() / max(1, support.sum())), confusion.tolist(), per_class)


@dataclass(frozen=True)
class Mistake:
    index: int  # position in the test split
    label: int  # the true class id
    score: float  # a binary model's P(label 1); for 3+ classes, the predicted class's probability
    predicted: int  # the predicted class id
    confidence: float  # the predicted class's probability: how sure the model was of its wrong answer
    true_label: str
    predicted_label: str


def mistakes(y: np.ndarray, scores: np.ndarray, limit: int = 20,
             labels: Sequence[str] | None = None) -> list[Mistake]:
    """Misclassified test reviews, most confident first, naming the true and the predicted class."""
    guess = predicted(scores)
    probs = probabilities(scores)
    sure = probs[np.arange(len(guess)), guess]
    wrong = np.flatnonzero(guess != y)
    order = wrong[np.argsort(-sure[wrong], kind="stable")][:limit]
    names = class_names(probs.shape[1], labels)
    score = scores if np.ndim(scores) == 1 else sure
    return [Mistake(int(i), int(y[i]), float(score[i]), int(guess[i]), float(sure[i]), names[int(y[i])],
                    names[int(guess[i])]) for i in order]


def load_test_scores(run_dir: str | Path, expected: int) -> np.ndarray:
    """The run's saved test-split scores: (n,) for a binary model, (n, k) for 3+ classes."""
    path = Path(run_dir) / TEST_SCORES
    try:
        scores = np.load(path)
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"The test predictions of this run ({TEST_SCORES}) are missing or corrupt.") from exc
    if scores.ndim not in (1, 2) or scores.shape[0] != expected or (scores.ndim == 2 and scores.shape[1] < 3):
        raise ModelFileError(f"The test predictions in {TEST_SCORES} do not match the test split "
                             f"({scores.shape[0] if scores.ndim else 0} vs {expected}).")
    return scores

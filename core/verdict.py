"""What a score says: the one place that owns the decision (the 0.5 threshold and its tie rule for two classes,
the most probable class for more) and the "unsure" band around the binary line."""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from core.data import imdb

THRESHOLD = 0.5
UNSURE_MARGIN = 0.1  # scores from 0.4 to 0.6 are too close to the line to call
Label = str  # a class name ("positive", "negative" for IMDB), "unsure" or "no known words"


def positive(scores: np.ndarray | float) -> np.ndarray | bool:
    """Whether each score counts as positive: above 0.5, as Keras's binary accuracy counts it (0.5 itself is not)."""
    return np.asarray(scores) > THRESHOLD


def predicted(scores: np.ndarray) -> np.ndarray:
    """Class ids from scores of either shape: 1-D P(label 1) of a binary model (1 above 0.5, as `positive`), or
    2-D (n, k) class probabilities (the most probable class; the lower id on a tie)."""
    scores = np.asarray(scores)
    if scores.ndim == 1:
        return positive(scores).astype(np.int64)
    if scores.ndim == 2:
        return np.argmax(scores, axis=1)
    raise ValueError(f"scores must be 1-D (binary) or 2-D (one column per class), not {scores.ndim}-D")


def probabilities(scores: np.ndarray) -> np.ndarray:
    """(n, k) class probabilities from scores of either shape: a binary score p becomes [1 - p, p]."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.stack([1 - scores, scores], axis=1) if scores.ndim == 1 else scores


@dataclass(frozen=True)
class Verdict:
    """A score in words, with how far it is from the line and whether the model saw anything it knows.

    Binary models (IMDB's "positive"/"negative", or any two classes) give `score` = P(label 1) and have the unsure
    band; a model of 3+ classes gives every class's probability, and its verdict is the most probable class.
    """

    score: float  # binary: P(label 1); 3+ classes: the predicted class's probability
    known_words: int  # words of the review the model has an id for (the start mark and ? not counted)
    labels: tuple[str, ...] = imdb.LABELS  # class names in class-id order
    class_probabilities: tuple[float, ...] = ()  # 3+ classes: one per class; empty for a binary model

    @classmethod
    def of(cls, scores: np.ndarray, known_words: int, labels: tuple[str, ...] = imdb.LABELS) -> "Verdict":
        """The verdict on one review's scores: a binary model's P(label 1), or a 3+-class model's probabilities."""
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.size == 1:
            return cls(float(scores[0]), known_words, labels)
        return cls(float(scores.max()), known_words, labels, tuple(float(v) for v in scores))

    @property
    def probabilities(self) -> tuple[float, ...]:
        """Each class's probability, in class-id order (binary: 1 - score, score)."""
        return self.class_probabilities or (1 - self.score, self.score)

    @property
    def predicted(self) -> int:
        """The predicted class id (`predicted`: the 0.5 rule, or the most probable class)."""
        scores = np.array([self.class_probabilities]) if self.class_probabilities else np.array([self.score])
        return int(predicted(scores)[0])

    @property
    def leaning(self) -> str:
        """The predicted class's name ("positive" or "negative" for IMDB)."""
        return self.labels[self.predicted]

    @property
    def margin(self) -> float:
        """Binary: distance from the 0.5 line (0 to 0.5); 3+ classes: the most probable class's lead over the next."""
        if self.class_probabilities:
            top = sorted(self.class_probabilities, reverse=True)
            return top[0] - top[1]
        return abs(self.score - THRESHOLD)

    @property
    def label(self) -> Label:
        if self.known_words == 0:
            return "no known words"
        if not self.class_probabilities and self.margin <= UNSURE_MARGIN + 1e-12:  # 0.4 and 0.6 are unsure
            return "unsure"
        return self.leaning

    @property
    def note(self) -> str | None:
        """The sentence a front end must add to the score, or None when the label says it all."""
        if self.label == "no known words":
            return ("the model saw no known words: none of the review's words is in its vocabulary, so the score "
                    "says nothing about this review")
        if self.label == "unsure":
            leans = f"it leans {self.leaning}" if f"{self.margin:.3f}" != "0.000" else "it leans neither way"
            return (f"unsure: {self.score:.3f} is {self.margin:.3f} from the 0.5 line, within the "
                    f"{THRESHOLD - UNSURE_MARGIN:g}–{THRESHOLD + UNSURE_MARGIN:g} band; {leans}")
        return None

"""What a score says: the one place that owns the 0.5 threshold, its tie rule and the "unsure" band around it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

THRESHOLD = 0.5
UNSURE_MARGIN = 0.1  # scores from 0.4 to 0.6 are too close to the line to call
Label = Literal["positive", "negative", "unsure", "no known words"]


def positive(scores: np.ndarray | float) -> np.ndarray | bool:
    """Whether each score counts as positive: above 0.5, as Keras's binary accuracy counts it (0.5 itself is not)."""
    return np.asarray(scores) > THRESHOLD


@dataclass(frozen=True)
class Verdict:
    """A score in words, with how far it is from the line and whether the model saw anything it knows."""

    score: float
    known_words: int  # words of the review the model has an id for (the start mark and ? not counted)

    @property
    def leaning(self) -> Literal["positive", "negative"]:
        return "positive" if positive(self.score) else "negative"

    @property
    def margin(self) -> float:
        """Distance from the 0.5 line (0 to 0.5)."""
        return abs(self.score - THRESHOLD)

    @property
    def label(self) -> Label:
        if self.known_words == 0:
            return "no known words"
        if self.margin <= UNSURE_MARGIN + 1e-12:  # 0.4 and 0.6 themselves are unsure
            return "unsure"
        return self.leaning

    @property
    def note(self) -> str | None:
        """The sentence a front end must add to the score, or None when the label says it all."""
        if self.label == "no known words":
            return ("the model saw no known words: none of the review's words is in its vocabulary, so the score "
                    "says nothing about this review")
        if self.label == "unsure":
            return (f"unsure: {self.score:.3f} is {self.margin:.3f} from the 0.5 line, within the "
                    f"{THRESHOLD - UNSURE_MARGIN:g}–{THRESHOLD + UNSURE_MARGIN:g} band; it leans {self.leaning}")
        return None

"""The colours every page gives a meaning: IMDB's green positive and red negative (also a word's push up or down), a
verdict's colour, and one colour per class of a user's data set."""
from __future__ import annotations

from typing import Sequence

from core.data import imdb

POSITIVE = "#2b8a3e"
NEGATIVE = "#c92a2a"
GREY = "#495057"
BLUE = "#1f5fbf"
ORANGE = "#e67700"
SERIES = (BLUE, "#d9480f", POSITIVE, "#7048e8", "#c2255c", "#0b7285", ORANGE, GREY)  # runs, classes
VERDICT = {"positive": POSITIVE, "negative": NEGATIVE, "unsure": ORANGE, "no known words": GREY}
IMDB_CLASSES = {"positive": POSITIVE, "negative": NEGATIVE}


def signed(value: float) -> str:
    """Green for a push up (towards label 1, or the predicted class), red for a push down."""
    return POSITIVE if value > 0 else NEGATIVE


def class_color(labels: Sequence[str], k: int) -> str:
    """A class's colour: IMDB's green and red, otherwise the series colour of its id."""
    if tuple(labels) == imdb.LABELS:
        return IMDB_CLASSES[labels[k]]
    return SERIES[k % len(SERIES)]


def rgba(color: str, alpha: float) -> str:
    """`#rrggbb` with an opacity, for fills and tints."""
    return f"rgba({int(color[1:3], 16)},{int(color[3:5], 16)},{int(color[5:7], 16)},{alpha:.2f})"

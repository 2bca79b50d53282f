"""The one rule for reading a score: the 0.5 line, Keras's tie rule, the unsure band, and reviews with no known word."""
from __future__ import annotations

import numpy as np
import pytest

from core.verdict import Verdict, positive


@pytest.mark.parametrize("score, label, leaning", [
    (0.49, "unsure", "negative"), (0.5, "unsure", "negative"), (0.51, "unsure", "positive"),
    (0.4, "unsure", "negative"), (0.6, "unsure", "positive"),
    (0.39, "negative", "negative"), (0.61, "positive", "positive"), (0.02, "negative", "negative"),
])
def test_scores_near_the_line_are_unsure(score, label, leaning):
    verdict = Verdict(score, known_words=5)
    assert (verdict.label, verdict.leaning) == (label, leaning)
    assert verdict.margin == pytest.approx(abs(score - 0.5))
    assert (verdict.note is not None) == (label == "unsure")


def test_the_unsure_note_shows_the_margin():
    assert Verdict(0.49, 3).note.startswith("unsure: 0.490 is 0.010 from the 0.5 line")


def test_an_unsure_score_on_the_line_leans_neither_way():
    assert Verdict(0.5002, 3).note.endswith("0.500 is 0.000 from the 0.5 line, within the 0.4–0.6 band; it leans neither way")
    assert Verdict(0.49, 3).note.endswith("it leans negative")


def test_no_known_words_is_said_whatever_the_score():
    verdict = Verdict(0.93, known_words=0)
    assert verdict.label == "no known words" and "the model saw no known words" in verdict.note


def test_positive_is_keras_binary_accuracy_rule():
    assert positive(np.array([0.5, 0.5000001, 0.2])).tolist() == [False, True, False]

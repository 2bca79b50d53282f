"""Scoring's limits, on a real tiny run: the review-length cap, reviews with no known word, the measured-word cap."""
from __future__ import annotations

import time

import pytest

from core import predict
from core.errors import InputTextError


@pytest.fixture(scope="module")
def scorer(trained_run):
    return predict.Scorer(trained_run.model_dir)


def long_review(corpus, vocabulary, chars: int) -> str:
    """Real decoded reviews joined until the text reaches `chars` characters."""
    text, i = "", 0
    while len(text) < chars:
        text += " " + vocabulary.decode(corpus.train.x[i][1:], 10_000).replace("?", "")
        i += 1
    return text[:chars]


def test_reviews_over_the_cap_are_refused_with_the_numbers(scorer):
    text = "good " * 5_000  # 25,000 characters
    for call in (lambda: scorer.score([text]), lambda: scorer.explain(text), lambda: scorer.verdicts([text])):
        with pytest.raises(InputTextError, match="25,000 characters long; the limit is 20,000"):
            call()
    assert scorer.score(["good " * 3_999])  # 19,995 characters: fine


def test_no_known_words_is_a_fact_of_the_explanation_and_the_verdict(scorer):
    for text in ("🙂🙂🙂", "qwxzvbnm zzqxv", "? ? ?"):
        explanation = scorer.explain(text)
        assert explanation.verdict.label == "no known words", text
        assert "the model saw no known words" in explanation.verdict.note
        (verdict,) = scorer.verdicts([text])
        assert verdict.label == "no known words"
    assert scorer.explain("a wonderful film").verdict.known_words == 3


def test_only_the_first_distinct_words_are_measured_and_the_rest_say_so(scorer, corpus, vocabulary):
    text = long_review(corpus, vocabulary, predict.MAX_TEXT_CHARS)
    started = time.perf_counter()
    explanation = scorer.explain(text)
    seconds = time.perf_counter() - started
    measured = {w.text for w in explanation.words if w.effect is not None}
    unmeasured = {w.text for w in explanation.words if w.status == "not measured"}
    assert len(measured) == predict.MAX_EXPLAINED_WORDS
    assert unmeasured and not measured & unmeasured
    assert explanation.unmeasured >= len(unmeasured)
    assert all(w.effect is None for w in explanation.words if w.status == "not measured")
    assert seconds < 60, f"explaining the longest allowed review took {seconds:.1f} s"

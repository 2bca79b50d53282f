"""Scoring typed reviews with a finished run, and explaining the score word by word."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import bundle, registry
from core.data import Ragged
from core.errors import InputTextError
from core.features import ModelInput
from core.vocab import OOV_MARK, Token

MAX_EXPLAINED_WORDS = 300
CHUNK = 2_500  # reviews vectorised at a time: a 25,000-review multi-hot matrix is never built whole


def score_ragged(model, featurizer, x: Ragged, chunk: int = CHUNK) -> np.ndarray:
    """Probabilities of positive for id sequences, vectorised chunk by chunk."""
    out = [np.zeros(0, dtype=np.float32)]
    for start in range(0, len(x), chunk):
        part = x.take(np.arange(start, min(start + chunk, len(x))))
        out.append(np.asarray(model.predict(featurizer.transform(part), batch_size=512, verbose=0)).reshape(-1))
    return np.concatenate(out)


@dataclass(frozen=True)
class WordEffect:
    """One token of the review: what the model received for it and how much it moved the score."""

    text: str
    id: int | None
    status: str  # "known", "outside vocabulary" (became ?), "not in word index" (dropped, as Keras did)
    effect: float | None  # score with the word minus score without every occurrence of it


@dataclass(frozen=True)
class Explanation:
    score: float
    words: list[WordEffect]
    ids: list[int]  # what the encoder produced, start token first
    model_input: ModelInput  # what the featuriser hands the model, in that featuriser's own terms


def _check_text(text: str) -> str:
    if not text or not text.strip():
        raise InputTextError("The review is empty: type a few words to score.")
    return text


class Scorer:
    """A loaded run; calls are serialised with a lock because one Keras model is shared by every session."""

    def __init__(self, run_dir: Path | str) -> None:
        self.bundle = bundle.load(run_dir)
        self._lock = threading.Lock()

    @property
    def hp(self):
        return self.bundle.hp

    def encode(self, text: str) -> list[int]:
        return self.bundle.vocabulary.encode(text, self.hp.num_words)

    def _score_ids(self, seqs: list[list[int]]) -> np.ndarray:
        with self._lock:
            out = score_ragged(self.bundle.model, self.bundle.featurizer, Ragged.from_lists(seqs))
        return out.astype(np.float64)

    def score(self, texts: list[str]) -> list[float]:
        """Probability of positive for each text; an empty text is refused."""
        for text in texts:
            _check_text(text)
        return self._score_ids([self.encode(t) for t in texts]).tolist()

    def explain(self, text: str) -> Explanation:
        """Each word's effect: the score drop when every occurrence of that word is removed from the review."""
        _check_text(text)
        tokens: list[Token] = self.bundle.vocabulary.tokens(text, self.hp.num_words)
        ids = [1] + [t.id for t in tokens if t.id is not None]
        words = [t.text for t in tokens if t.id is not None]
        unique = list(dict.fromkeys(w for w in words if w != OOV_MARK))[:MAX_EXPLAINED_WORDS]
        variants = [ids] + [[1] + [i for i, w in zip(ids[1:], words) if w != word] for word in unique]
        scores = self._score_ids(variants)
        effect = {word: float(scores[0] - s) for word, s in zip(unique, scores[1:])}
        described = [WordEffect(t.text, t.id, _status(t), effect.get(t.text)) for t in tokens]
        return Explanation(float(scores[0]), described, ids, self.bundle.featurizer.describe(ids))


def _status(token: Token) -> str:
    if token.id is None:
        return "not in word index"
    if token.id == 2:
        return "outside vocabulary"
    return "known"


def scorer(run_dir: Path | str) -> Scorer:
    """The shared scorer for a run folder, loaded once per process."""
    return registry.shared(("scorer", str(Path(run_dir).resolve())), lambda: Scorer(run_dir))


def forget(run_dir: Path | str) -> None:
    registry.forget(("scorer", str(Path(run_dir).resolve())))


def verdict(score: float) -> str:
    return "positive" if score >= 0.5 else "negative"


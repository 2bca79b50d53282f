"""Scoring typed reviews with a finished run, and explaining the score word by word."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import bundle, registry
from core.data import datasets
from core.data.imdb import Ragged
from core.data.imdb import OOV
from core.errors import InputTextError
from core.model_input import ModelInput
from core.verdict import Verdict
from core.data.vocab import OOV_MARK, Token, Vocabulary

MAX_TEXT_CHARS = 20_000  # longer than any IMDB review (the longest is about 13,700 characters)
MAX_EXPLAINED_WORDS = 300  # distinct words whose effect is measured: one extra scoring each
BATCH = 512  # rows the model scores at once
CHUNK_BYTES = 256 << 20  # at most this much featurised input at a time: `fast` scores IMDB's 25,000 test reviews in two
# calls (0.5 CPU s less than chunks of 2,500 reviews), and no input matrix of any model grows past it


def score_ragged(model, featurizer, x: Ragged, chunk_bytes: int = CHUNK_BYTES) -> np.ndarray:
    """Scores of id sequences, vectorised chunk by chunk (the first chunk measures a row): P(label 1) per review
    (1-D) from a binary model, each class's probability (n, k) from a model of 3+ classes."""
    out, start, rows = [], 0, 1_000
    while start < len(x):
        part = x.take(np.arange(start, min(start + rows, len(x))))
        matrix = featurizer.transform(part)
        out.append(score_matrix(model, matrix))
        start += len(part)
        rows = max(1, chunk_bytes // max(1, matrix.nbytes // len(part)))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def score_matrix(model, matrix: np.ndarray, batch: int = BATCH) -> np.ndarray:
    """Scores of reviews already featurised, `batch` rows at a time: P(label 1) per review (1-D) from a binary
    model, each class's probability (n, k) from a model of 3+ classes."""
    # One batch (a typed review and its word-removed variants) skips predict()'s per-call set-up, which cost
    # 0.18 s against 0.003 s for 15 rows: most of a score on a busy class server.
    small = len(matrix) <= batch
    scores = np.asarray(model.predict_on_batch(matrix) if small else model.predict(matrix, batch_size=batch, verbose=0))
    return scores.reshape(-1) if scores.shape[-1] == 1 else scores


@dataclass(frozen=True)
class WordEffect:
    """One token of the review: what the model received for it and how much it moved the score."""

    text: str
    id: int | None
    status: str  # "known", "not measured" (known, past MAX_EXPLAINED_WORDS), "outside vocabulary" (became ?),
    # "not in word index" (dropped, as Keras did)
    effect: float | None  # score with the word minus score without every occurrence of it


@dataclass(frozen=True)
class Explanation:
    score: float  # binary: P(label 1); 3+ classes: the predicted class's probability (what the effects move)
    words: list[WordEffect]
    ids: list[int]  # what the encoder produced, start token first
    model_input: ModelInput  # what the featuriser hands the model, in that featuriser's own terms
    verdict: Verdict
    unmeasured: int  # distinct known words past MAX_EXPLAINED_WORDS, whose effect was not measured


def _check_text(text: str) -> str:
    if not text or not text.strip():
        raise InputTextError("The review is empty: type a few words to score.")
    if len(text) > MAX_TEXT_CHARS:
        raise InputTextError(f"The review is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,} "
                             "(longer than any IMDB review). Shorten it to score it.")
    return text


def _known(tokens: list[Token]) -> int:
    """Words the model has an id for: not dropped, not the unknown id."""
    return sum(t.id is not None and t.id != OOV for t in tokens)


@dataclass(frozen=True)
class InputLine:
    """One text to score from raw input, and why it differs from the bytes given, if it does."""

    text: str
    note: str | None = None


def read_lines(data: bytes) -> list[InputLine]:
    """Non-blank lines of raw input (standard input); bytes that are not UTF-8 become U+FFFD, and the line says so."""
    out = []
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            out.append(InputLine(raw.decode("utf-8")))
        except UnicodeDecodeError:
            out.append(InputLine(raw.decode("utf-8", errors="replace"),
                                 "bytes that are not UTF-8 were replaced by U+FFFD before scoring"))
    return out


class Scorer:
    """A loaded run; calls are serialised with a lock because one Keras model is shared by every session."""

    def __init__(self, run_dir: Path | str) -> None:
        self.bundle = bundle.load(run_dir)
        self._lock = threading.Lock()

    @property
    def hp(self):
        return self.bundle.hp

    @property
    def labels(self) -> tuple[str, ...]:
        """The run's class names in class-id order: its data set's names now, while it holds what the run trained
        on (classes may be named after training), else those saved with the model."""
        try:
            saved = bundle.dataset_info(self.bundle.run_dir)
        except (OSError, ValueError):
            return self.bundle.labels
        return datasets.current_class_names(saved) or self.bundle.labels

    def encode(self, text: str) -> list[int]:
        return self.bundle.vocabulary.encode(text, self.hp.num_words)

    def score_ids(self, seqs: list[list[int]]) -> np.ndarray:
        """Scores of id sequences (each starting with the start id), as `outputs` gives them for texts."""
        return self._score_ids(seqs)

    def _score_ids(self, seqs: list[list[int]]) -> np.ndarray:
        """(n,) P(label 1) from a binary model, (n, k) class probabilities from a model of 3+ classes."""
        with self._lock:
            out = score_ragged(self.bundle.model, self.bundle.featurizer, Ragged.from_lists(seqs))
        return out.astype(np.float64)

    def _scores(self, texts: list[str]) -> np.ndarray:
        for text in texts:
            _check_text(text)
        return self._score_ids([self.encode(t) for t in texts])

    def outputs(self, texts: list[str]) -> np.ndarray:
        """What the model outputs for each text: (n,) P(label 1) from a binary model, (n, k) class probabilities
        from a model of 3+ classes (what an exported raw-text model gives too)."""
        return self._scores(texts)

    def score(self, texts: list[str]) -> list[float]:
        """Each text's score (binary: P(label 1); 3+ classes: the predicted class's probability); an empty or
        over-long text is refused."""
        return [v.score for v in self.verdicts(texts)]

    def probabilities(self, text: str) -> list[float]:
        """Each class's probability for one text, in the order of `labels` (binary: [1 - p, p])."""
        return list(self.verdicts([text])[0].probabilities)

    def verdicts(self, texts: list[str]) -> list[Verdict]:
        """Each text's score in words, knowing whether the model saw any word it knows."""
        scores = self._scores(texts)
        known = [_known(self.bundle.vocabulary.tokens(t, self.hp.num_words)) for t in texts]
        labels = self.labels
        return [Verdict.of(row, k, labels) for row, k in zip(scores, known)]

    def explain(self, text: str) -> Explanation:
        """Each word's effect: the score drop when every occurrence of that word is removed from the review (for
        3+ classes, the drop of the predicted class's probability).

        Only the first MAX_EXPLAINED_WORDS distinct words are measured, so the cost is one scoring per measured
        word over at most MAX_TEXT_CHARS of text.
        """
        _check_text(text)
        tokens: list[Token] = self.bundle.vocabulary.tokens(text, self.hp.num_words)
        ids = [1] + [t.id for t in tokens if t.id is not None]
        words = [t.text for t in tokens if t.id is not None]
        distinct = list(dict.fromkeys(w for w in words if w != OOV_MARK))
        measured = distinct[:MAX_EXPLAINED_WORDS]
        variants = [ids] + [[1] + [i for i, w in zip(ids[1:], words) if w != word] for word in measured]
        scored = self._score_ids(variants)
        verdict = Verdict.of(scored[0], _known(tokens), self.labels)
        scores = scored if scored.ndim == 1 else scored[:, verdict.predicted]
        effect = {word: float(scores[0] - s) for word, s in zip(measured, scores[1:])}
        described = [WordEffect(t.text, t.id, _status(t, effect), effect.get(t.text)) for t in tokens]
        return Explanation(float(scores[0]), described, ids, self.bundle.featurizer.describe(ids), verdict,
                           len(distinct) - len(measured))


def _status(token: Token, effect: dict[str, float]) -> str:
    if token.id is None:
        return "not in word index"
    if token.id == OOV:
        return "outside vocabulary"
    return "known" if token.text in effect else "not measured"


def scorer(run_dir: Path | str) -> Scorer:
    """The shared scorer for a run folder, loaded once per process."""
    return registry.shared(("scorer", str(Path(run_dir).resolve())), lambda: Scorer(run_dir))


def trained_vectors(run_dir: str | Path) -> tuple[np.ndarray, Vocabulary]:
    """A finished embedding run's word vectors after training (one row per id), from the shared loaded model, and
    the vocabulary its ids stand for: its own data set's, which is IMDB's only for a run on IMDB
    (`core.pretrained.compare` sets them beside GloVe's)."""
    bundle = scorer(run_dir).bundle
    return np.asarray(bundle.model.get_layer("embedding").get_weights()[0]), bundle.vocabulary


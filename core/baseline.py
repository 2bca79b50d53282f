"""Two reference figures beside every result, on the run's own split: always answering the majority class, and
TF-IDF word 1-2 grams with logistic regression (scikit-learn), the classical baseline a teacher recognises.

Both read the lab's encoded form (`core.data.imdb.Split`: word ids), so IMDB and imported text go through one path and
the split is exactly the run's: fitted on the reviews the model fits on, its regularisation C chosen on the run's
validation reviews (as the model's best epoch is), tested on the test split. scikit-learn's default C = 1 is far
too strong for a few hundred short texts (600 airline tweets: 0.65, the majority class's level, against 0.72 at
C = 30), so C is picked from a short grid rather than left at the default.

An n-gram is counted over the ids the way a TF-IDF vectoriser counts words in text: the start mark, padding and
unknown words are not words, and a bigram never spans a review boundary or an unknown word. Counting is
vectorised numpy over chunks of reviews, so memory grows with the reviews' distinct n-grams (the sparse matrix's
entries), never with reviews times features.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from core.data import imdb
from core.data.imdb import OOV, Ragged, Split

VERSION = 1  # raised when the figures would change for the same split (a stored figure of another version is stale)
MAX_FEATURES = 100_000  # the most frequent 1-2 grams of the training reviews; IMDB has ~1.5M, a small set far fewer
C_GRID = (1.0, 3.0, 10.0, 30.0)  # inverse regularisation strengths tried on the validation reviews
DEFAULT_C = 1.0  # scikit-learn's default, used when there are no validation reviews to choose with
CHUNK = 4096  # reviews counted at once
MIN_MARGIN = 0.01  # never call a difference below one point "clear", however large the test split


@dataclass(frozen=True)
class Baseline:
    """The reference figures of one split. Accuracies are shares of the test reviews (0..1)."""

    majority_accuracy: float  # always answering `majority_class` (the most common class of the training reviews)
    majority_class: int  # its class id
    tfidf_accuracy: float  # TF-IDF 1-2 grams + logistic regression
    train_size: int  # reviews fitted on
    test_size: int  # reviews tested on
    features: int  # n-grams the logistic regression read
    c: float  # the logistic regression's inverse regularisation strength, chosen on validation
    seconds: float  # wall seconds to compute both
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> Baseline | None:
        """The stored figures, or None when absent, of another version, or not figures (a run recorded before, or a
        tampered record: every field must be a number, the accuracies between 0 and 1)."""
        if not isinstance(d, dict) or d.get("version") != VERSION:
            return None
        values = {f: d.get(f) for f in cls.__dataclass_fields__}
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in values.values()):
            return None
        if not all(0 <= values[f] <= 1 for f in ("majority_accuracy", "tfidf_accuracy")):
            return None
        return cls(**{**values, "majority_class": int(values["majority_class"]), "train_size": int(values["train_size"]),
                      "test_size": int(values["test_size"]), "features": int(values["features"])})

    def margin(self, accuracy: float) -> float:
        """How far from `accuracy` a model's test accuracy must be to differ by more than chance on this test split
        (two standard errors of a share of `test_size` reviews), at least one point."""
        p = min(max(accuracy, 0.0), 1.0)
        return max(MIN_MARGIN, 2 * math.sqrt(p * (1 - p) / max(1, self.test_size)))


def line(b: Baseline | None, labels: Sequence[str]) -> str:
    """The figures in one line, naming the majority class; "unknown" for a run recorded before baselines."""
    if b is None:
        return "baseline unknown (recorded before baselines were computed)"
    return (f"majority class ({class_name(labels, b.majority_class)}) {b.majority_accuracy:.1%}, "
            f"TF-IDF + logistic regression {b.tfidf_accuracy:.1%}")


def comparison(accuracy: float | None, b: Baseline | None, labels: Sequence[str]) -> str | None:
    """A plain warning when a model's test accuracy is not clearly (beyond chance, `Baseline.margin`) better than
    always answering the majority class, or clearly below TF-IDF + logistic regression; None when it is neither,
    or nothing is known."""
    if accuracy is None or b is None:
        return None
    if accuracy <= b.majority_accuracy + b.margin(b.majority_accuracy):
        return (f"No better than always answering “{class_name(labels, b.majority_class)}”: {accuracy:.1%} against "
                f"{b.majority_accuracy:.1%} for that one answer, a difference {b.test_size:,} test texts cannot "
                "tell from chance. The model has not shown that it learned anything.")
    if accuracy < b.tfidf_accuracy - b.margin(b.tfidf_accuracy):
        return (f"Clearly worse than the classical baseline: {accuracy:.1%} against {b.tfidf_accuracy:.1%} for "
                "TF-IDF + logistic regression on the same reviews. A simpler model does better here.")
    return None


def class_name(labels: Sequence[str], i: int) -> str:
    return str(labels[i]) if 0 <= i < len(labels) else f"class {i}"


def for_run(train: Split, test: Split, val_size: int, limit: int | None) -> Baseline:
    """The figures for a run of these settings (`HParams.val_size` and `.limit`): fitted on the training reviews
    the run fits on, C chosen on its validation reviews, tested on `test`."""
    fit_idx, val_idx = imdb.train_val_indices(len(train), val_size, limit)
    return compute(train.take(fit_idx), test, train.take(val_idx))


def compute(train: Split, test: Split, val: Split | None = None) -> Baseline:
    """Majority class and TF-IDF 1-2 gram + logistic regression accuracy, fitted on `train`, tested on `test`;
    the regression's C is the best of C_GRID on `val` when given."""
    started = time.perf_counter()
    y_train, y_test = np.asarray(train.y, np.int64), np.asarray(test.y, np.int64)
    majority = int(np.bincount(y_train).argmax()) if len(y_train) else 0
    majority_accuracy = _accuracy(np.full(len(y_test), majority), y_test)
    splits = [s for s in (train, test, val) if s is not None]
    width = int(max(s.x.ids.max(initial=0) for s in splits)) + 1
    vocabulary = _top_keys(_counts(train.x, width), MAX_FEATURES)
    tfidf_accuracy, c = majority_accuracy, DEFAULT_C
    if len(np.unique(y_train)) >= 2 and len(vocabulary):  # else the regression could only answer one class
        from sklearn.feature_extraction.text import TfidfTransformer

        tfidf = TfidfTransformer(sublinear_tf=True)
        x_train = tfidf.fit_transform(_matrix(_counts(train.x, width), vocabulary))
        x_test = tfidf.transform(_matrix(_counts(test.x, width), vocabulary))
        if val is not None and len(val):
            x_val = tfidf.transform(_matrix(_counts(val.x, width), vocabulary))
            c = max(C_GRID, key=lambda c: (_accuracy(_fit(x_train, y_train, c).predict(x_val), val.y), -c))
        tfidf_accuracy = _accuracy(_fit(x_train, y_train, c).predict(x_test), y_test)
    return Baseline(round(majority_accuracy, 6), majority, round(tfidf_accuracy, 6), len(y_train), len(y_test),
                    len(vocabulary), c, round(time.perf_counter() - started, 3))


def _fit(x, y: np.ndarray, c: float):
    """A logistic regression of strength `c` by liblinear's dual solver (fewer reviews than n-grams: on IMDB 1-5 s a
    fit against 4-14 s for the primal), one class against the rest for 3 or more classes (lbfgs's multinomial
    model took 30 s on 600 tweets and 200 s on 14,640)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    model = LogisticRegression(C=c, solver="liblinear", dual=True, max_iter=1000)
    return (model if len(np.unique(y)) == 2 else OneVsRestClassifier(model)).fit(x, y)


def _accuracy(predicted: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.asarray(predicted) == np.asarray(y))) if len(y) else 0.0


# --- counting n-grams over ids ----------------------------------------------------------------------------------------
def _chunk_counts(x: Ragged, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(review, n-gram key, count) for each distinct 1- or 2-gram of each review of `x`; a unigram's key is its id,
    a bigram's is width * (first id + 1) + second id, so the two never collide."""
    ids = x.ids.astype(np.int64)
    rows = x.row_ids()
    word = ids > OOV  # the start mark (1), unknown (2) and padding (0) are not words
    pair = word[:-1] & word[1:] & (rows[:-1] == rows[1:])
    keys = np.concatenate([ids[word], width * (ids[:-1][pair] + 1) + ids[1:][pair]])
    owners = np.concatenate([rows[word], rows[:-1][pair]])
    codes, counts = np.unique(owners * (width * (width + 1)) + keys, return_counts=True)
    return codes // (width * (width + 1)), codes % (width * (width + 1)), counts


def _counts(x: Ragged, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """`_chunk_counts` of every review, chunk by chunk, and the number of reviews."""
    parts = []
    for start in range(0, len(x), CHUNK):
        stop = min(start + CHUNK, len(x))
        lo, hi = x.offsets[start], x.offsets[stop]
        rows, keys, counts = _chunk_counts(Ragged(x.ids[lo:hi], x.offsets[start : stop + 1] - lo), width)
        parts.append((rows + start, keys, counts))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    return (*(np.concatenate([p[i] for p in parts]) for i in range(3)), len(x))


def _top_keys(counted: tuple[np.ndarray, np.ndarray, np.ndarray, int], limit: int) -> np.ndarray:
    """The `limit` n-grams most frequent over the reviews (ties by key), sorted by key, as scikit-learn's
    `max_features` keeps the most frequent terms."""
    _, keys, counts, _ = counted
    distinct, inverse = np.unique(keys, return_inverse=True)
    totals = np.bincount(inverse, weights=counts, minlength=len(distinct))
    keep = np.argsort(-totals, kind="stable")[:limit]
    return np.sort(distinct[keep])


def _matrix(counted: tuple[np.ndarray, np.ndarray, np.ndarray, int], vocabulary: np.ndarray):
    """The reviews' count matrix over `vocabulary` (sorted keys); n-grams outside it are dropped."""
    from scipy.sparse import csr_matrix

    rows, keys, counts, n = counted
    at = np.searchsorted(vocabulary, keys)
    known = (at < len(vocabulary)) & (vocabulary[np.minimum(at, len(vocabulary) - 1)] == keys) if len(vocabulary) \
        else np.zeros(len(keys), bool)
    return csr_matrix((counts[known].astype(np.float64), (rows[known], at[known])), shape=(n, len(vocabulary)))

"""The `fast` preset: naive-Bayes-weighted n-gram features and a learned linear layer (NBSVM, Wang & Manning 2012).

Featurisation is vectorised numpy over the flat id array. An n-gram of ids t1..tn is the integer key
t1*V^(n-1) + ... + tn with V = num_words; ids are >= 1, so keys of different lengths never collide.
Each review becomes the set of its known n-gram feature ids (1-based, 0 = padding), strongest |r| first, padded
to a fixed width learned from the training reviews.
The model is fastai's "NBSVM dot product": logit = sum over the review's features of w * r + b, with r the
naive-Bayes log-count ratios learned from the training reviews and kept fixed, and w learned: logistic regression
over NB-scaled binary features. fastai's extra prior (w + w_adj with w_adj = 0.4, r / 10) scored lower here
(0.910-0.914 against 0.918 test accuracy with bigrams, 3-4 epochs), so it is left out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
import pandas as pd

from core.data import OOV, Ragged
from core.features import Remark, WordOf, listed
from core.hparams import HParams

CHUNK = 4096  # reviews per chunk: keeps (row, trigram key) pairs inside int64 and the sorts cache-friendly
COVERAGE = 0.99  # the padded width holds every feature of this share of training reviews
ALPHA = 1.0  # Laplace smoothing of the naive-Bayes counts


def _clip(ids: np.ndarray, num_words: int) -> np.ndarray:
    """Ids outside [1, num_words) become the unknown id, so every key digit is in [1, V)."""
    ids = ids.astype(np.int64)
    return np.where((ids > 0) & (ids < num_words), ids, OOV)


def _review_keys(x: Ragged, num_words: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(review index, n-gram key) for each distinct n-gram of length 1..n in each review, sorted by review then key."""
    ids = _clip(x.ids, num_words)
    rows = x.row_ids()
    keys, owners = [ids], [rows]
    key = ids
    for k in range(2, n + 1):
        key = key[:-1] * num_words + ids[k - 1 :]
        inside = rows[: len(key)] == rows[k - 1 :]  # never across a review boundary
        keys.append(key[inside])
        owners.append(rows[: len(key)][inside])
    key, row = np.concatenate(keys), np.concatenate(owners)
    span = np.int64(num_words) ** n  # every key is below this
    pairs = _distinct(row * span + key)  # distinct (row, key) = binary features; row < CHUNK keeps it in int64
    return pairs // span, pairs % span


def _distinct(a: np.ndarray) -> np.ndarray:
    """Sorted unique values; an explicit sort is several times faster than numpy 2's hash-based `np.unique` here."""
    a = np.sort(a)
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a


def _chunks(x: Ragged) -> Iterator[tuple[int, Ragged]]:
    """Consecutive slices of at most CHUNK reviews, with the index of each slice's first review."""
    for start in range(0, len(x), CHUNK):
        stop = min(start + CHUNK, len(x))
        lo, hi = x.offsets[start], x.offsets[stop]
        yield start, Ragged(x.ids[lo:hi], x.offsets[start : stop + 1] - lo)


@dataclass(frozen=True)
class NGramInput:
    """The n-gram features of one review that the model reads, strongest naive-Bayes ratio |r| first."""

    input_ids: list[int]  # feature ids (1-based)
    ngrams: list[list[int]]  # the word ids of each feature
    ratios: list[float]  # each feature's r
    known: int  # features the model knows in all
    slots: int  # features read per review (the padded input length)
    truncated: int  # the review's weakest features beyond `slots`, left out

    def remarks(self, word: WordOf) -> list[Remark]:
        grams = [f"“{' '.join(word(i) for i in gram)}”" for gram in self.ngrams]
        out = [Remark(f"{len(grams):,} n-gram features are on (of the {self.known:,} the model knows): "
                      + listed(grams, 40))]
        if self.truncated:
            out.append(Remark(f"The model reads at most {self.slots:,} features per review: the {self.truncated:,} "
                              "weakest of this review's features are left out.", warning=True))
        return out


@dataclass
class NGrams:
    """Binary n-gram features (the `max_features` most frequent in training) with naive-Bayes log-count ratios."""

    num_words: int
    ngrams: int
    max_features: int
    kind: str = "ngrams"
    width: int = 0  # features kept per review, set by fit
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)  # sorted n-gram keys
    ratios: np.ndarray = field(default_factory=lambda: np.zeros(1, np.float32), repr=False)  # r, [0] = padding
    _index: pd.Index | None = field(default=None, init=False, repr=False, compare=False)  # hash of keys, built lazily

    @property
    def n_features(self) -> int:
        """Rows of the weight tables: one per n-gram plus the padding id 0."""
        return len(self.keys) + 1

    def fit(self, x: Ragged, y: np.ndarray) -> None:
        """Vocabulary by document frequency, ratios and width, all from these (training) reviews only."""
        rows, keys = self._pairs(x)
        positive = np.asarray(y).astype(bool)[rows]
        uniq, df = np.unique(keys, return_counts=True)
        if len(uniq) > self.max_features:  # the highest document frequencies; ties at the cut go to the lowest keys
            cut = np.partition(df, len(df) - self.max_features)[len(df) - self.max_features]
            keep = df > cut
            keep[np.flatnonzero(df == cut)[: self.max_features - keep.sum()]] = True
            uniq, df = uniq[keep], df[keep]
        self.keys, self._index = uniq.astype(np.int64), None
        ids = self._lookup(keys)
        pos = np.bincount(ids[positive], minlength=self.n_features)[1:]
        p, q = pos + ALPHA, df - pos + ALPHA
        self.ratios = np.concatenate([[0.0], np.log(p / p.sum()) - np.log(q / q.sum())]).astype(np.float32)
        per_review = np.bincount(rows[ids > 0], minlength=len(x))
        self.width = int(max(1, np.ceil(np.quantile(per_review, COVERAGE))))

    def _pairs(self, x: Ragged) -> tuple[np.ndarray, np.ndarray]:
        """(review index, key) of every distinct n-gram of every review, chunk by chunk."""
        parts = [(rows + start, keys) for start, chunk in _chunks(x)
                 for rows, keys in [_review_keys(chunk, self.num_words, self.ngrams)]]
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate([r for r, _ in parts]), np.concatenate([k for _, k in parts])

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        """Feature id (1-based) of each key, 0 where it is not in the vocabulary.

        A pandas hash index is about 4x faster than `np.searchsorted` over a million keys (cache misses).
        """
        if self._index is None:
            self._index = pd.Index(self.keys)
        return self._index.get_indexer(keys) + 1

    def _features(self, x: Ragged) -> tuple[np.ndarray, np.ndarray]:
        """(review index, feature id) of every known feature, each review's sorted by |r| descending."""
        rows, keys = self._pairs(x)
        ids = self._lookup(keys)
        rows, ids = rows[ids > 0], ids[ids > 0]
        by_strength = np.argsort(-np.abs(self.ratios), kind="stable")  # feature ids, strongest first
        rank = np.empty_like(by_strength)
        rank[by_strength] = np.arange(len(rank))
        order = np.sort(rows * len(rank) + rank[ids])  # one int64 sort instead of a slower lexsort
        return order // len(rank), by_strength[order % len(rank)]

    def transform(self, x: Ragged) -> np.ndarray:
        """(reviews, width) int32 feature ids, 0-padded; a review with more features keeps those with largest |r|."""
        rows, ids = self._features(x)
        counts = np.bincount(rows, minlength=len(x))
        slot = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        kept = slot < self.width
        out = np.zeros((len(x), self.width), dtype=np.int32)
        out[rows[kept], slot[kept]] = ids[kept]
        return out

    def ngram(self, feature_id: int) -> list[int]:
        """The word ids of one feature (1-based id), decoded from its key."""
        key, words = int(self.keys[feature_id - 1]), []
        while key:
            key, word = divmod(key, self.num_words)
            words.append(word)
        return words[::-1]

    def describe(self, ids: list[int]) -> NGramInput:
        """The features of one review that the model reads (strongest |r| first) out of all it knows."""
        _, feats = self._features(Ragged(np.asarray(ids, dtype=np.int32), np.array([0, len(ids)], dtype=np.int64)))
        shown = feats[: self.width]
        return NGramInput(shown.tolist(), [self.ngram(int(i)) for i in shown], self.ratios[shown].tolist(),
                          known=len(self.keys), slots=self.width, truncated=max(0, len(feats) - self.width))

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "num_words": self.num_words, "ngrams": self.ngrams,
                "max_features": self.max_features, "width": self.width}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"keys": self.keys, "ratios": self.ratios}

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> NGrams:
        return cls(num_words=int(state["num_words"]), ngrams=int(state["ngrams"]),
                   max_features=int(state["max_features"]), width=int(state["width"]),
                   keys=np.asarray(arrays["keys"], dtype=np.int64),
                   ratios=np.asarray(arrays["ratios"], dtype=np.float32))


@keras.saving.register_keras_serializable(package="sentiment_lab")
class NBDotProduct(keras.layers.Layer):
    """logit = sum over a review's feature ids of w * r, plus b; r is fixed and r[0] = 0, so padding adds nothing.

    w starts at 0 and is learned; r scales both each feature's value and, under Adam/RMSprop, its step size, so
    strong naive-Bayes features move first. Dropout, when set, drops whole features of a review during training.
    """

    def __init__(self, n_features: int, dropout: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_features, self.dropout, self.seed = n_features, dropout, seed
        self.seed_generator = keras.random.SeedGenerator(seed) if dropout > 0 else None

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.w = self.add_weight(name="w", shape=(self.n_features,), initializer="zeros")
        self.r = self.add_weight(name="r", shape=(self.n_features,), initializer="zeros", trainable=False)
        self.b = self.add_weight(name="b", shape=(1,), initializer="zeros")

    def call(self, ids: Any, training: bool | None = None) -> Any:
        ids = keras.ops.cast(ids, "int32")
        terms = keras.ops.take(self.w, ids) * keras.ops.take(self.r, ids)
        if training and self.dropout > 0:
            terms = keras.random.dropout(terms, self.dropout, seed=self.seed_generator)
        return keras.ops.sum(terms, axis=-1, keepdims=True) + self.b

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, int]:
        return (input_shape[0], 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n_features": self.n_features, "dropout": self.dropout, "seed": self.seed}


def featurizer(hp: HParams) -> NGrams:
    """The `ngram_nb` architecture's featuriser, not yet fitted."""
    return NGrams(num_words=hp.num_words, ngrams=hp.ngrams, max_features=hp.max_features)


def build_model(hp: HParams, featurizer: NGrams) -> keras.Model:
    """Feature ids -> NB dot product -> sigmoid; the fitted ratios r are copied into the layer's fixed weights."""
    if not len(featurizer.keys):
        raise ValueError("fit the NGrams featuriser before building its model (it supplies the ratios r).")
    inputs = keras.Input(shape=(None,), dtype="int32", name="feature_ids")
    dot = NBDotProduct(featurizer.n_features, dropout=hp.dropout, seed=hp.seed, name="nb_dot")
    logit = dot(inputs)
    dot.r.assign(featurizer.ratios)
    outputs = keras.layers.Activation("sigmoid", name="sentiment")(logit)
    return keras.Model(inputs, outputs, name="ngram_nb")

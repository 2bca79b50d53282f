"""The `fast` preset: naive-Bayes-weighted n-gram features and a learned linear layer (NBSVM, Wang & Manning 2012).

Featurisation is vectorised numpy over the flat id array. An n-gram of ids t1..tn is the integer key
t1*V^(n-1) + ... + tn with V = num_words; ids are >= 1, so keys of different lengths never collide.
Each review becomes the set of its known n-gram feature ids (1-based, 0 = padding), strongest |r| first, padded
to a fixed width learned from the training reviews.
The model is fastai's "NBSVM dot product": logit = sum over the review's features of w * r + b, with r the
naive-Bayes log-count ratios learned from the training reviews and kept fixed, and w learned: logistic regression
over NB-scaled binary features. With 3 or more classes each class c has its own ratios r_c (class c against all
the others, as NBSVM does one class against the rest) and its own w_c, and a softmax over the k logits replaces the
sigmoid. fastai's extra prior (w + w_adj with w_adj = 0.4, r / 10) scored lower here
(0.910-0.914 against 0.918 test accuracy with bigrams, 3-4 epochs), so it is left out.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from core.data.imdb import OOV, Ragged
from core.model_input import Remark, WordOf, listed
from core.settings import HParams

ROW_BITS = 12  # a (n-gram key, review in chunk) pair packs into one int64 as key << ROW_BITS | review
CHUNK = 1 << ROW_BITS  # reviews per chunk; keys stay below 88,589**3 < 2**(63 - ROW_BITS), so codes fit int64
THREADS = 2  # featurising threads: the development machine's cores
COVERAGE = 0.99  # the padded width holds every feature of this share of training reviews
ALPHA = 1.0  # Laplace smoothing of the naive-Bayes counts


def _clip(ids: np.ndarray, num_words: int) -> np.ndarray:
    """Ids outside [1, num_words) become the unknown id, so every key digit is in [1, V)."""
    ids = ids.astype(np.int64)
    return np.where((ids > 0) & (ids < num_words), ids, OOV)


def _chunk_codes(x: Ragged, num_words: int, n: int) -> np.ndarray:
    """key << ROW_BITS | review for each distinct n-gram of length 1..n in each review (at most CHUNK reviews).

    Sorted, so by key first: looking the keys up in the sorted vocabulary then walks it in order, which is several
    times faster than a hash lookup, and numpy's SIMD sort of int64 is cheap.
    """
    ids = _clip(x.ids, num_words)
    rows = x.row_ids()
    keys, owners = [ids], [rows]
    key = ids
    for k in range(2, n + 1):
        key = key[:-1] * num_words + ids[k - 1 :]
        inside = rows[: len(key)] == rows[k - 1 :]  # never across a review boundary
        keys.append(key[inside])
        owners.append(rows[: len(key)][inside])
    return _distinct((np.concatenate(keys) << ROW_BITS) | np.concatenate(owners))


def _review_keys(x: Ragged, num_words: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(review index, n-gram key) for each distinct n-gram of length 1..n in each review."""
    parts = list(_chunk_codes_of(x, num_words, n))
    return (_concat([(codes & (CHUNK - 1)) + start for start, codes in parts]),
            _concat([codes >> ROW_BITS for _, codes in parts]))


def _chunk_codes_of(x: Ragged, num_words: int, n: int) -> Iterator[tuple[int, np.ndarray]]:
    """`_chunk_codes` of each chunk, with its first review's index; chunks run on THREADS threads (numpy's sorts and
    searches release the GIL), in order."""
    chunks = list(_chunks(x))
    with ThreadPoolExecutor(THREADS) as pool:
        yield from zip((start for start, _ in chunks),
                       pool.map(lambda chunk: _chunk_codes(chunk[1], num_words, n), chunks))


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


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


def _class_counts(classes: np.ndarray, first: np.ndarray, k: int) -> np.ndarray:
    """Documents of each class per n-gram (runs of `classes` starting at `first`): (k, n), or for 2 classes only
    class 1's, (1, n), since class 0's are the document frequency minus those."""
    if not len(classes):
        return np.zeros((1 if k == 2 else k, 0), dtype=np.int64)
    if k == 2:
        return np.add.reduceat(classes, first)[None]
    return np.stack([np.add.reduceat((classes == c).astype(np.int64), first) for c in range(k)])


@dataclass(frozen=True)
class NGramInput:
    """The n-gram features of one review that the model reads, strongest naive-Bayes ratio |r| first."""

    input_ids: list[int]  # feature ids (1-based)
    ngrams: list[list[int]]  # the word ids of each feature
    ratios: list[float]  # each feature's r (3+ classes: its r_c of largest size)
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
    cache_features: ClassVar[bool] = True  # slow to fit and featurise, so core.feature_cache keeps the result
    trim_padding: ClassVar[bool] = True  # rows are left-filled, so core.length_batches cuts each batch's padding
    width: int = 0  # features kept per review, set by fit
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)  # sorted n-gram keys
    # r, [0] = padding: (n_features,) for 2 classes (class 1 against class 0), (k, n_features) for k >= 3
    ratios: np.ndarray = field(default_factory=lambda: np.zeros(1, np.float32), repr=False)
    # each feature id's place by |r| (strongest first), and the ids in that order; built lazily
    _strength: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)
    # the training reviews' matrix, built by fit on the way; handed out once by transform of those same reviews
    _fitted: tuple[Ragged, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def n_features(self) -> int:
        """Rows of the weight tables: one per n-gram plus the padding id 0."""
        return len(self.keys) + 1

    @property
    def num_classes(self) -> int:
        return 2 if self.ratios.ndim == 1 else len(self.ratios)

    def fit(self, x: Ragged, y: np.ndarray) -> None:
        """Vocabulary by document frequency, ratios and width, all from these (training) reviews only.

        Labels are class ids 0..k-1; k is the highest label + 1 (at least 2).
        """
        labels = np.asarray(y).astype(np.int64)
        k = max(2, int(labels.max()) + 1) if len(labels) else 2
        chunks = list(_chunk_codes_of(x, self.num_words, self.ngrams))
        # one sort of key * k + label over every (review, n-gram) pair gives each n-gram's document frequency and
        # how many of those documents each class has
        with ThreadPoolExecutor(THREADS) as pool:
            tagged = np.sort(_concat(list(pool.map(
                lambda part: (part[1] >> ROW_BITS) * k + labels[(part[1] & (CHUNK - 1)) + part[0]], chunks))))
        keys, classes = (tagged >> 1, tagged & 1) if k == 2 else np.divmod(tagged, k)
        del tagged
        first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]])) if len(keys) else keys
        uniq, df = keys[first], np.diff(np.append(first, len(keys)))
        per_class = _class_counts(classes, first, k)
        del keys, classes
        if len(uniq) > self.max_features:  # the highest document frequencies; ties at the cut go to the lowest keys
            cut = np.partition(df, len(df) - self.max_features)[len(df) - self.max_features]
            keep = df > cut
            keep[np.flatnonzero(df == cut)[: self.max_features - keep.sum()]] = True
            uniq, df, per_class = uniq[keep], df[keep], per_class[:, keep]
        self.keys, self._strength = uniq.astype(np.int64), None
        p, q = per_class + ALPHA, df - per_class + ALPHA  # documents of the class, and of every other class
        ratios = np.log(p / p.sum(axis=1, keepdims=True)) - np.log(q / q.sum(axis=1, keepdims=True))
        ratios = np.concatenate([np.zeros((len(ratios), 1)), ratios], axis=1).astype(np.float32)
        self.ratios = ratios[0] if k == 2 else ratios
        self._ranks()
        with ThreadPoolExecutor(THREADS) as pool:
            features = list(pool.map(lambda part: (part[0], *self._chunk_features(part[1])), chunks))
        per_review = _concat([np.bincount(rows, minlength=min(CHUNK, len(x) - start)) for start, rows, _ in features])
        self.width = int(max(1, np.ceil(np.quantile(per_review, COVERAGE)))) if len(x) else 1
        matrix = np.zeros((len(x), self.width), dtype=np.int32)
        with ThreadPoolExecutor(THREADS) as pool:  # each chunk fills its own rows
            list(pool.map(lambda part: self._fill(matrix[part[0] : part[0] + CHUNK], *part[1:]), features))
        self._fitted = (x, matrix)

    def _ranks(self) -> tuple[np.ndarray, np.ndarray]:
        """Each feature id's place by strength (strongest first), and the ids in that order; made once, before
        `_chunk_features` runs on several threads."""
        if self._strength is None:
            by_strength = np.argsort(-self._strengths(), kind="stable")
            rank = np.empty_like(by_strength)
            rank[by_strength] = np.arange(len(rank))
            self._strength = rank, by_strength
        return self._strength

    def strongest_first(self) -> np.ndarray:
        """Every feature id (1-based), strongest |r| first: the order in which a review's features are kept."""
        by_strength = self._ranks()[1]
        return by_strength[by_strength != 0]

    def _chunk_features(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(review in the chunk, feature id) of every known feature of `_chunk_codes`, each review's strongest first."""
        (rank, by_strength), bits = self._ranks(), self.n_features.bit_length()
        keys = codes >> ROW_BITS
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        hit = self.keys[at] == keys if len(self.keys) else np.zeros(len(keys), bool)
        order = np.sort(((codes[hit] & (CHUNK - 1)) << bits) | rank[at[hit] + 1])  # by review, then strength
        return order >> bits, by_strength[order & ((1 << bits) - 1)]

    def _strengths(self) -> np.ndarray:
        """Each feature's |r|; with 3+ classes its largest |r_c|, for the class it speaks for most strongly."""
        return np.abs(self.ratios) if self.ratios.ndim == 1 else np.abs(self.ratios).max(axis=0)

    def _signed(self, ids: np.ndarray) -> np.ndarray:
        """Each feature's r (3+ classes: its r_c of largest size)."""
        if self.ratios.ndim == 1:
            return self.ratios[ids]
        columns = self.ratios[:, ids]
        return columns[np.abs(columns).argmax(axis=0), np.arange(len(ids))]

    def _features(self, x: Ragged) -> tuple[np.ndarray, np.ndarray]:
        """(review index, feature id) of every known feature, each review's sorted by |r| descending."""
        parts = [(rows + start, ids) for start, codes in _chunk_codes_of(x, self.num_words, self.ngrams)
                 for rows, ids in [self._chunk_features(codes)]]
        return _concat([r for r, _ in parts]), _concat([i for _, i in parts])

    def _fill(self, out: np.ndarray, rows: np.ndarray, ids: np.ndarray) -> None:
        """Write each review's features into its row of `out` (zeros), strongest first, up to `width` of them."""
        counts = np.bincount(rows, minlength=len(out))
        slot = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        kept = slot < self.width
        out.reshape(-1)[rows[kept] * self.width + slot[kept]] = ids[kept]

    def transform(self, x: Ragged) -> np.ndarray:
        """(reviews, width) int32 feature ids, 0-padded; a review with more features keeps those with largest |r|."""
        if self._fitted is not None and self._fitted[0] is x:
            matrix, self._fitted = self._fitted[1], None
            return matrix
        out = np.zeros((len(x), self.width), dtype=np.int32)
        self._ranks()
        with ThreadPoolExecutor(THREADS) as pool:  # each chunk fills its own rows
            list(pool.map(lambda part: self._fill(out[part[0] : part[0] + CHUNK], *self._chunk_features(part[1])),
                          _chunk_codes_of(x, self.num_words, self.ngrams)))
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
        return NGramInput(shown.tolist(), [self.ngram(int(i)) for i in shown], self._signed(shown).tolist(),
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


def featurizer(hp: HParams) -> NGrams:
    """The `ngram_nb` architecture's featuriser, not yet fitted."""
    return NGrams(num_words=hp.num_words, ngrams=hp.ngrams, max_features=hp.max_features)

"""Vectorisers: turn id sequences into what each architecture's first layer reads.

Every featuriser has `fit(x, y)` (learns from training data only; a no-op for the fixed ones), `transform(x)`,
`describe(ids)` (what the model sees of one review, as that featuriser's own typed `ModelInput`, for the Predict
page) and `state()` / `from_state()` so a run folder holds everything needed to score raw text later.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from core import architectures
from core.data.imdb import OOV, Ragged
from core.model_input import Featurizer, Remark, WordOf, listed
from core.settings import HParams


def clip_vocabulary(ids: np.ndarray, num_words: int) -> np.ndarray:
    """Ids at or above `num_words` become the unknown id 2, as `load_data(num_words=...)` does."""
    return np.where(ids < num_words, ids, OOV).astype(np.int32, copy=False)


def multi_hot(x: Ragged, num_words: int) -> np.ndarray:
    """One row per review, 1 at each id it contains (DLWP's `vectorize_sequences`).

    Stored as uint8, which the model's float input casts batch by batch: a quarter of the memory of float32,
    and fitting no longer pays for paging in a gigabyte of fresh floats (measured: 1.5-2.0 s against 2.5-4.4 s
    for the dlwp preset's fit).
    """
    out = np.zeros((len(x), num_words), dtype=np.uint8)
    out[x.row_ids(), clip_vocabulary(x.ids, num_words)] = 1
    return out


def pad(x: Ragged, maxlen: int, num_words: int | None = None) -> np.ndarray:
    """`pad_sequences(..., maxlen, padding='pre', truncating='pre')`: keep the last `maxlen` ids, zeros in front."""
    ids = x.ids if num_words is None else clip_vocabulary(x.ids, num_words)
    lengths = x.lengths
    kept = np.minimum(lengths, maxlen)
    out = np.zeros((len(x), maxlen), dtype=np.int32)
    rows = np.repeat(np.arange(len(x)), kept)
    # position within the kept tail of each review, right-aligned
    within = np.arange(kept.sum()) - np.repeat(np.cumsum(kept) - kept, kept)
    cols = maxlen - np.repeat(kept, kept) + within
    src = np.repeat(x.offsets[1:] - kept, kept) + within
    out[rows, cols] = ids[src]
    return out


@dataclass(frozen=True)
class MultiHotInput:
    """A multi-hot review: which vocabulary positions are on (order and repeats are lost)."""

    input_ids: list[int]  # the review's ids, clipped to the vocabulary
    active: list[int]  # the positions set to 1
    width: int  # positions in all (num_words)

    def remarks(self, word: WordOf) -> list[Remark]:
        return [Remark(f"Multi-hot input: {len(self.active)} of the {self.width:,} vocabulary positions are on: "
                       + listed([str(p) for p in self.active]))]


@dataclass(frozen=True)
class SequenceInput:
    """A padded sequence: the ids the model reads in order, and what padding or truncation did to the review."""

    input_ids: list[int]  # exactly maxlen ids: padded in front or cut at the front
    length: int  # ids of the review before padding or truncation
    maxlen: int

    @property
    def truncated(self) -> int:
        return max(0, self.length - self.maxlen)

    @property
    def padding(self) -> int:
        return max(0, self.maxlen - self.length)

    def remarks(self, word: WordOf) -> list[Remark]:
        if self.truncated:
            return [Remark(f"The review has {self.length:,} ids; maxlen {self.maxlen:,} keeps the last "
                           f"{self.maxlen:,} and cuts the first {self.truncated:,} off.", warning=True)]
        return [Remark(f"{self.length:,} ids, padded in front with {self.padding:,} zeros to maxlen {self.maxlen:,}.")]


@dataclass
class MultiHot:
    """Multi-hot bag of words over the `num_words` most frequent ids."""

    num_words: int
    kind: str = "multihot"
    # rows scored at once when testing: wide rows make each step's set-up small beside its work, so 2,048 score
    # IMDB's test reviews in about half the time of 512 (1.5 s against 3.3 s for dlwp on a busy 2-core machine)
    scoring_batch: ClassVar[int] = 2048

    def fit(self, x: Ragged, y: np.ndarray) -> None:
        """Nothing to learn."""

    def transform(self, x: Ragged) -> np.ndarray:
        return multi_hot(x, self.num_words)

    def describe(self, ids: list[int]) -> MultiHotInput:
        clipped = clip_vocabulary(np.asarray(ids, dtype=np.int32), self.num_words).tolist()
        return MultiHotInput(clipped, sorted(set(clipped)), self.num_words)

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "num_words": self.num_words}

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> MultiHot:
        return cls(int(state["num_words"]))

    def arrays(self) -> dict[str, np.ndarray]:
        return {}


@dataclass
class Sequences:
    """Ids clipped to `num_words`, pre-padded and pre-truncated to `maxlen`."""

    num_words: int
    maxlen: int
    kind: str = "sequences"

    def fit(self, x: Ragged, y: np.ndarray) -> None:
        """Nothing to learn."""

    def transform(self, x: Ragged) -> np.ndarray:
        return pad(x, self.maxlen, self.num_words)

    def describe(self, ids: list[int]) -> SequenceInput:
        clipped = clip_vocabulary(np.asarray(ids, dtype=np.int32), self.num_words)
        padded = pad(Ragged(clipped, np.array([0, len(clipped)])), self.maxlen)[0].tolist()
        return SequenceInput(padded, len(clipped), self.maxlen)

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "num_words": self.num_words, "maxlen": self.maxlen}

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> Sequences:
        return cls(int(state["num_words"]), int(state["maxlen"]))

    def arrays(self) -> dict[str, np.ndarray]:
        return {}


def multi_hot_featurizer(hp: HParams) -> MultiHot:
    return MultiHot(hp.num_words)


def sequence_featurizer(hp: HParams) -> Sequences:
    return Sequences(hp.num_words, hp.maxlen)


def for_hparams(hp: HParams) -> Featurizer:
    """The featuriser an architecture reads, not yet fitted."""
    return architectures.get(hp.architecture).featurizer(hp)


def from_state(state: dict[str, Any], arrays: dict[str, np.ndarray]) -> Featurizer:
    """A saved featuriser back, with any fitted arrays: the entry that registered its state's `kind` restores it."""
    return architectures.restore_featurizer(state, arrays)

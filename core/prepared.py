"""Data made ready for training once per data set and featuriser configuration, shared read-only by every run that
trains on it.

When a class presses Start on the same assignment, 30 runs split the same reviews, fit the same featuriser and
build the same multi-hot, padded or n-gram matrices: 1 to 4 s of a `dlwp` run that trains for 2 s. Here they are
built once per process (the trainer service, or a `streamlit run`) and kept in `core.registry`'s bounded cache,
so the next run of that configuration starts training at once. The arrays are marked read-only, since runs on
several threads read them at the same time; a fitted featuriser is never changed after `fit`.

The cache holds at most BUDGET_SHARE of the machine's memory (and at most BUDGET_CAP): the least recently used
configuration goes first, and one whose matrices would not fit is built for its run alone, its test reviews
featurised chunk by chunk as they are scored, as before.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from core import config, feature_cache, features, registry
from core.data import imdb
from core.data.datasets import Dataset
from core.features import Featurizer
from core.hparams import HParams

BUDGET_SHARE = 0.25  # of the machine's memory: the rest is for the trainings themselves and the pages
BUDGET_CAP = 4 << 30  # bytes: two or three configurations of a lesson (a dlwp one is 0.5 GB, a fast one 0.3 GB)


@dataclass(frozen=True)
class Prepared:
    """A fitted featuriser and the featurised splits of one data set and configuration (read-only arrays).
    `x_test` is None when the test reviews are featurised chunk by chunk as they are scored."""

    featurizer: Featurizer
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None

    @property
    def nbytes(self) -> int:
        arrays = (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test)
        return sum(a.nbytes for a in arrays if a is not None)


def budget() -> int:
    """Bytes the prepared data of all configurations may take together."""
    return min(int(config.machine_memory_bytes() * BUDGET_SHARE), BUDGET_CAP)


def configuration(hp: HParams) -> tuple:
    """The settings prepared data depend on: the data set's name, the split, and the featuriser's settings; runs
    with equal configurations (on the same data set content) share their prepared data."""
    return (hp.dataset, hp.val_size, hp.limit, json.dumps(features.for_hparams(hp).state(), sort_keys=True))


def key(hp: HParams, dataset: Dataset) -> tuple:
    """The cache key: the configuration and the data set's content (the splits' sizes too: a loader may hand the
    same data set with fewer test reviews)."""
    corpus = dataset.corpus
    return ("prepared", dataset.info.fingerprint, len(corpus.train), len(corpus.test), *configuration(hp))


def for_run(hp: HParams, dataset: Dataset) -> Prepared:
    """The prepared data of this run's configuration: from the cache, or built now (and kept if it fits)."""
    return registry.bounded(key(hp, dataset), lambda: build(hp, dataset), lambda p: p.nbytes, budget())


def build(hp: HParams, dataset: Dataset) -> Prepared:
    """Split the training reviews, fit the featuriser and featurise the splits (the test split too when the whole
    fits the budget); the n-gram featuriser's matrices come from `core.feature_cache` when it has them."""
    corpus = dataset.corpus
    train_idx, val_idx = imdb.train_val_indices(len(corpus.train), hp.val_size, hp.limit)
    train, val = corpus.train.take(train_idx), corpus.train.take(val_idx)
    done = feature_cache.featurise(hp, train, val, corpus.test)
    x_test = feature_cache.finished(done.x_test)
    if x_test is None:
        per_row = done.x_train.nbytes / max(1, len(train))
        whole = done.x_train.nbytes + done.x_val.nbytes + per_row * len(corpus.test)
        x_test = done.featurizer.transform(corpus.test.x) if whole <= budget() else None
    arrays = (done.x_train, train.y, done.x_val, val.y, x_test)
    for array in arrays:
        if array is not None:
            array.setflags(write=False)
    return Prepared(done.featurizer, *arrays)

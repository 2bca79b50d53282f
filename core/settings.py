"""The settings of one training (HParams) and the data-set sizes they are checked against (Sizes).

Plain data, so both the architecture registry (whose entries hold their presets' settings) and `core.hparams` (the
ranges, presets and validation) can import them without importing each other.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from core.errors import ConfigError, LabError, quoted

TRAIN_REVIEWS = TEST_REVIEWS = 25_000
MAX_WORD_ID = 88_587  # highest rank (88,584) + index_from (3)
DEFAULT_DATASET = "imdb"
GLOVE_DIM = 50  # dimensions of the pretrained GloVe vectors (core.pretrained)


class Sizes(NamedTuple):
    """What a data set's ranges and wait estimate depend on: its training reviews, its highest word id and its test
    reviews (a DatasetInfo has all three)."""

    train_size: int
    max_id: int
    test_size: int
    words_p95: int = 0  # ids per training text at the 95th percentile; 0 where unknown


IMDB_SIZES = Sizes(TRAIN_REVIEWS, MAX_WORD_ID, TEST_REVIEWS)  # known without loading the data


def starts_from_glove(pooling: str | None, embedding_dim: int | None) -> bool:
    """A small data set's lstm (`pooling` "glove") starts its words from GloVe where its embedding has GloVe's size;
    with another embedding_dim it starts random, as a plain Embedding does. Also read from a saved run's settings."""
    return pooling == "glove" and embedding_dim == GLOVE_DIM


@dataclass(frozen=True)
class HParams:
    """A complete, validated training configuration."""

    preset: str
    architecture: str
    num_words: int = 10_000
    maxlen: int = 500
    embedding_dim: int = 32
    hidden_layers: int = 2
    units: int = 16
    dropout: float = 0.0
    optimizer: str = "rmsprop"
    learning_rate: float = 0.001
    batch_size: int = 512
    epochs: int = 4
    val_size: int = 10_000
    patience: int | None = None
    seed: int = 0
    limit: int | None = None
    ngrams: int = 2
    max_features: int = 200_000
    vectors: str = "fine-tuned"
    dataset: str = DEFAULT_DATASET
    pooling: str | None = None  # set only by `for_dataset` (POOLING_NOTES); None: the architecture's own

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def glove_start(self) -> bool:
        return starts_from_glove(self.pooling, self.embedding_dim)

    def train_reviews(self, sizes: Sizes | None = None) -> int:
        """How many reviews will be fitted on (`sizes`: the data set's, looked up by name when not given)."""
        left = (sizes or sizes_of(self.dataset)).train_size - self.val_size
        return left if self.limit is None else min(self.limit, left)


def dataset_name(value: Any) -> str:
    """The name of an existing data set (IMDB for an empty value), or a ConfigError listing the data sets."""
    name = DEFAULT_DATASET if value is None or str(value).strip() == "" else str(value).strip()
    if name.lower() == DEFAULT_DATASET:
        return DEFAULT_DATASET
    from core.data import datasets

    available = datasets.names()
    if name not in available:
        raise ConfigError(f"dataset={quoted(value)} is not a data set of this lab: choose one of "
                          f"{', '.join(available)} (`python -m core datasets add` imports one).")
    return name


def sizes_of(name: str) -> Sizes:
    """A data set's sizes: IMDB's are constants; an imported one's come from its small metadata file."""
    if name == DEFAULT_DATASET:
        return IMDB_SIZES
    from core.data import datasets

    try:
        found = datasets.info(dataset_name(name))
    except LabError as exc:
        raise ConfigError(str(exc)) from None
    return Sizes(found.train_size, found.max_id, found.test_size, found.words_p95)

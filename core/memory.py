"""How much memory a training will need, estimated from its settings alone, before anything is allocated.

One link must not take a classroom server down: a configuration whose estimate exceeds the limit
(SENTIMENT_LAB_MAX_TRAINING_GB, default half the machine's memory) is refused with the setting to lower.

The estimate adds the parts a training holds at its peak: the lab itself with the data loaded, the featurised
training and validation matrices (and the test split's, for an architecture that featurises it with them), the weights with their gradients and optimizer state, and the activations of one
batch. What depends on the architecture is one small function per architecture, named by its entry in
`core.architectures`. The constants were measured with `benchmarks/bench_memory.py`.
"""
from __future__ import annotations

from dataclasses import dataclass

from core import architectures, config
from core.errors import ConfigError, LabError
from core.hparams import DEFAULT_DATASET, HParams, sizes_of

GB = 2**30
FLOAT = 4  # bytes of a float32 or int32
RUNTIME_BYTES = 1.05 * GB  # Python, TensorFlow and Keras, the corpus and the word index, before any featurising
IMDB_DATA_BYTES = 0.21 * GB  # of which IMDB's 50,000 reviews and word index (loading them, measured once)
IMDB_REVIEWS = 50_000
OPTIMIZER_SLOTS = {"rmsprop": 1, "adam": 2, "adamw": 2, "sgd": 0}  # float32 copies of the weights each keeps
MATRIX_COPIES = 2.3  # the featurised matrices, plus the copies fitting makes of them (tensors, shuffled batches)
BACKWARD = 2.0  # a batch's activations are kept for the backward pass, beside their gradients


@dataclass(frozen=True)
class Shape:
    """What one architecture holds, per setting: the figures the estimate multiplies out."""

    params: int  # weights
    input_bytes: float  # the featurised input of one review
    activation_bytes: float  # activations of one review in one forward pass
    work_bytes: float = 0.0  # what featurising holds while it works (e.g. the n-gram counts), freed before fitting
    keeps_test: bool = False  # the test split is featurised with the others and held until it is scored
    lower_input: str = "limit or val_size"
    lower_weights: str = ""
    lower_activations: str = "batch_size"


def _dense_head(width: int, hp: HParams) -> tuple[int, int]:
    """Parameters and activations (floats per review) of the hidden Dense layers and the sigmoid unit."""
    params, activations = 0, 0
    for _ in range(hp.hidden_layers):
        params += width * hp.units + hp.units
        activations += 2 * hp.units  # output, and the dropout mask or relu's saved input
        width = hp.units
    return params + width + 1, activations + 1


def multihot_mlp(hp: HParams) -> Shape:
    params, activations = _dense_head(hp.num_words, hp)
    return Shape(params, input_bytes=hp.num_words,  # uint8 multi-hot rows
                 activation_bytes=FLOAT * (hp.num_words + activations),  # each batch is cast to float32
                 lower_input="num_words, limit or val_size", lower_weights="num_words or units",
                 lower_activations="batch_size or num_words")


def embedding_flatten(hp: HParams) -> Shape:
    flat = hp.maxlen * hp.embedding_dim
    params, activations = _dense_head(flat, hp)
    return Shape(hp.num_words * hp.embedding_dim + params, input_bytes=FLOAT * hp.maxlen,
                 activation_bytes=FLOAT * (flat + activations),  # the embedded ids (flattening is a view)
                 lower_input="maxlen, limit or val_size", lower_weights="maxlen, embedding_dim or units",
                 lower_activations="batch_size, maxlen or embedding_dim")


def lstm(hp: HParams) -> Shape:
    gates = 4 * hp.units
    params = hp.num_words * hp.embedding_dim + gates * (hp.embedding_dim + hp.units + 1) + hp.units + 1
    # per time step: the embedded input, the four gates, and the cell and hidden states kept for backpropagation
    return Shape(params, input_bytes=FLOAT * hp.maxlen,
                 activation_bytes=FLOAT * hp.maxlen * (hp.embedding_dim + gates + 2 * hp.units),
                 lower_input="maxlen, limit or val_size", lower_weights="num_words, embedding_dim or units",
                 lower_activations="batch_size, maxlen, units or embedding_dim")


def pretrained_mean(hp: HParams) -> Shape:
    dims = hp.embedding_dim
    params, activations = _dense_head(dims, hp)
    # the embedded ids and the mask, then one mean vector per review
    return Shape(hp.num_words * dims + params, input_bytes=FLOAT * hp.maxlen,
                 activation_bytes=FLOAT * (hp.maxlen * (dims + 1) + dims + activations),
                 lower_input="maxlen, limit or val_size", lower_weights="num_words or units",
                 lower_activations="batch_size or maxlen")


AVERAGE_REVIEW_IDS = 240  # ids in an average IMDB review (with the start mark)
NGRAM_SLOTS = 2.0  # the padded feature width (99% of reviews fit) over an average review's n-grams: 1,438 / 720


def ngram_nb(hp: HParams) -> Shape:
    grams = AVERAGE_REVIEW_IDS * hp.ngrams  # n-grams of one review, of length 1..ngrams
    return Shape(3 * (hp.max_features + 1),  # w, the fixed ratios r, and b per feature
                 input_bytes=FLOAT * grams * NGRAM_SLOTS,
                 activation_bytes=FLOAT * grams * NGRAM_SLOTS * 4,  # gathered w and r, their product, its gradient
                 work_bytes=16 * grams * 1.5,  # (review, key) int64 pairs, and the copies sorting makes
                 keeps_test=True,
                 lower_input="ngrams, limit or val_size", lower_weights="max_features",
                 lower_activations="batch_size or ngrams")


def _shape(hp: HParams) -> Shape:
    return architectures.get(hp.architecture).memory(hp)


@dataclass(frozen=True)
class Estimate:
    """Bytes a configuration needs at its peak, by part."""

    runtime: float  # the lab, TensorFlow and the loaded data
    features: float  # featurised training and validation reviews (and featurising's own work)
    weights: float  # weights, gradients and optimizer state
    activations: float  # one batch, forward and backward
    lower: dict[str, str]  # the settings that shrink each part

    @property
    def total(self) -> float:
        return self.runtime + self.features + self.weights + self.activations

    def largest(self) -> str:
        parts = {"features": self.features, "weights": self.weights, "activations": self.activations}
        return max(parts, key=parts.get)

    def describe(self) -> str:
        return (f"about {gigabytes(self.total)}: {gigabytes(self.features)} for the featurised reviews, "
                f"{gigabytes(self.weights)} for weights and optimizer state, {gigabytes(self.activations)} for one "
                f"batch's activations, {gigabytes(self.runtime)} for the lab and the data")


PART_NAMES = {"features": "the featurised reviews", "weights": "the weights and optimizer state",
              "activations": "one batch's activations"}


def gigabytes(n: float) -> str:
    return f"{n / GB:.1f} GB" if n >= 0.1 * GB else f"{n / 2**20:.0f} MB"


LAYER_TABLE_MAX_PARAMS = 20_000_000  # the Train page builds a throwaway model for its layer table only below this


def parameters(hp: HParams) -> int:
    """The model's weights, counted without building it."""
    return _shape(hp).params


def runtime_bytes(dataset: str) -> float:
    """The lab with a data set loaded: IMDB's measured figure, its data part scaled by the data set's reviews."""
    if dataset == DEFAULT_DATASET:
        return RUNTIME_BYTES
    from core.data import datasets

    try:
        info = datasets.info(dataset)
    except LabError as exc:
        raise ConfigError(str(exc)) from None
    return RUNTIME_BYTES - IMDB_DATA_BYTES + IMDB_DATA_BYTES * (info.train_size + info.test_size) / IMDB_REVIEWS


def estimate(hp: HParams) -> Estimate:
    """The memory `hp` will need, computed from its settings alone (nothing is built or allocated)."""
    shape = _shape(hp)
    sizes = sizes_of(hp.dataset)
    reviews = hp.train_reviews(sizes) + hp.val_size
    slots = OPTIMIZER_SLOTS.get(hp.optimizer, 2)
    return Estimate(
        runtime=runtime_bytes(hp.dataset),
        features=(reviews * max(shape.input_bytes * MATRIX_COPIES, shape.work_bytes)
                  + (sizes.test_size * shape.input_bytes if shape.keeps_test else 0.0)),
        weights=shape.params * FLOAT * (2 + slots),
        activations=min(hp.batch_size, hp.train_reviews(sizes)) * shape.activation_bytes * BACKWARD,
        lower={"features": shape.lower_input, "weights": shape.lower_weights or "the model's size",
               "activations": shape.lower_activations},
    )


def refuse_too_large(hp: HParams) -> Estimate:
    """The estimate, or a ConfigError saying which setting to lower when it is above the server's limit."""
    found = estimate(hp)
    limit = config.max_training_bytes()
    if found.total > limit:
        part = found.largest()
        raise ConfigError(
            f"This configuration would need {gigabytes(found.total)} of memory, more than this server allows for one "
            f"training ({gigabytes(limit)}, {config.MAX_TRAINING_GB_ENV}). Most of it is {PART_NAMES[part]} "
            f"({gigabytes(getattr(found, part))}): lower {found.lower[part]}.")
    return found

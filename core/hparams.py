"""Hyperparameters: their allowed ranges, validation, and presets fitted to a data set. The settings themselves are
`core.settings.HParams`; the named presets that reproduce the reference notebooks are in their architectures'
registry entries (`core.architectures`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from core import architectures, settings
from core.errors import ConfigError, quoted, shortened
from core.settings import GLOVE_DIM, IMDB_SIZES, MAX_WORD_ID, TRAIN_REVIEWS, HParams, Sizes, dataset_name, sizes_of

if TYPE_CHECKING:
    from core.data.datasets import DatasetInfo

OPTIMIZERS = ("rmsprop", "adam", "adamw", "sgd")
VECTORS = ("fine-tuned", "frozen", "random")
DEFAULT_DATASET = settings.DEFAULT_DATASET  # what a configuration without a data set trains on
MAX_VAL_SIZE = 20_000
MIN_FIT = 100  # training reviews validation must leave to fit on


@dataclass(frozen=True)
class Param:
    """One tunable setting: its range is what the form shows and what validation enforces."""

    name: str
    label: str
    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is allowed (meaning "off" / "all")
    help: str = ""

    def range_text(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        text = f"{int(self.low):,} to {int(self.high):,}" if self.kind is int else f"{self.low:g} to {self.high:g}"
        return text + (" (or empty for none)" if self.optional else "")

    def check(self, value: Any) -> Any:
        """The value converted to this parameter's type, or a ConfigError naming the parameter and its range."""
        if value is None or value == "":
            if self.optional:
                return None
            raise ConfigError(f"{self.name} is required: {self.range_text()}.")
        if self.choices:
            if str(value) not in self.choices:
                raise ConfigError(f"{self.name}={quoted(value)} is not allowed: {self.range_text()}.")
            return str(value)
        try:
            number = _whole(value) if self.kind is int else float(value)
        except (TypeError, ValueError, OverflowError):
            kind = "a whole number" if self.kind is int else "a number"
            raise ConfigError(f"{self.name}={quoted(value)} is not {kind}: {self.range_text()}.") from None
        if not self.low <= number <= self.high:  # NaN is never in range
            raise ConfigError(f"{self.name}={shortened(value)} is out of range: {self.range_text()}.")
        return number


def _whole(value: Any) -> int:
    """An int from an int, a float with no fraction, or text such as "12", " 12 ", "1e3" or a 20-digit number."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            value = float(value)
    number = float(value)
    if not number.is_integer():
        raise ValueError
    return int(number)


PARAMS: dict[str, Param] = {
    p.name: p
    for p in (
        Param("num_words", "Vocabulary size", int, 100, MAX_WORD_ID + 1, help="Ids at or above it become ? (unknown), as num_words does in Keras."),
        Param("maxlen", "Sequence length", int, 10, 2500, help="Reviews are pre-padded and pre-truncated to this many ids."),
        Param("embedding_dim", "Embedding size", int, 1, 512, help="Length of each word's learned vector."),
        Param("hidden_layers", "Hidden layers", int, 0, 4, help="Dense layers between the input and the output."),
        Param("units", "Units per layer", int, 1, 1024, help="Width of each hidden Dense (or LSTM) layer."),
        Param("dropout", "Dropout", float, 0.0, 0.9, help="Share of activations dropped during training."),
        Param("optimizer", "Optimizer", str, choices=OPTIMIZERS),
        Param("learning_rate", "Learning rate", float, 1e-5, 1.0),
        Param("batch_size", "Batch size", int, 1, 4096),
        Param("epochs", "Epochs", int, 1, 100),
        Param("val_size", "Validation reviews", int, 100, 20_000, help="Carved from the training split, never from test."),
        Param("patience", "Early-stopping patience", int, 1, 50, optional=True, help="Stop after this many epochs without a lower validation loss, counted once the model does better than guessing; the best epoch is restored."),
        Param("seed", "Random seed", int, 0, 2**31 - 1),
        Param("limit", "Training reviews", int, 100, TRAIN_REVIEWS, optional=True, help="Use only this many training reviews (empty: all that validation leaves)."),
        Param("ngrams", "Longest n-gram", int, 1, 3, help="Word sequences up to this length become features."),
        Param("max_features", "N-gram features", int, 1000, 2_000_000, help="Most frequent n-grams kept as features."),
        Param("vectors", "Word vectors", str, choices=VECTORS,
              help="Start from the pretrained GloVe vectors and fine-tune them, keep them frozen, or start from "
                   "random vectors (no pretraining)."),
    )
}

COMMON = ("optimizer", "learning_rate", "batch_size", "epochs", "val_size", "patience", "seed", "limit")


# Every registered architecture's presets by name, and one line each for the preset picker (its entry holds both).
PRESETS: dict[str, HParams] = architectures.PRESETS
DESCRIPTIONS: dict[str, str] = architectures.DESCRIPTIONS
DESCRIPTION_CHARS = 80
# How a fitted preset's model reads a small imported data set's texts, where that differs from its notebook
# (`Architecture.fit` sets `HParams.pooling`); the Train page says so under the model's layers.
POOLING_NOTES: dict[str, str] = {
    "max": "Fitted to this data set: the largest value of each embedding dimension over the text's words "
           "(GlobalMaxPooling1D), half of them dropped at random while it trains, replaces the notebook's "
           "Flatten, which learns one weight per word position and needs more texts than a small data set has.",
    "masked": "Fitted to this data set: the LSTM skips the padding before a short text instead of reading it "
              "(the Embedding's mask_zero).",
    "glove": "Fitted to this data set: each word starts from its pretrained GloVe vector (50 dimensions, learned "
             "from 6 billion words of English; words GloVe lacks start random) and is fine-tuned, since a few "
             "hundred texts cannot teach an LSTM what words mean; the LSTM skips the padding before a short text.",
    "mean+max": "Fitted to this data set: the mean and the largest value of each GloVe dimension over the text's "
                "words, side by side, replace the mean alone (a few strong words of a short text count more).",
}


def pooling_note(hp: HParams) -> str:
    """What the Train page says of a preset fitted to a small data set (`hp.pooling`), true to its settings."""
    if hp.pooling == "glove" and not hp.glove_start:
        return (f"{POOLING_NOTES['masked']} Its words start random: GloVe's vectors have {GLOVE_DIM} dimensions, "
                f"this embedding {hp.embedding_dim} (set embedding_dim to {GLOVE_DIM} to start from them).")
    return POOLING_NOTES[hp.pooling]


def used(hp: HParams) -> tuple[str, ...]:
    """The settings this configuration's architecture actually reads; the form shows only these."""
    return architectures.get(hp.architecture).uses + COMMON


def preset_name(text: str) -> str:
    """The preset a typed name means, in any case and without surrounding spaces ("DLWP" is dlwp)."""
    name = str(text).strip().lower()
    if name not in PRESETS:
        raise ConfigError(f"Unknown preset {quoted(text)}: choose one of {', '.join(PRESETS)}.")
    return name


def preset(name: str) -> HParams:
    return PRESETS[preset_name(name)]


def ranges_for(info: "DatasetInfo | Sizes") -> dict[str, Param]:
    """PARAMS with the ranges that depend on the data set (vocabulary size, validation and training reviews) set
    from `info`; IMDB's are PARAMS as they are. What the Train form shows and what validation enforces."""
    most_words = info.max_id + 1
    most_val = max(1, min(MAX_VAL_SIZE, info.train_size - MIN_FIT))
    most_fit = info.train_size
    return {**PARAMS,
            "num_words": replace(PARAMS["num_words"], low=min(PARAMS["num_words"].low, most_words), high=most_words),
            "val_size": replace(PARAMS["val_size"], low=min(PARAMS["val_size"].low, most_val), high=most_val),
            "limit": replace(PARAMS["limit"], low=min(PARAMS["limit"].low, most_fit), high=most_fit)}


MIN_FITTED_BATCH = 32  # Keras's default: smaller batches only make a fitted preset slower
VAL_SHARE = 0.15  # of an imported data set's training split, for validation (at least the range's low, 100)
STEP_BUDGET = 1_500  # optimizer steps an imported data set's epoch budget allows; early stopping ends it sooner
FITTED_PATIENCE = 4  # epochs without a lower validation loss before a fitted preset stops
# Embedding sizes are capped at a 16th of the vocabulary (not below 8), so a few hundred words do not get 120
# dimensions each. A tighter cap, the square root (lstm's 120 -> 41 for 1,650 words), lost 3.5 points on both UCI
# sentence sets (0.79 -> 0.755, 0.68 -> 0.645), so this one only bites on very small vocabularies.
EMBEDDING_WORDS_PER_DIM = 16
MIN_FITTED_EMBEDDING = 8


def for_dataset(hp: HParams, sizes: Sizes) -> HParams:
    """A preset fitted to an imported data set; IMDB's presets are returned as they are.

    IMDB's epoch counts are a few dozen optimizer steps on 800 sentences, so an imported set gets an epoch budget of
    STEP_BUDGET steps, ended by early stopping on validation loss with the best epoch restored. Validation takes
    VAL_SHARE of the training split (at most the preset's, at least 100), leaving most of a small set to learn
    from; batches scale down with the set to a power of two (at least 32), the sequence length is the data set's
    95th percentile of ids per text (short sentences are then not mostly padding), the vocabulary is capped at
    its words and the embedding at a 16th of that (lstm's 120 dimensions for 1,650 words become 102), and
    the architecture's registry entry fits the rest (`Architecture.fit`)."""
    if sizes == IMDB_SIZES:
        return hp
    share = min(1.0, sizes.train_size / TRAIN_REVIEWS)
    most_val = ranges_for(sizes)["val_size"]
    val_size = min(hp.val_size, max(int(most_val.low), round(sizes.train_size * VAL_SHARE)), int(most_val.high))
    batch = min(hp.batch_size, max(MIN_FITTED_BATCH, 2 ** math.floor(math.log2(max(1.0, hp.batch_size * share)))))
    steps = math.ceil(max(1, sizes.train_size - val_size) / batch)
    epochs = min(int(PARAMS["epochs"].high), max(hp.epochs, math.ceil(STEP_BUDGET / steps)))
    maxlen = fitted_maxlen(hp.maxlen, sizes.words_p95)
    num_words = min(hp.num_words, sizes.max_id + 1)
    fitted = replace(hp, num_words=num_words, batch_size=batch, val_size=val_size, epochs=epochs, maxlen=maxlen,
                     patience=max(hp.patience or 0, FITTED_PATIENCE),
                     embedding_dim=min(hp.embedding_dim, max(MIN_FITTED_EMBEDDING, num_words // EMBEDDING_WORDS_PER_DIM)))
    fit = architectures.get(hp.architecture).fit
    return replace(fitted, **fit(fitted, sizes)) if fit else fitted


def fitted_maxlen(maxlen: int, words_p95: int) -> int:
    """The sequence length a preset of `maxlen` reads on an imported data set: its texts' 95th percentile of ids (at
    least the range's low), never more than the preset's; `maxlen` itself where the lengths are unknown (0)."""
    return min(maxlen, max(int(PARAMS["maxlen"].low), words_p95)) if words_p95 else maxlen


def make(preset_name: str, **overrides: Any) -> HParams:
    """A preset with overrides applied, every value checked; None overrides are ignored unless the field allows None.

    `dataset=NAME` trains on that data set; the settings not given are the preset's, fitted to it (`for_dataset`).
    """
    names = {f.name for f in fields(HParams)} - {"preset", "architecture", "pooling"}
    unknown = set(overrides) - names
    if unknown:
        raise ConfigError(f"Unknown setting {', '.join(sorted(unknown))}: settings are {', '.join(sorted(names))}.")
    dataset = dataset_name(overrides.pop("dataset", None))
    sizes = sizes_of(dataset)
    base = replace(for_dataset(preset(preset_name), sizes), dataset=dataset)
    ranges = ranges_for(sizes)
    values = {name: ranges[name].check(value) for name, value in overrides.items()}
    return validate(replace(base, **values), sizes)


def validate(hp: HParams, sizes: Sizes | None = None) -> HParams:
    """Every field in range for its data set, and the combinations that would fail explained.

    `sizes`: the data set's (a DatasetInfo will do); looked up by `hp.dataset` when not given, so a run whose data
    set was removed is validated with the sizes its bundle saved.
    """
    if sizes is None:
        dataset_name(hp.dataset)
        sizes = sizes_of(hp.dataset)
    ranges = ranges_for(sizes)
    for name in PARAMS:
        ranges[name].check(getattr(hp, name))
    uses = architectures.get(hp.architecture).uses
    total = sizes.train_size
    if hp.val_size > total - MIN_FIT:
        raise ConfigError(f"val_size={hp.val_size} leaves fewer than {MIN_FIT} of the {total:,} training reviews "
                          "to fit on.")
    if hp.limit is not None and hp.limit > total - hp.val_size:
        raise ConfigError(
            f"limit={hp.limit} is more than the {total - hp.val_size} training reviews left after "
            f"val_size={hp.val_size}: lower limit or val_size."
        )
    if "hidden_layers" in uses and "dropout" in uses and hp.hidden_layers == 0 and hp.dropout > 0:
        raise ConfigError("dropout needs at least one hidden layer (hidden_layers=0 has nothing to drop).")
    return hp


def from_dict(values: dict[str, Any], sizes: Sizes | None = None) -> HParams:
    """A saved configuration back into HParams, re-validated (against `sizes` when given: a run's own record of
    its data set); configurations saved before data sets existed are IMDB's."""
    known = {f.name for f in fields(HParams)}
    return validate(HParams(**{k: v for k, v in values.items() if k in known}), sizes)

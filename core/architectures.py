"""The one registry of model architectures: everything that differs between them, in one entry each.

Adding an architecture is one `register(Architecture(...))` call plus its Keras builder: its name, its presets
(settings and a line for the preset picker), the settings it reads, how it featurises reviews and restores a saved
featuriser, how it builds its Keras model, its time-estimate rate, its memory figures, how its raw-text export and
word map read the model, and the label kinds it handles. The lab's own entries are registered at the end of this
module; tests/toy_architecture.py registers one from outside core.
Nothing else in the lab branches on an architecture's name.

Builders and featurisers are named as "module:function" and imported on first use, so reading the registry (the
settings form, validation, the CLI's flags) never loads Keras.
"""
from __future__ import annotations

import importlib
from functools import reduce
from dataclasses import dataclass, field
from typing import Any, Callable

from core import registry
from core.errors import ConfigError
from core.settings import GLOVE_DIM, MAX_WORD_ID, HParams, Sizes


def _lazy(target: str) -> Callable[..., Any]:
    """A function that imports "module:name" (or "module:Class.method") on its first call and forwards to it."""
    module, name = target.split(":")

    def call(*args: Any) -> Any:
        return reduce(getattr, name.split("."), importlib.import_module(module))(*args)

    call.__name__ = name
    return call


@dataclass(frozen=True)
class Preset:
    """A named starting point: the settings that differ from HParams's defaults, and one line (at most 80
    characters) for the preset picker; the README's Presets table has the details."""

    name: str
    description: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Architecture:
    """One architecture and everything the lab needs to know about it."""

    name: str
    uses: tuple[str, ...]  # the settings it reads; the form shows only these (plus the common ones)
    featurizer: Callable[["HParams"], Any]  # an unfitted featuriser for these settings
    featurizer_kind: str  # the `kind` its featuriser saves in a run folder ...
    restore: Callable[[dict[str, Any], dict[str, Any]], Any]  # ... and the featuriser back from (state, arrays)
    build: Callable[["HParams", Any, int], Any]  # (settings, fitted featuriser, classes) -> uncompiled keras.Model
    base_rate: float  # reviews per second per epoch at the work() == 1 shape, on 2 CPU cores
    work: Callable[["HParams"], float]  # relative cost of one review, so runs of other shapes can be compared
    memory: Callable[["HParams"], Any]  # what it holds in memory per setting (a core.memory.Shape)
    # The rest of the wait (core.estimate), in CPU time measured on the 2-core development machine with the presets'
    # shapes and the data already loaded: splitting and featurising one training or validation review, featurising
    # and scoring one test review, and saving the model and encoders; each scaled by the settings that change it.
    prepare_us: float = 20.0
    score_us: float = 80.0
    save_seconds: float = 0.5
    featurise_scale: Callable[["HParams"], float] = lambda hp: 1.0
    score_scale: Callable[["HParams"], float] | None = None  # None: as featurise_scale
    sized_before_fit: bool = True  # False when the model's size depends on what fitting finds
    unsized_note: str = ""  # shown instead of the layer table when sized_before_fit is False
    label_kinds: tuple[str, ...] = ("binary", "multiclass")  # 2 classes (sigmoid), 3 to 20 (softmax)
    preflight: Callable[["HParams"], list[str]] | None = None  # warnings before training; raises LabError to refuse
    # the settings it changes for an imported data set, given the common fitting (`hparams.for_dataset`) and sizes
    fit: Callable[["HParams", "Sizes"], dict[str, Any]] | None = None
    presets: tuple[Preset, ...] = ()
    # the raw-text export's scores (core.raw_text_model): (token ids, fitted featuriser, trained model) -> scores
    raw_text_scores: Callable[[Any, Any, Any], Any] = _lazy("core.raw_text_model:sequence_scores")
    # the word map's rows (core.word_map): (fitted featuriser, trained model) -> (one row per word id, their source)
    word_rows: Callable[[Any, Any], Any] = _lazy("core.word_map:embedding_rows")
    keras_layers: str = ""  # a module whose import registers the custom Keras layers a saved model of it needs


def _flatten_work(hp: "HParams") -> float:
    return hp.maxlen * hp.embedding_dim * max(hp.units, 1) / (500 * 32 * 16)


def _lstm_work(hp: "HParams") -> float:
    return hp.maxlen * hp.units * (hp.units + hp.embedding_dim) / (500 * 120 * 240)


def _mean_work(hp: "HParams") -> float:
    return hp.maxlen / 500


# Fitting to an imported data set (`hparams.for_dataset` calls these after its common fitting), measured with
# benchmarks/bench_small_data.py on the UCI sentences (680 fitted texts), 600 airline tweets (500) and all the tweets
# (9,954): README "Small data sets".
SMALL_SET_BELOW = 15_000  # fitted texts under which `fast` reads single words and the others' models are fitted


def _fit_ngrams(hp: "HParams", sizes: "Sizes") -> dict[str, Any]:
    """Few texts rarely repeat a 2- or 3-gram, so their naive-Bayes ratios are noise: single words, and 4 times the
    learning rate, since w starts at 0 and a small set has few steps an epoch. 600 tweets: 0.661 -> 0.736 test
    accuracy; imdb sentences 0.765 -> 0.795; all tweets 0.801 -> 0.811; amazon sentences 0.790 -> 0.785.
    Then Adam instead of RMSprop (same rate; its momentum carries w through a few noisy batches). Mean of seeds
    0-2: amazon sentences 0.782 -> 0.800, imdb sentences 0.797 -> 0.813, 600 tweets 0.730 -> 0.736, all tweets
    0.811 -> 0.808 (8 of 2,929 tweets); at half or twice the rate 0.797 / 0.798 on amazon."""
    if sizes.train_size - hp.val_size >= SMALL_SET_BELOW:
        return {}
    return {"ngrams": 1, "learning_rate": hp.learning_rate * 4, "optimizer": "adam"}


SMALL_LSTM_UNITS = 16
SMALL_LSTM_DROPOUT = 0.5


def _fit_lstm(hp: "HParams", sizes: "Sizes") -> dict[str, Any]:
    """120 LSTM units over a few hundred short texts memorise them: a small set gets 16 units, at most 64
    dimensions a word and dropout 0.5 on the LSTM's inputs. Mean test accuracy of seeds 0-2: imdb sentences
    0.700 -> 0.732, amazon sentences 0.790 -> 0.800, 600 tweets 0.639 -> 0.634 (noise: 1 tweet is 0.8 points).
    Then the LSTM skips the padding (`pooling` "masked"): amazon sentences 0.800 -> 0.808, imdb sentences
    0.733 -> 0.727, 600 tweets 0.634 -> 0.664 (the mean of its outputs instead of the last: 0.777, 0.682, 0.680; a
    bidirectional GRU 0.770, 0.727, 0.650; a max over its outputs 0.795, 0.728, 0.647).
    Then its words start from GloVe's 50-dimension vectors (`pooling` "glove", `pretrained.lstm_featurizer`), since
    a few hundred texts cannot teach it what words mean: mean of seeds 0-5, amazon sentences 0.806 -> 0.777, imdb
    sentences 0.729 -> 0.773, 600 tweets 0.659 -> 0.696; all tweets (seeds 0-2) 0.807 -> 0.812."""
    if sizes.train_size - hp.val_size >= SMALL_SET_BELOW:
        return {}
    return {"units": min(hp.units, SMALL_LSTM_UNITS), "embedding_dim": GLOVE_DIM,
            "dropout": max(hp.dropout, SMALL_LSTM_DROPOUT), "pooling": "glove"}


def _fit_flatten(hp: "HParams", sizes: "Sizes") -> dict[str, Any]:
    """Flatten gives each word one weight per position, and texts of varying length put a word at different
    positions, so a few hundred texts teach it little: a small set gets a max over the words instead (same
    embedding and head). Mean test accuracy of seeds 0-2: amazon sentences 0.742 -> 0.810, imdb sentences
    0.653 -> 0.760, 600 tweets 0.620 -> 0.672 (a mean over the words instead: 0.798, 0.742, 0.675); all tweets
    (seed 0) 0.752 -> 0.773. Then dropout on the max (`models.POOLED_DROPOUT`): 0.810, 0.772, 0.686; all tweets
    0.782. Larger sets, not measured, keep the notebook's Flatten."""
    return {} if sizes.train_size - hp.val_size >= SMALL_SET_BELOW else {"pooling": "max"}


def _fit_pretrained(hp: "HParams", sizes: "Sizes") -> dict[str, Any]:
    """The mean of a short text's GloVe vectors drowns its few telling words: a small set gets the mean and the
    max side by side. Mean test accuracy of seeds 0-2: 600 tweets 0.650 -> 0.694, amazon sentences 0.808 -> 0.800,
    imdb sentences 0.760 -> 0.763; all tweets (seed 0) 0.804 -> 0.811. Larger sets keep the mean alone."""
    return {} if sizes.train_size - hp.val_size >= SMALL_SET_BELOW else {"pooling": "mean+max"}


# Reviews per second per epoch (training and validation together) with the presets' shapes on 2 CPU cores,
# measured with `python -m core train` (benchmarks/bench_presets.py): dlwp 0.35 s, mslearn 1.4 s and fast 1.7 s
# per epoch of 25,000 reviews; lstm 1.3 s per epoch of 700 reviews. Conservative, since other work slows them.
_LAB_ENTRIES = (
    Architecture(
        "multihot_mlp",
        uses=("num_words", "hidden_layers", "units", "dropout"),
        featurizer=_lazy("core.features:multi_hot_featurizer"),
        featurizer_kind="multihot",
        restore=_lazy("core.features:MultiHot.from_state"),
        presets=(Preset("dlwp", "Deep Learning with Python ch. 4: multi-hot → Dense 16 → Dense 16, rmsprop",
                        dict(num_words=10_000, hidden_layers=2, units=16, optimizer="rmsprop", learning_rate=0.001,
                             batch_size=512, epochs=4)),),
        raw_text_scores=_lazy("core.raw_text_model:multi_hot_scores"),
        word_rows=_lazy("core.word_map:dense_rows"),
        build=_lazy("core.models:multihot_mlp"),
        base_rate=40_000.0,
        work=lambda hp: hp.num_words * max(hp.units, 1) / (10_000 * 16),
        memory=_lazy("core.memory:multihot_mlp"),
        prepare_us=30.0,
        score_us=115.0,
        save_seconds=0.7,
        featurise_scale=lambda hp: hp.num_words / 10_000,
    ),
    Architecture(
        "embedding_flatten",
        uses=("num_words", "maxlen", "embedding_dim", "hidden_layers", "units", "dropout"),
        featurizer=_lazy("core.features:sequence_featurizer"),
        featurizer_kind="sequences",
        restore=_lazy("core.features:Sequences.from_state"),
        presets=(Preset("mslearn", "Microsoft Learn lab: Embedding 32 over 500 ids → Flatten → 2 × Dense 16, adam",
                        dict(num_words=10_000, maxlen=500, embedding_dim=32, hidden_layers=2, units=16,
                             optimizer="adam", learning_rate=0.001, batch_size=128, epochs=5)),),
        build=_lazy("core.models:embedding_flatten"),
        base_rate=15_000.0,
        work=_flatten_work,
        memory=_lazy("core.memory:embedding_flatten"),
        save_seconds=0.4,
        score_scale=_flatten_work,
        fit=_fit_flatten,
    ),
    Architecture(
        "lstm",
        uses=("num_words", "maxlen", "embedding_dim", "units", "dropout"),
        featurizer=_lazy("core.pretrained:lstm_featurizer"),
        featurizer_kind="sequences",
        restore=_lazy("core.features:Sequences.from_state"),
        presets=(Preset("lstm", "Embedding 120 → LSTM 120, adam, early stopping keeps the best epoch",
                        dict(num_words=5_000, maxlen=500, embedding_dim=120, units=120, optimizer="adam",
                             learning_rate=0.001, batch_size=64, epochs=20, patience=5)),),
        build=_lazy("core.models:lstm"),
        base_rate=400.0,
        work=_lstm_work,
        memory=_lazy("core.memory:lstm"),
        score_us=4_000.0,  # a forward pass over 500 ids
        save_seconds=0.3,
        score_scale=_lstm_work,
        preflight=_lazy("core.pretrained:lstm_preflight"),
        fit=_fit_lstm,
    ),
    Architecture(
        "ngram_nb",
        uses=("num_words", "ngrams", "max_features", "dropout"),
        featurizer=_lazy("core.ngrams:featurizer"),
        featurizer_kind="ngrams",
        restore=_lazy("core.ngrams:NGrams.from_state"),
        presets=(Preset("fast", "Ours (NBSVM): 1-3-grams × naive-Bayes ratios → linear; 0.92 in seconds",
                        dict(num_words=MAX_WORD_ID + 1, ngrams=3, max_features=1_000_000, dropout=0.0,
                             optimizer="rmsprop", learning_rate=0.005, batch_size=1024, epochs=3, val_size=2_500)),),
        raw_text_scores=_lazy("core.raw_text_model:ngram_model_scores"),
        word_rows=_lazy("core.word_map:ngram_rows"),
        keras_layers="core.ngram_model",
        build=_lazy("core.ngram_model:build_model"),
        base_rate=12_000.0,
        work=lambda hp: 1.0,
        memory=_lazy("core.memory:ngram_nb"),
        prepare_us=160.0,
        score_us=160.0,
        save_seconds=1.0,
        featurise_scale=lambda hp: hp.ngrams / 3,
        sized_before_fit=False,
        unsized_note="The n-gram model's size depends on the features found in the training reviews.",
        fit=_fit_ngrams,
    ),
    Architecture(
        "pretrained_mean",
        uses=("num_words", "maxlen", "vectors", "hidden_layers", "units", "dropout"),
        featurizer=_lazy("core.pretrained:featurizer"),
        featurizer_kind="sequences",  # saved as plain Sequences: the trained embedding is in the model's weights
        restore=_lazy("core.features:Sequences.from_state"),
        presets=(Preset("transfer", "After the TF Hub tutorial: GloVe 50d vectors → mean of words → Dense 16, adam",
                        dict(num_words=20_000, maxlen=500, embedding_dim=50, hidden_layers=1, units=16,
                             optimizer="adam", learning_rate=0.001, batch_size=512, epochs=40, patience=3,
                             vectors="fine-tuned")),),
        build=_lazy("core.models:pretrained_mean"),
        base_rate=7_500.0,  # about half mslearn's rate per review when both were timed under the same load
        work=_mean_work,
        memory=_lazy("core.memory:pretrained_mean"),
        score_scale=_mean_work,
        preflight=_lazy("core.pretrained:preflight"),
        fit=_fit_pretrained,
    ),
)

# Registered entries, and their presets by name with one line each for the preset picker: process-wide, so they
# live in core.registry like every long-lived object; `register` is the only writer.
ARCHITECTURES: dict[str, Architecture] = registry.shared(("architectures",), dict)
PRESETS: dict[str, HParams] = registry.shared(("architecture presets",), dict)
DESCRIPTIONS: dict[str, str] = registry.shared(("architecture preset descriptions",), dict)


def register(entry: Architecture) -> Architecture:
    """Adds `entry` and its presets to the lab: the Train form, the CLI, validation, training, estimates, scoring
    and export all read it from here. A name already taken is a programming error (ValueError)."""
    taken = [entry.name] * (entry.name in ARCHITECTURES) + [p.name for p in entry.presets if p.name in PRESETS]
    if taken:
        raise ValueError(f"Already registered: {', '.join(taken)}.")
    ARCHITECTURES[entry.name] = entry
    for preset in entry.presets:
        PRESETS[preset.name] = HParams(preset.name, entry.name, **preset.settings)
        DESCRIPTIONS[preset.name] = preset.description
    return entry


def get(name: str) -> Architecture:
    """The entry for `name`, or a ConfigError listing the known ones."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ConfigError(f"architecture={name!r} is not one of {', '.join(ARCHITECTURES)}.") from None


def uses(name: str) -> tuple[str, ...]:
    """The settings architecture `name` reads; none for one this lab does not know (a run from an older lab)."""
    entry = ARCHITECTURES.get(name)
    return entry.uses if entry else ()


def restore_featurizer(state: dict[str, Any], arrays: dict[str, Any]) -> Any:
    """A saved featuriser back, by the `kind` its state names (a KeyError for a kind no entry registers)."""
    for entry in ARCHITECTURES.values():
        if entry.featurizer_kind == state["kind"]:
            return entry.restore(state, arrays)
    raise KeyError(f"featuriser kind {state['kind']!r}")


for _entry in _LAB_ENTRIES:
    register(_entry)

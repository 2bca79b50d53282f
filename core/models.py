"""Keras model definitions for each architecture; built, compiled and fitted in the thread that trains them."""
from __future__ import annotations

import keras
from keras import layers

from core import architectures
from core.model_input import Featurizer
from core.hparams import HParams
from core.settings import GLOVE_DIM


def output(x, num_classes: int):
    """The output layer: one sigmoid unit (P(label 1)) for two classes, a softmax over the classes for more."""
    if num_classes == 2:
        return layers.Dense(1, activation="sigmoid", name="score")(x)
    return layers.Dense(num_classes, activation="softmax", name="score")(x)


def _head(x, hp: HParams, num_classes: int):
    """Hidden Dense relu layers (with optional dropout), then the output layer."""
    for n in range(1, hp.hidden_layers + 1):
        x = layers.Dense(hp.units, activation="relu", name=f"hidden_{n}")(x)
        if hp.dropout:
            x = layers.Dropout(hp.dropout, name=f"dropout_{n}")(x)
    return output(x, num_classes)


def multihot_mlp(hp: HParams, featurizer: Featurizer | None = None, num_classes: int = 2) -> keras.Model:
    inputs = keras.Input(shape=(hp.num_words,), name="multi_hot")
    return keras.Model(inputs, _head(inputs, hp, num_classes), name="dlwp_mlp")


# Dropout on the max over the words (`hp.pooling` "max"), not in the 16-unit head, where 0.5 left the imdb sentences
# at chance on two seeds of three. Mean test accuracy of seeds 0-2 (benchmarks/bench_small_data.py's sets): amazon
# sentences 0.810 -> 0.810, imdb sentences 0.760 -> 0.772, 600 tweets 0.672 -> 0.686.
POOLED_DROPOUT = 0.5


def embedding_flatten(hp: HParams, featurizer: Featurizer | None = None, num_classes: int = 2) -> keras.Model:
    """Embedding -> Flatten -> Dense head; on a small imported data set (`hp.pooling` "max") the Flatten becomes a
    max over the words, one weight per dimension instead of one per position, dropped out at POOLED_DROPOUT."""
    inputs = keras.Input(shape=(hp.maxlen,), dtype="int32", name="ids")
    x = layers.Embedding(hp.num_words, hp.embedding_dim, name="embedding")(inputs)
    if hp.pooling == "max":
        x = layers.Dropout(POOLED_DROPOUT, name="dropout_pooled")(layers.GlobalMaxPooling1D(name="max")(x))
    else:
        x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _head(x, hp, num_classes), name="embedding_flatten")


def lstm(hp: HParams, featurizer: Featurizer | None = None, num_classes: int = 2) -> keras.Model:
    """Embedding -> LSTM -> output; on a small imported data set the LSTM skips the padding instead of reading it
    before the text (`hp.pooling` "masked", and "glove"), and with "glove" the Embedding starts from the fitted
    featuriser's GloVe matrix where it has GloVe's size (`hp.glove_start`, `pretrained.lstm_featurizer`; without
    one, as for the Train page's layer table, Keras's random start of the same shape)."""
    inputs = keras.Input(shape=(hp.maxlen,), dtype="int32", name="ids")
    embedding = layers.Embedding(hp.num_words, hp.embedding_dim, mask_zero=hp.pooling in ("masked", "glove"),
                                 name="embedding")
    x = layers.LSTM(hp.units, dropout=hp.dropout, name="lstm")(embedding(inputs))
    model = keras.Model(inputs, output(x, num_classes), name="lstm")
    start = getattr(featurizer, "start", None)
    if start is not None:
        embedding.set_weights([start])
    return model


def pretrained_mean(hp: HParams, featurizer: Featurizer | None = None, num_classes: int = 2) -> keras.Model:
    """GloVe-initialised Embedding -> mean over the review's words (padding masked) -> Dense head; with
    `hp.pooling` "mean+max" (small imported data sets) the mean and the max over the words, side by side (Keras's
    max does not read the mask, so on a text shorter than maxlen the padding's vector takes part, as measured).

    The start matrix comes from the fitted featuriser (`pretrained.VectorSequences`); without one (the Train
    page's layer table) the layer keeps Keras's random start, which has the same shape and parameter counts.
    """
    inputs = keras.Input(shape=(hp.maxlen,), dtype="int32", name="ids")
    embedding = layers.Embedding(hp.num_words, GLOVE_DIM, mask_zero=True, trainable=hp.vectors != "frozen",
                                 name="embedding")
    vectors = embedding(inputs)
    x = layers.GlobalAveragePooling1D(name="mean")(vectors)
    if hp.pooling == "mean+max":
        x = layers.Concatenate(name="mean_max")([x, layers.GlobalMaxPooling1D(name="max")(vectors)])
    model = keras.Model(inputs, _head(x, hp, num_classes), name="pretrained_mean")
    start = getattr(featurizer, "start", None)
    if start is not None:
        embedding.set_weights([start])
    return model


def build(hp: HParams, featurizer: Featurizer | None, num_classes: int = 2) -> keras.Model:
    """The uncompiled model for `hp` and `num_classes` (2 to 20); some architectures need their fitted featuriser.
    Seeding is the caller's job."""
    return architectures.get(hp.architecture).build(hp, featurizer, num_classes)


def optimizer(hp: HParams) -> keras.optimizers.Optimizer:
    kinds = {
        "rmsprop": keras.optimizers.RMSprop,
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "sgd": keras.optimizers.SGD,
    }
    return kinds[hp.optimizer](learning_rate=hp.learning_rate)


def loss(num_classes: int) -> str:
    """Binary cross-entropy on the sigmoid unit for two classes; sparse categorical cross-entropy (class ids as
    labels) on the softmax for more."""
    return "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"


def compile_model(model: keras.Model, hp: HParams, num_classes: int = 2) -> keras.Model:
    """Compiled with the loss for `num_classes`; the metric is named "accuracy" either way, so curves read alike."""
    model.compile(optimizer=optimizer(hp), loss=loss(num_classes), metrics=["accuracy"])
    return model


def summary_rows(model: keras.Model) -> list[dict[str, object]]:
    """Layers with output shapes, parameter counts and whether training changes them (frozen layers do not), for the
    Train page's 'before training' table."""
    rows = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        rows.append({
            "layer": layer.name,
            "type": type(layer).__name__,
            "output shape": str(tuple(shape.shape)) if shape is not None else "",
            "parameters": layer.count_params(),
            "trainable": layer.trainable,
        })
    return rows


def describe(hp: HParams, num_classes: int = 2) -> keras.Model | None:
    """A throwaway, never-trained copy of the architecture, for showing its layers before training.

    None for an architecture whose size depends on what fitting finds (the n-gram model).
    """
    if not architectures.get(hp.architecture).sized_before_fit:
        return None
    return build(hp, None, num_classes)

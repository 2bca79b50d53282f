"""Keras model definitions for each architecture; built, compiled and fitted in the thread that trains them."""
from __future__ import annotations

import keras
from keras import layers

from core import architectures
from core.features import Featurizer
from core.hparams import HParams


def _head(x, hp: HParams):
    """Hidden Dense relu layers (with optional dropout), then one sigmoid unit."""
    for n in range(1, hp.hidden_layers + 1):
        x = layers.Dense(hp.units, activation="relu", name=f"hidden_{n}")(x)
        if hp.dropout:
            x = layers.Dropout(hp.dropout, name=f"dropout_{n}")(x)
    return layers.Dense(1, activation="sigmoid", name="score")(x)


def multihot_mlp(hp: HParams, featurizer: Featurizer | None = None) -> keras.Model:
    inputs = keras.Input(shape=(hp.num_words,), name="multi_hot")
    return keras.Model(inputs, _head(inputs, hp), name="dlwp_mlp")


def embedding_flatten(hp: HParams, featurizer: Featurizer | None = None) -> keras.Model:
    inputs = keras.Input(shape=(hp.maxlen,), dtype="int32", name="ids")
    x = layers.Embedding(hp.num_words, hp.embedding_dim, name="embedding")(inputs)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _head(x, hp), name="embedding_flatten")


def lstm(hp: HParams, featurizer: Featurizer | None = None) -> keras.Model:
    inputs = keras.Input(shape=(hp.maxlen,), dtype="int32", name="ids")
    x = layers.Embedding(hp.num_words, hp.embedding_dim, name="embedding")(inputs)
    x = layers.LSTM(hp.units, dropout=hp.dropout, name="lstm")(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid", name="score")(x), name="lstm")


def pretrained_mean(hp: HParams, featurizer: Featurizer | None = None) -> keras.Model:
    """GloVe-initialised Embedding -> mean over the review's words (padding masked) -> Dense head.

    The start matrix comes from the fitted featuriser (`pretrained.VectorSequences`); without one (the Train
    page's layer table) the layer keeps Keras's random start, which has the same shape and parameter counts.
    """
    from core.pretrained import DIM

    inputs = keras.Input(shape=(hp.maxlen,), dtype="int32", name="ids")
    embedding = layers.Embedding(hp.num_words, DIM, mask_zero=True, trainable=hp.vectors != "frozen", name="embedding")
    x = layers.GlobalAveragePooling1D(name="mean")(embedding(inputs))
    model = keras.Model(inputs, _head(x, hp), name="pretrained_mean")
    start = getattr(featurizer, "start", None)
    if start is not None:
        embedding.set_weights([start])
    return model


def build(hp: HParams, featurizer: Featurizer | None) -> keras.Model:
    """The uncompiled model for `hp`; some architectures need their fitted featuriser. Seeding is the caller's job."""
    return architectures.get(hp.architecture).build(hp, featurizer)


def optimizer(hp: HParams) -> keras.optimizers.Optimizer:
    kinds = {
        "rmsprop": keras.optimizers.RMSprop,
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "sgd": keras.optimizers.SGD,
    }
    return kinds[hp.optimizer](learning_rate=hp.learning_rate)


def compile_model(model: keras.Model, hp: HParams) -> keras.Model:
    model.compile(optimizer=optimizer(hp), loss="binary_crossentropy", metrics=["accuracy"])
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


def describe(hp: HParams) -> keras.Model | None:
    """A throwaway, never-trained copy of the architecture, for showing its layers before training.

    None for an architecture whose size depends on what fitting finds (the n-gram model).
    """
    if not architectures.get(hp.architecture).sized_before_fit:
        return None
    return build(hp, None)

"""Each preset builds the architecture its reference describes: layer types, units and parameter counts."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from core import features, hparams, models


def _build(name: str, fit_on=None, **overrides) -> keras.Model:
    hp = hparams.make(name, **overrides)
    featurizer = features.for_hparams(hp)
    if fit_on is not None:
        featurizer.fit(fit_on.x, fit_on.y)
    return models.build(hp, featurizer)


def _layers(model: keras.Model) -> list[tuple[str, int | None, int]]:
    """(type, units or output dim, parameters) for every layer but the input."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        width = getattr(layer, "units", None) or getattr(layer, "output_dim", None)
        out.append((type(layer).__name__, width, layer.count_params()))
    return out


def test_dlwp_is_dense_16_16_1_over_10000_multi_hot_inputs():
    model = _build("dlwp")
    assert tuple(model.input_shape) == (None, 10_000)
    assert _layers(model) == [("Dense", 16, 160_016), ("Dense", 16, 272), ("Dense", 1, 17)]
    dense = [l for l in model.layers if isinstance(l, keras.layers.Dense)]
    assert [l.activation.__name__ for l in dense] == ["relu", "relu", "sigmoid"]
    assert model.count_params() == 160_016 + 272 + 17


def test_mslearn_is_embedding_flatten_dense_16_16_1():
    model = _build("mslearn")
    assert tuple(model.input_shape) == (None, 500)
    assert _layers(model) == [
        ("Embedding", 32, 10_000 * 32),
        ("Flatten", None, 0),
        ("Dense", 16, 500 * 32 * 16 + 16),
        ("Dense", 16, 272),
        ("Dense", 1, 17),
    ]
    embedding = next(l for l in model.layers if isinstance(l, keras.layers.Embedding))
    assert embedding.input_dim == 10_000
    assert tuple(model.output_shape) == (None, 1)


def test_lstm_is_embedding_5000_120_lstm_120_dense_1():
    model = _build("lstm")
    assert tuple(model.input_shape) == (None, 500)
    embedding, lstm, dense = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer)]
    assert isinstance(embedding, keras.layers.Embedding)
    assert (embedding.input_dim, embedding.output_dim, embedding.count_params()) == (5_000, 120, 600_000)
    assert isinstance(lstm, keras.layers.LSTM)
    assert (lstm.units, lstm.count_params()) == (120, 4 * (120 * 120 + 120 * 120 + 120))
    assert isinstance(dense, keras.layers.Dense)
    assert (dense.units, dense.count_params(), dense.activation.__name__) == (1, 121, "sigmoid")


def test_fast_builds_with_one_sigmoid_output(corpus):
    sample = corpus.train.take(np.arange(2_000))
    hp = hparams.make("fast", max_features=20_000)
    featurizer = features.for_hparams(hp)
    featurizer.fit(sample.x, sample.y)
    model = models.compile_model(models.build(hp, featurizer), hp)
    assert tuple(model.output_shape) == (None, 1)
    assert model.layers[-1].activation.__name__ == "sigmoid"
    scores = np.asarray(model.predict(featurizer.transform(sample.x.take(np.arange(8))), verbose=0))
    assert scores.shape == (8, 1)
    assert ((scores > 0) & (scores < 1)).all()


@pytest.mark.parametrize("layers_, units, dropout", [(0, 16, 0.0), (1, 64, 0.0), (3, 8, 0.5)])
def test_dense_head_follows_hidden_layers_units_and_dropout(layers_, units, dropout):
    model = _build("dlwp", hidden_layers=layers_, units=units, dropout=dropout)
    kinds = [t for t, _, _ in _layers(model)]
    assert kinds.count("Dense") == layers_ + 1
    assert kinds.count("Dropout") == (layers_ if dropout else 0)
    assert [w for t, w, _ in _layers(model) if t == "Dense"] == [units] * layers_ + [1]


@pytest.mark.parametrize("name, kind", [("rmsprop", "RMSprop"), ("adam", "Adam"), ("adamw", "AdamW"), ("sgd", "SGD")])
def test_optimizer_and_learning_rate(name, kind):
    hp = hparams.make("dlwp", optimizer=name, learning_rate=0.02)
    opt = models.optimizer(hp)
    assert type(opt).__name__ == kind
    assert float(keras.ops.convert_to_numpy(opt.learning_rate)) == pytest.approx(0.02)


def test_summary_rows_list_every_layer_with_parameters():
    rows = models.summary_rows(_build("dlwp"))
    dense = [r for r in rows if r["type"] == "Dense"]
    assert [r["parameters"] for r in dense] == [160_016, 272, 17]
    assert all({"layer", "type", "output shape", "parameters"} <= set(r) for r in rows)


def test_a_saved_dlwp_run_reloads_with_the_same_architecture(trained_run):
    from core import bundle

    loaded = bundle.load(trained_run.model_dir)
    assert loaded.hp == trained_run.live.hp
    assert loaded.featurizer.state() == {"kind": "multihot", "num_words": 10_000}
    assert _layers(loaded.model) == [("Dense", 16, 160_016), ("Dense", 16, 272), ("Dense", 1, 17)]
    assert loaded.vocabulary.size == 88_584

"""The `fast` preset's n-gram featuriser and model, on a few thousand real reviews."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import keras
import numpy as np
import pytest

from core import features, hparams
from core.data import imdb
from core.ngram_model import build_model
from core.ngrams import NGrams, _review_keys

N_TRAIN, N_TEST = 3000, 500


@pytest.fixture(scope="module")
def splits(corpus) -> tuple[imdb.Split, imdb.Split]:
    return corpus.train.take(np.arange(N_TRAIN)), corpus.test.take(np.arange(N_TEST))


@pytest.fixture(scope="module")
def fitted(splits) -> tuple[hparams.HParams, NGrams]:
    hp = hparams.make("fast", max_features=50_000, epochs=1)
    feat = features.for_hparams(hp)
    assert isinstance(feat, NGrams)
    feat.fit(splits[0].x, splits[0].y)
    return hp, feat


def test_features_come_from_training_reviews_only(splits, fitted) -> None:
    """Vocabulary = the most frequent training n-grams and r = their NB log-count ratios, checked by plain Python."""
    train, test = splits
    hp, feat = fitted
    df: dict[int, Counter] = {0: Counter(), 1: Counter()}
    for review, label in zip(train.x.to_lists(), train.y.tolist()):
        grams = {tuple(review[i : i + n]) for n in range(1, hp.ngrams + 1) for i in range(len(review) - n + 1)}
        df[label].update(grams)
    total = df[0] + df[1]
    grams = [tuple(feat.ngram(i)) for i in range(1, feat.n_features)]
    assert len(grams) == len(set(grams)) == 50_000 and all(g in total for g in grams)
    kept = set(grams)
    assert min(total[g] for g in grams) >= max(c for g, c in total.items() if g not in kept)
    pos = np.array([df[1][g] for g in grams]) + 1.0
    neg = np.array([df[0][g] for g in grams]) + 1.0
    expected = np.log(pos / pos.sum()) - np.log(neg / neg.sum())
    np.testing.assert_allclose(feat.ratios[1:], expected, rtol=1e-5, atol=1e-5)
    assert feat.ratios[0] == 0.0
    # test reviews only map onto those training features
    _, test_keys = _review_keys(test.x, hp.num_words, hp.ngrams)
    x_test = feat.transform(test.x)
    assert x_test.shape == (N_TEST, feat.width) and x_test.dtype == np.int32
    assert np.isin(feat.keys[x_test[x_test > 0] - 1], test_keys).all()


def test_state_and_arrays_round_trip(tmp_path, splits, fitted) -> None:
    _, test = splits
    _, feat = fitted
    (tmp_path / "state.json").write_text(json.dumps(feat.state()))
    np.savez(tmp_path / "arrays.npz", **feat.arrays())
    with np.load(tmp_path / "arrays.npz") as arrays:
        back = features.from_state(json.loads((tmp_path / "state.json").read_text()), dict(arrays))
    np.testing.assert_array_equal(back.transform(test.x), feat.transform(test.x))
    ids = test.x[0].tolist()
    assert back.describe(ids) == feat.describe(ids)
    described = feat.describe(ids)
    assert 0 < len(described.input_ids) == len(described.ngrams) <= described.slots == feat.width
    assert described.known == 50_000
    assert described.input_ids == [i for i in feat.transform(test.x)[0].tolist() if i]


def test_saved_model_predicts_the_same(tmp_path, splits, fitted) -> None:
    train, test = splits
    hp, feat = fitted
    hp = replace(hp, dropout=0.2)
    keras.utils.set_random_seed(hp.seed)
    model = build_model(hp, feat)
    optimizer = keras.optimizers.get({"class_name": hp.optimizer, "config": {"learning_rate": hp.learning_rate}})
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    x_val = feat.transform(test.x)
    history = model.fit(feat.transform(train.x), train.y, batch_size=hp.batch_size, epochs=hp.epochs,
                        validation_data=(x_val, test.y), verbose=0)
    assert history.history["val_accuracy"][-1] > 0.7
    path = tmp_path / "model.keras"
    keras.saving.save_model(model, path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x_val, verbose=0), model.predict(x_val, verbose=0), rtol=1e-6, atol=1e-6)


def test_the_training_matrix_built_by_fit_is_what_transform_computes(splits) -> None:
    """fit builds the training reviews' matrix on the way and hands it to the first transform of those reviews."""
    train, test = splits
    feat = features.for_hparams(hparams.make("fast", max_features=20_000))
    feat.fit(train.x, train.y)
    from_fit = feat.transform(train.x)
    fresh = NGrams.from_state(feat.state(), feat.arrays())
    np.testing.assert_array_equal(from_fit, fresh.transform(train.x))
    np.testing.assert_array_equal(feat.transform(train.x), from_fit)  # handed out once, then computed again
    np.testing.assert_array_equal(feat.transform(test.x), fresh.transform(test.x))


def test_featurising_and_the_runner_do_not_load_tensorflow() -> None:
    """TensorFlow takes seconds to load: the CLI loads it while the run reads and featurises the data, which only
    overlaps if neither the runner module nor the featuriser imports it."""
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, core.runner, core.ngrams, core.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"

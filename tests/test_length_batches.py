"""Batches of similar-length rows cut to their longest row: the `fast` preset's fit and test scoring."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from core import features, hparams
from core.length_batches import GROUP, LengthBatches, predict_trimmed, trims_padding
from core.models import build, compile_model

N_TRAIN, N_TEST = 3000, 700


@pytest.fixture(scope="module")
def featurised(corpus):
    hp = hparams.make("fast", max_features=50_000, epochs=1, batch_size=128)
    feat = features.for_hparams(hp)
    train, test = corpus.train.take(np.arange(N_TRAIN)), corpus.test.take(np.arange(N_TEST))
    feat.fit(train.x, train.y)
    return hp, feat, feat.transform(train.x), train.y, feat.transform(test.x), test.y


def test_only_left_filled_rows_are_trimmed(featurised) -> None:
    hp, feat, *_ = featurised
    assert trims_padding(feat)
    assert not trims_padding(features.for_hparams(hparams.make("mslearn")))  # padded in front: never cut


def test_each_epoch_sees_every_row_once_in_batches_cut_to_their_longest_row(featurised) -> None:
    hp, feat, x, y, *_ = featurised
    lengths = np.count_nonzero(x, axis=1)
    batches, twin = LengthBatches(x, y, hp.batch_size, seed=hp.seed), LengthBatches(x, y, hp.batch_size, seed=hp.seed)
    dataset, orders, widths = batches.dataset(), [], []
    for _ in range(2):  # each pass over the data set is an epoch, with batches drawn afresh
        drawn = twin.draw()  # the same seed draws the same batches
        got = list(dataset.as_numpy_iterator())
        assert len(got) == len(drawn) == -(-len(x) // hp.batch_size)
        rows = np.concatenate(drawn)
        assert np.array_equal(np.sort(rows), np.arange(len(x)))
        for part, (bx, by) in zip(drawn, got):
            assert bx.shape[1] == lengths[part].max() <= feat.width  # cut to its longest row, no feature lost
            np.testing.assert_array_equal(bx, x[part, : bx.shape[1]])
            np.testing.assert_array_equal(by, y[part])
            np.testing.assert_array_equal(x[part, bx.shape[1]:], 0)
            widths.append(bx.shape[1])
        orders.append(rows)
    assert not np.array_equal(*orders)  # a new order each epoch
    # a group of GROUP batches is sorted by length, so the average batch is far narrower than the rows
    assert np.mean(widths) < 0.8 * feat.width and GROUP > 1


def test_trimmed_scores_are_the_full_rows_scores_in_row_order(featurised) -> None:
    hp, feat, x, y, x_test, y_test = featurised
    keras.utils.set_random_seed(hp.seed)
    model = compile_model(build(hp, feat, 2), hp, 2)
    model.fit(LengthBatches(x, y, hp.batch_size, seed=hp.seed).dataset(), epochs=1, verbose=0, shuffle=False)
    full = model.predict(x_test, verbose=0).reshape(-1)
    trimmed = predict_trimmed(model, x_test, 256)
    assert trimmed.shape == (N_TEST,)
    np.testing.assert_allclose(trimmed, full, rtol=1e-5, atol=1e-6)
    assert np.mean((trimmed > 0.5) == y_test) > 0.75  # it learned from the trimmed batches


def test_batches_of_equal_width_first_do_not_fix_the_width_of_the_rest(featurised) -> None:
    """Keras infers a data set's shapes from its first two batches; two as wide as each other must not make a
    wider batch after them fail."""
    hp, feat, x, y, x_test, y_test = featurised
    keras.utils.set_random_seed(hp.seed)
    model = compile_model(build(hp, feat, 2), hp, 2)
    rows = x_test[:600].copy()
    rows[:512, 5:] = 0  # the two shortest batches of 256 are 5 wide, the third is wider
    full = model.predict(rows, verbose=0).reshape(-1)
    np.testing.assert_allclose(predict_trimmed(model, rows, 256), full, rtol=1e-5, atol=1e-6)
    history = model.fit(LengthBatches(x[:1000], y[:1000], 256, seed=hp.seed).dataset(), epochs=2, verbose=0, shuffle=False,
                        validation_data=LengthBatches(rows, y_test[:600], 256).dataset())
    assert len(history.history["val_loss"]) == 2

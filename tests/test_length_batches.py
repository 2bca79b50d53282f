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
    batches = LengthBatches(x, y, hp.batch_size, seed=hp.seed)
    orders = []
    for _ in range(2):
        batches.on_epoch_begin()
        got = [batches[i] for i in range(len(batches))]
        rows = batches.order()
        assert np.array_equal(np.sort(rows), np.arange(len(x)))
        assert len(batches) == -(-len(x) // hp.batch_size)
        start = 0
        for bx, by in got:
            part = rows[start : start + len(bx)]
            start += len(bx)
            assert bx.shape[1] == lengths[part].max() <= feat.width  # cut to its longest row, no feature lost
            np.testing.assert_array_equal(bx, x[part, : bx.shape[1]])
            np.testing.assert_array_equal(by, y[part])
            np.testing.assert_array_equal(x[part, bx.shape[1]:], 0)
        orders.append(rows)
    assert not np.array_equal(*orders)  # a new order each epoch
    again = LengthBatches(x, y, hp.batch_size, seed=hp.seed)
    again.on_epoch_begin()
    assert np.array_equal(again.order(), orders[0])  # the same seed, the same batches
    # a group of GROUP batches is sorted by length, so the average batch is far narrower than the rows
    width = np.mean([batches[i][0].shape[1] for i in range(len(batches))])
    assert width < 0.8 * feat.width and GROUP > 1


def test_trimmed_scores_are_the_full_rows_scores_in_row_order(featurised) -> None:
    hp, feat, x, y, x_test, y_test = featurised
    keras.utils.set_random_seed(hp.seed)
    model = compile_model(build(hp, feat, 2), hp, 2)
    model.fit(LengthBatches(x, y, hp.batch_size, seed=hp.seed), epochs=1, verbose=0, shuffle=False)
    full = model.predict(x_test, verbose=0).reshape(-1)
    trimmed = predict_trimmed(model, x_test, 256)
    assert trimmed.shape == (N_TEST,)
    np.testing.assert_allclose(trimmed, full, rtol=1e-5, atol=1e-6)
    assert np.mean((trimmed > 0.5) == y_test) > 0.75  # it learned from the trimmed batches

"""Data prepared once per configuration and shared read-only by the runs that train on it (`core.prepared`), within
the bounded cache of `core.registry`."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import short_test_split
from core import bundle, hparams, prepared, registry, training

TINY = dict(limit=1500, val_size=500, epochs=1, num_words=2000)


def test_the_bounded_cache_keeps_the_newest_use_within_its_budget_and_never_an_object_over_it():
    built = []

    def make(name: str, size: int):
        built.append(name)
        return bytearray(size)

    keys = [("bounded-test", n) for n in range(4)]
    try:
        a = registry.bounded(keys[0], lambda: make("a", 40), len, budget=100)
        registry.bounded(keys[1], lambda: make("b", 40), len, budget=100)
        assert registry.bounded(keys[0], lambda: make("again", 40), len, budget=100) is a  # a is the newest use now
        registry.bounded(keys[2], lambda: make("c", 40), len, budget=100)  # b, the least recently used, goes
        assert registry.has(keys[0]) and registry.has(keys[2]) and not registry.has(keys[1])
        big = registry.bounded(keys[3], lambda: make("big", 101), len, budget=100)
        assert len(big) == 101 and not registry.has(keys[3]), "an object over the budget is built, not kept"
        assert built == ["a", "b", "c", "big"]
    finally:
        for key in keys:
            registry.forget(key)


def test_a_configuration_is_prepared_once_read_only_and_another_split_gets_its_own():
    dataset = short_test_split(300)("imdb")
    hp = hparams.make("dlwp", **TINY)
    registry.forget(prepared.key(hp, dataset))
    first = prepared.for_run(hp, dataset)
    assert prepared.for_run(hparams.make("dlwp", **TINY, seed=7, units=8), dataset) is first, \
        "a different seed or model shares the data"
    assert first.x_train.shape == (1500, 2000) and first.x_val.shape == (500, 2000) and first.x_test.shape[0] == 300
    for array in (first.x_train, first.y_train, first.x_val, first.y_val, first.x_test):
        assert not array.flags.writeable
    with pytest.raises(ValueError):
        first.x_train[0, 0] = 1
    other = prepared.for_run(hparams.make("dlwp", **{**TINY, "val_size": 400}), dataset)
    assert other is not first and other.x_val.shape == (400, 2000)
    assert prepared.for_run(hp, short_test_split(200)("imdb")).x_test.shape[0] == 200


@pytest.mark.parametrize("preset", ["dlwp", "fast"])
def test_runs_sharing_prepared_data_train_what_they_train_alone(preset, tmp_path):
    """The second run of a configuration finds its data prepared and reaches the same model as the first."""
    dataset = short_test_split(300)("imdb")
    hp = hparams.make(preset, **{**TINY, "num_words": TINY["num_words"] if preset == "dlwp" else 88588,
                                 **({"max_features": 20_000} if preset == "fast" else {})})
    registry.forget(prepared.key(hp, dataset))
    alone = training.train(hp, dataset, ("a fine film",), tmp_path / "alone")
    assert registry.has(prepared.key(hp, dataset))
    shared = training.train(hp, dataset, ("a fine film",), tmp_path / "shared")
    assert shared.test_accuracy == alone.test_accuracy and shared.test_loss == alone.test_loss
    assert [h["loss"] for h in shared.history] == [h["loss"] for h in alone.history]
    assert np.array_equal(np.load(tmp_path / "alone" / bundle.TEST_SCORES),
                          np.load(tmp_path / "shared" / bundle.TEST_SCORES))

"""The disk cache of featurised reviews (core.feature_cache): a second featurising of the same settings and data reads
the first one's result back, anything else misses, and a damaged or crafted entry is never used."""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core import feature_cache, hparams
from core.feature_cache import KEEP, SUFFIX
from core.store import RunStore


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A server's lab home: one with a run database."""
    RunStore(tmp_path / "lab")
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    return tmp_path / "lab"


@pytest.fixture(scope="module")
def splits(corpus):
    return (corpus.train.take(np.arange(300, 1100)), corpus.train.take(np.arange(300)),
            corpus.test.take(np.arange(400)))


HP = hparams.make("fast", max_features=20_000)


def entries(home: Path) -> list[Path]:
    return sorted((home / "cache" / "features").glob(f"*{SUFFIX}"))


def featurise_done(hp, *splits) -> feature_cache.Featurised:
    """Featurise, and wait for the background part (the test reviews, and writing the entry)."""
    done = feature_cache.featurise(hp, *splits)
    feature_cache.finished(done.x_test)
    return done


def same(a: feature_cache.Featurised, b: feature_cache.Featurised) -> bool:
    return (a.featurizer.state() == b.featurizer.state()
            and all(np.array_equal(x, y) for x, y in zip(a.featurizer.arrays().values(), b.featurizer.arrays().values()))
            and all(np.array_equal(feature_cache.finished(x), feature_cache.finished(y)) for x, y in zip(a[1:4], b[1:4])))


def test_the_second_featurising_reads_the_first_back(home: Path, splits) -> None:
    first = feature_cache.featurise(HP, *splits)
    assert not first.from_cache
    assert feature_cache.finished(first.x_test).shape == (400, first.featurizer.width)  # featurised in the background
    assert len(entries(home)) == 1, "written before the test reviews are handed over"
    second = featurise_done(HP, *splits)
    assert second.from_cache and same(first, second)
    assert second.x_test.shape == (400, second.featurizer.width) and second.x_test.any()
    review = splits[2].x[5].tolist()
    assert second.featurizer.describe(review) == first.featurizer.describe(review), "explanations are unchanged"


def test_other_settings_or_data_miss(home: Path, splits) -> None:
    train, val, test = splits
    featurise_done(HP, *splits)
    assert not featurise_done(hparams.make("fast", max_features=10_000), *splits).from_cache
    relabelled = type(train)(train.x, 1 - train.y)
    assert not featurise_done(HP, relabelled, val, test).from_cache
    assert not featurise_done(HP, train, val, test.take(np.arange(399))).from_cache
    assert len(entries(home)) == KEEP, "only the newest entries are kept"


def test_the_other_featurisers_are_not_cached(home: Path, splits) -> None:
    done = featurise_done(hparams.make("dlwp"), *splits)
    assert done.x_test is None and not done.from_cache and not entries(home)


@pytest.mark.parametrize("damage", ["cut", "garbage", "pickle", "ids out of range"])
def test_a_damaged_or_crafted_entry_is_ignored_and_written_again(damage: str, home: Path, splits) -> None:
    first = featurise_done(HP, *splits)
    (path,) = entries(home)
    if damage == "cut":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 1000)
    else:
        with np.load(path) as stored:
            arrays = dict(stored)
        if damage == "pickle":  # an object array: loading it would unpickle
            arrays["train_values"] = np.array([pickle.dumps("boom")], dtype=object)
        else:
            arrays["test_values"] = arrays["test_values"] + 10 ** 9
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    again = featurise_done(HP, *splits)
    assert not again.from_cache and same(first, again)
    assert featurise_done(HP, *splits).from_cache, "the entry was written again"
    with zipfile.ZipFile(entries(home)[0]) as archive:
        assert archive.testzip() is None


def test_a_home_without_runs_gets_no_cache_and_is_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               splits) -> None:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "worker-home"))  # as on a cluster worker
    assert not featurise_done(HP, *splits).from_cache
    assert not featurise_done(HP, *splits).from_cache
    assert not (tmp_path / "worker-home").exists()


def test_an_unwritable_lab_home_only_costs_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, splits) -> None:
    home = tmp_path / "lab"
    RunStore(home)
    (home / "cache").write_text("a file where the cache folder would go")
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(home))
    assert not featurise_done(HP, *splits).from_cache
    assert (home / "cache").read_text() == "a file where the cache folder would go"


def test_a_retrained_fast_run_reads_its_features_back_with_the_same_result(train_run, lab_home: Path) -> None:
    first = train_run("fast", limit=1100, val_size=300, epochs=1, test_reviews=1000)
    written = {p: p.stat().st_ino for p in (lab_home / "cache" / "features").glob(f"*{SUFFIX}")}
    second = train_run("fast", limit=1100, val_size=300, epochs=1, test_reviews=1000)
    assert written and second.test_accuracy == first.test_accuracy
    assert {p: p.stat().st_ino for p in (lab_home / "cache" / "features").glob(f"*{SUFFIX}")} == written, \
        "read back, not featurised and written again"

"""Loading IMDB from IMDB_DATA_DIR with the semantics of keras.datasets.imdb.load_data, on the real data."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core import features
from core.data import imdb
from core.data.imdb import OOV, START, Ragged
from core.errors import DataError

NUM_WORDS = 10_000


# --- where the data comes from, and how much of it there is ------------------------------------------------------
def test_loading_from_the_folder_reports_source_folder(corpus, data_dir):
    assert corpus.source.kind == "folder"
    assert Path(corpus.source.location) == data_dir
    assert "IMDB_DATA_DIR" in corpus.source.describe()


def test_counts_and_balanced_labels(corpus):
    assert len(corpus.train) == 25_000
    assert len(corpus.test) == 25_000
    for split in (corpus.train, corpus.test):
        assert set(np.unique(split.y)) == {0, 1}
        assert int(split.y.sum()) == 12_500


def test_every_review_starts_with_the_start_char_and_uses_index_from(corpus):
    for split in (corpus.train, corpus.test):
        x = split.x
        assert (x.lengths >= 2).all()
        assert (x.ids[x.offsets[:-1]] == START).all()
        body = np.ones(len(x.ids), dtype=bool)
        body[x.offsets[:-1]] = False
        # words absent from the index were dropped when the file was built, so no unknown ids with the full vocabulary
        assert x.ids[body].min() >= 4
        assert x.ids.max() <= 88_584 + 3


def test_word_index_is_the_keras_one():
    index, source = imdb.load_word_index()
    assert source.kind == "folder"
    assert len(index) == 88_584
    assert index["the"] == 1
    assert sorted(index.values())[:3] == [1, 2, 3]


# --- load_data against Keras's own implementation -------------------------------------------------------------------
@pytest.fixture(scope="module")
def ours_10k():
    return imdb.load_data(num_words=NUM_WORDS)


@pytest.fixture(scope="module")
def keras_load_data(data_dir):
    """keras.datasets.imdb.load_data reading the local imdb.npz (only Keras's downloader is bypassed)."""
    import keras.src.datasets.imdb as keras_imdb

    mp = pytest.MonkeyPatch()
    mp.setattr(keras_imdb, "get_file", lambda *args, **kwargs: str(data_dir / "imdb.npz"))
    yield keras_imdb.load_data
    mp.undo()


def _same(ours, theirs) -> None:
    (xa, ya), (xb, yb) = ours
    (xA, yA), (xB, yB) = theirs
    assert len(xa) == len(xA) and len(xb) == len(xB)
    assert np.array_equal(ya, yA) and np.array_equal(yb, yB)
    assert all(a == b for a, b in zip(xa, xA))
    assert all(a == b for a, b in zip(xb, xB))


def test_load_data_equals_keras_load_data(ours_10k, keras_load_data):
    _same(ours_10k, keras_load_data(num_words=NUM_WORDS))


@pytest.mark.slow  # load_data's options; its plain call is compared with Keras's in the quick tier
def test_load_data_with_maxlen_and_skip_top_equals_keras(keras_load_data):
    kwargs = dict(num_words=5_000, maxlen=300, skip_top=20)
    _same(imdb.load_data(**kwargs), keras_load_data(**kwargs))


def test_load_data_num_words_semantics(ours_10k):
    (x_train, y_train), (x_test, y_test) = ours_10k
    assert len(x_train) == len(x_test) == 25_000
    assert all(x[0] == START for x in x_train[:500])
    flat = np.concatenate([np.asarray(x) for x in x_train])
    assert flat.max() < NUM_WORDS
    assert (flat == OOV).any(), "words beyond num_words must become the oov char 2"
    assert flat.min() >= 1


def test_load_corpus_uses_the_same_shuffle_as_load_data(corpus, ours_10k):
    (x_train, y_train), (x_test, y_test) = ours_10k
    for split, xs, ys in ((corpus.train, x_train, y_train), (corpus.test, x_test, y_test)):
        assert np.array_equal(split.y, ys)
        assert np.array_equal(split.x.lengths, [len(x) for x in xs])
        flat = np.concatenate([np.asarray(x, dtype=np.int32) for x in xs])
        assert np.array_equal(features.clip_vocabulary(split.x.ids, NUM_WORDS), flat)


def test_maxlen_keeps_only_shorter_reviews(corpus):
    maxlen = 200
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=NUM_WORDS, maxlen=maxlen)
    assert all(len(x) < maxlen for x in x_train)
    assert all(len(x) < maxlen for x in x_test)
    keep = corpus.train.x.lengths < maxlen
    assert len(x_train) == int(keep.sum())
    assert np.array_equal(y_train, corpus.train.y[keep])
    assert len(x_test) == int((corpus.test.x.lengths < maxlen).sum())


def test_maxlen_that_keeps_nothing_is_refused():
    with pytest.raises(DataError, match="maxlen=2"):
        imdb.load_data(maxlen=2)


# --- validation comes from the training split only ------------------------------------------------------------------
def test_validation_is_carved_from_training_reviews_only(corpus):
    n = len(corpus.train)
    train_idx, val_idx = imdb.train_val_indices(n, 10_000, None)
    assert np.array_equal(val_idx, np.arange(10_000))  # DLWP: the first 10,000 training reviews
    assert len(train_idx) == 15_000
    assert not set(train_idx.tolist()) & set(val_idx.tolist())
    assert max(train_idx.max(), val_idx.max()) < n  # indices into corpus.train: test reviews are never used

    limited, val = imdb.train_val_indices(n, 500, 2000)
    assert len(limited) == 2000 and len(val) == 500
    assert not set(limited.tolist()) & set(val.tolist())


@pytest.mark.parametrize("val_size", [0, 25_000, -1])
def test_impossible_validation_size_is_refused(val_size):
    with pytest.raises(DataError, match="Validation size"):
        imdb.train_val_indices(25_000, val_size, None)


# --- vectorisers on real reviews -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample(corpus) -> Ragged:
    return corpus.train.x.take(np.arange(400))


@pytest.mark.parametrize("maxlen", [20, 200, 2600])
@pytest.mark.parametrize("num_words", [None, NUM_WORDS])
def test_pad_equals_keras_pad_sequences(sample, maxlen, num_words):
    from keras.utils import pad_sequences

    seqs = [features.clip_vocabulary(s, num_words).tolist() if num_words else s.tolist() for s in
            (sample[i] for i in range(len(sample)))]
    expected = pad_sequences(seqs, maxlen=maxlen, padding="pre", truncating="pre", value=0)
    ours = features.pad(sample, maxlen, num_words)
    assert ours.shape == (len(sample), maxlen)
    assert np.array_equal(ours, expected)


def test_multi_hot_rows_mark_exactly_the_ids_of_each_review(sample):
    rows = features.multi_hot(sample, NUM_WORDS)
    assert rows.shape == (len(sample), NUM_WORDS)
    assert set(np.unique(rows)) == {0.0, 1.0}
    for i in range(len(sample)):
        expected = set(features.clip_vocabulary(sample[i], NUM_WORDS).tolist())
        assert set(np.flatnonzero(rows[i]).tolist()) == expected
    assert (rows[:, 1] == 1).all()  # every review has the start char
    assert rows[:, 0].sum() == 0  # padding never appears


def test_ragged_take_matches_the_reviews(corpus):
    idx = np.array([5, 0, 24_999, 5])
    taken = corpus.test.take(idx)
    for j, i in enumerate(idx):
        assert np.array_equal(taken.x[j], corpus.test.x[i])
        assert taken.y[j] == corpus.test.y[i]


# --- a missing or broken data folder ----------------------------------------------------------------------------------
def test_missing_data_folder_is_a_data_error(tmp_path, monkeypatch):
    monkeypatch.setenv("IMDB_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="IMDB_DATA_DIR") as info:
        imdb.raw_arrays()
    assert "imdb.npz" in str(info.value)


def test_corrupt_npz_is_a_data_error(tmp_path, monkeypatch, data_dir):
    (tmp_path / "imdb.npz").write_bytes(os.urandom(2048))
    (tmp_path / "imdb_word_index.json").symlink_to(data_dir / "imdb_word_index.json")
    monkeypatch.setenv("IMDB_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="corrupt"):
        imdb.load_corpus()


def test_npz_without_the_imdb_arrays_is_a_data_error(tmp_path, monkeypatch):
    np.savez(tmp_path / "imdb.npz", something=np.arange(3))
    monkeypatch.setenv("IMDB_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="x_train"):
        imdb.raw_arrays()


def test_corrupt_word_index_is_a_data_error(tmp_path, monkeypatch):
    (tmp_path / "imdb_word_index.json").write_text("{not json")
    monkeypatch.setenv("IMDB_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="corrupt"):
        imdb.load_word_index()

"""The n-gram featuriser and model with 3 classes, on the real airline tweets (negative, neutral, positive):
naive-Bayes ratios one class against the rest, k logits and a softmax; the binary form is left as it was."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import DATA_DIR
from core import features, hparams
from core.data import datasets
from core.ngram_model import build_model
from core.ngrams import NGrams

TWEETS = DATA_DIR / "text" / "Tweets.csv"


@pytest.fixture(scope="module")
def tweets(tmp_path_factory: pytest.TempPathFactory):
    """The airline tweets imported with the lab's defaults (stratified 80/20) into a lab home of their own."""
    if not TWEETS.is_file():
        pytest.skip(f"{TWEETS} is not there")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SENTIMENT_LAB_HOME", str(tmp_path_factory.mktemp("tweets-home")))
        datasets.add(TWEETS, name="tweets")
        return datasets.load("tweets")


@pytest.fixture(scope="module")
def fitted(tweets) -> tuple[hparams.HParams, NGrams]:
    hp = hparams.make("fast", ngrams=2, max_features=30_000)
    feat = features.for_hparams(hp)
    feat.fit(tweets.corpus.train.x, tweets.corpus.train.y)
    return hp, feat


def test_each_class_gets_its_ratios_against_the_rest(tweets, fitted) -> None:
    hp, feat = fitted
    train = tweets.corpus.train
    assert tweets.info.num_classes == 3 and feat.num_classes == 3
    assert feat.ratios.shape == (3, feat.n_features) and not feat.ratios[:, 0].any()
    df: dict[int, Counter] = {c: Counter() for c in range(3)}
    for review, label in zip(train.x.to_lists(), train.y.tolist()):
        df[label].update({tuple(review[i : i + n]) for n in (1, 2) for i in range(len(review) - n + 1)})
    grams = [tuple(feat.ngram(i)) for i in range(1, feat.n_features)]
    for c in range(3):
        inside = np.array([df[c][g] for g in grams]) + 1.0
        outside = np.array([sum(df[o][g] for o in range(3) if o != c) for g in grams]) + 1.0
        expected = np.log(inside / inside.sum()) - np.log(outside / outside.sum())
        np.testing.assert_allclose(feat.ratios[c, 1:], expected, rtol=1e-4, atol=1e-4)


def test_a_small_model_fits_the_tweets_and_beats_the_majority_class(tweets, fitted) -> None:
    hp, feat = fitted
    train, test = tweets.corpus.train, tweets.corpus.test
    keras.utils.set_random_seed(0)
    model = build_model(hp, feat, num_classes=3)
    model.compile(optimizer=keras.optimizers.RMSprop(0.005), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(feat.transform(train.x), train.y, batch_size=256, epochs=4, verbose=0)
    p = np.asarray(model.predict(feat.transform(test.x), verbose=0))
    assert p.shape == (len(test), 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float((p.argmax(axis=1) == test.y).mean())
    majority = np.bincount(test.y).max() / len(test)
    assert accuracy > majority + 0.1, (accuracy, majority)
    assert {int(c) for c in np.unique(p.argmax(axis=1))} == {0, 1, 2}, "every class gets predicted"


def test_the_three_class_model_and_featuriser_save_and_load(tmp_path: Path, tweets, fitted) -> None:
    hp, feat = fitted
    model = build_model(hp, feat, num_classes=3)
    x = feat.transform(tweets.corpus.test.x.take(np.arange(50)))
    model.save(tmp_path / "model.keras")
    again = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(np.asarray(again.predict(x, verbose=0)), np.asarray(model.predict(x, verbose=0)))
    restored = features.from_state(feat.state(), feat.arrays())
    np.testing.assert_array_equal(restored.ratios, feat.ratios)
    assert np.array_equal(restored.transform(tweets.corpus.test.x), feat.transform(tweets.corpus.test.x))


def test_describe_lists_a_tweets_features_with_the_ratio_of_its_strongest_class(tweets, fitted) -> None:
    _, feat = fitted
    ids = tweets.vocabulary.encode("@united thanks for the great flight, love it", feat.num_words)
    seen = feat.describe(ids)
    assert seen.input_ids and len(seen.ratios) == len(seen.input_ids)
    columns = feat.ratios[:, seen.input_ids]
    assert np.allclose(np.abs(seen.ratios), np.abs(columns).max(axis=0))
    strengths = np.abs(seen.ratios)
    assert (strengths[:-1] >= strengths[1:] - 1e-6).all(), "strongest first"
    assert any("thanks" in " ".join(tweets.vocabulary.id_to_word(i) for i in g) for g in seen.ngrams)


def test_the_class_count_must_match_the_featuriser(tweets, fitted, corpus) -> None:
    hp, feat = fitted
    with pytest.raises(ValueError, match="fitted on 3 classes, not 2"):
        build_model(hp, feat)
    binary = features.for_hparams(hp)
    binary.fit(corpus.train.x.take(np.arange(500)), corpus.train.y[:500])
    assert binary.ratios.ndim == 1 and binary.num_classes == 2
    model = build_model(hp, binary)
    assert model.output_shape == (None, 1) and model.get_layer("nb_dot").w.shape == (binary.n_features,)

"""Small and short labelled text (issue 20): presets fitted to the data set's size and text length learn on a few
hundred real sentences, training says why it stopped, and too few examples per class are said at import and on
Train, with the number.

Real data: the UCI Amazon sentences of ../shared/data/text (800 training and 200 test sentences), trained with each
preset's fitted settings through the real runner (seconds each: the texts are short).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA_DIR
from core import evaluation, hparams
from core.data import datasets
from pagetest import ok, open_page

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_small_data import reshuffled  # noqa: E402  (the benchmark's other splits)

AMAZON = DATA_DIR / "text" / "amazon_cells_labelled.txt"


def test_presets_fitted_to_short_sentences(amazon_dataset) -> None:
    """Sequence length from the sentences' own lengths, early stopping on every preset, an epoch budget by steps,
    and a validation share that leaves most of 800 sentences to learn from; IMDB's presets unchanged."""
    sizes = hparams.sizes_of(amazon_dataset.name)
    assert 10 <= sizes.words_p95 <= 40  # the 95th percentile of a product sentence, not IMDB's 500
    for name, preset in hparams.PRESETS.items():
        fitted = hparams.make(name, dataset=amazon_dataset.name)
        assert fitted.maxlen == max(10, sizes.words_p95), name
        assert fitted.patience, name
        assert fitted.val_size == 120 and fitted.train_reviews() == 680, name
        steps = math.ceil(fitted.train_reviews() / fitted.batch_size)
        assert fitted.epochs * steps >= min(hparams.STEP_BUDGET, 100 * steps), name
        assert fitted.num_words <= amazon_dataset.max_id + 1, name
        assert hparams.for_dataset(preset, hparams.IMDB_SIZES) == preset, name
    lstm = hparams.make("lstm", dataset=amazon_dataset.name)
    assert lstm.embedding_dim == 50 and lstm.units == 16  # a small set's lstm, on GloVe's vectors
    assert hparams.make("mslearn", dataset=amazon_dataset.name).pooling == "max"  # not Flatten over positions
    assert hparams.make("transfer", dataset=amazon_dataset.name).pooling == "mean+max"
    assert lstm.pooling == "glove"  # the LSTM starts from GloVe and skips the padding
    assert all(preset.pooling is None for preset in hparams.PRESETS.values())  # IMDB's: the notebooks' own


def test_fitted_pooling_is_in_the_model_and_said_on_train(amazon_dataset) -> None:
    """A small set's mslearn reads a max over its words instead of Flatten, its transfer the mean and the max, its
    lstm starts from GloVe and skips the padding; the layer table shows it and the Train page says what changed from the
    notebook."""
    from core import models

    layers = {name: [layer.name for layer in models.describe(hparams.make(name, dataset=amazon_dataset.name)).layers]
              for name in ("mslearn", "transfer")}
    assert {"max", "dropout_pooled"} <= set(layers["mslearn"]) and "flatten" not in layers["mslearn"]
    assert {"mean", "max", "mean_max"} <= set(layers["transfer"])
    assert hparams.make("lstm", dataset=amazon_dataset.name).pooling == "glove"
    assert "flatten" in [layer.name for layer in models.describe(hparams.preset("mslearn")).layers]  # IMDB's
    at = open_page("pages/train.py", dataset=amazon_dataset.name, preset="mslearn")
    assert any(hparams.POOLING_NOTES["max"] in c.value for c in at.caption)
    assert not any("Fitted to this data set" in c.value for c in open_page("pages/train.py", preset="mslearn").caption)


def test_a_small_sets_lstm_starts_its_words_from_glove(amazon_dataset) -> None:
    """Each word GloVe knows starts from its vector (at LSTM_SPREAD times the transfer preset's scale), the others
    as Keras starts them; the Train page's coverage note comes with it. IMDB's lstm reads no GloVe."""
    import numpy as np

    from core import architectures, features, models, pretrained

    dataset = datasets.load(amazon_dataset.name)
    hp = hparams.make("lstm", dataset=amazon_dataset.name)
    featurizer = features.for_hparams(hp)
    featurizer.fit(dataset.corpus.train.x, dataset.corpus.train.y)
    start = np.asarray(models.build(hp, featurizer).get_layer("embedding").get_weights()[0])
    rows = pretrained.dataset_rows(dataset.vocabulary, hp.num_words)
    found = ~np.isnan(rows[:, 0])
    assert found[4:].mean() > 0.8  # English product sentences: most words are in GloVe
    np.testing.assert_allclose(start[found], rows[found] * pretrained.scale(rows) * pretrained.LSTM_SPREAD, rtol=1e-5)
    assert np.abs(start[~found]).max() <= pretrained.FRESH_LIMIT
    notes = architectures.get("lstm").preflight(hp)
    assert "start from their GloVe vector" in notes[0][1]
    assert architectures.get("lstm").preflight(hparams.preset("lstm")) == []
    assert type(features.for_hparams(hparams.preset("lstm"))) is features.Sequences
    # the Pretrained page's neighbours start from a word the run has a vector for: "boring" is not a phone review's
    word = pretrained.example_word(dataset.vocabulary, hp.num_words)
    assert "boring" not in dataset.vocabulary.word_to_rank and word == "phone"
    assert not pretrained.compare(word, dataset.vocabulary, hp.num_words).problem


def majority_and_noise(name: str) -> tuple[float, float]:
    """The majority class's share of a data set's test split, and three standard errors of a coin of that share on
    as many texts: a model that learned beats the share by more than the noise."""
    test = datasets.load(name).corpus.test
    majority = max(test.y.mean(), 1 - test.y.mean())
    return majority, 3 * math.sqrt(majority * (1 - majority) / len(test))


@pytest.mark.parametrize("preset", list(hparams.PRESETS))
def test_every_preset_learns_a_few_hundred_sentences(preset: str, amazon_dataset, train_run) -> None:
    """Test accuracy above the majority class by more than noise: three standard errors of a coin on the 200 test
    sentences (10.6 points)."""
    snap = train_run(preset, dataset=amazon_dataset.name)
    majority, noise = majority_and_noise(amazon_dataset.name)
    assert snap.test_accuracy > majority + noise, (preset, snap.test_accuracy, majority)
    reason = evaluation.stop_reason(snap.history, snap.live.hp.epochs, snap.live.hp.patience, False)
    assert f"epoch {evaluation.best_epoch(snap.history)}" in reason


def test_stop_reason_says_why_training_ended() -> None:
    history = [{"epoch": n, "val_loss": loss} for n, loss in enumerate((0.6, 0.5, 0.55, 0.56), start=1)]
    early = evaluation.stop_reason(history, 40, 2, False)
    assert early.startswith("Early stopping ended training after epoch 4 of 40")
    assert "The model is the one of epoch 2" in early
    assert evaluation.stop_reason(history, 4, None, False) == "Trained all 4 epochs of its budget."
    assert evaluation.stop_reason(history, 40, 2, True).startswith("Stopped by you after 4 of 40 epochs.")


def test_epochs_spent_guessing_use_no_patience() -> None:
    """Early stopping counts its patience only once validation loss is below guessing's (the training shares'):
    a plateau at guessing, even with patience 1, does not end training; once learning, patience counts as ever."""
    import keras

    from core import stopping

    assert stopping.guessing_loss(np.array([0, 1] * 50), np.array([0, 1, 1]), 2) == pytest.approx(math.log(2))
    assert stopping.guessing_loss(np.array([0] * 98 + [1, 2]), np.array([0]), 3) == pytest.approx(-math.log(99 / 103))
    stop = stopping.PatienceAfterLearning(patience=1, guessing=math.log(2))
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.stop_training = False  # as `fit` sets it
    stop.set_model(model)
    stop.on_train_begin()
    for epoch, loss in enumerate((0.6937, 0.6955, 0.6976, 0.6976, 0.6850)):  # the mslearn plateau below, and one
        stop.on_epoch_end(epoch, {"val_loss": loss})                        # epoch within the margin of guessing
        assert not model.stop_training, epoch
    stop.on_epoch_end(5, {"val_loss": 0.60})
    assert not model.stop_training and stop.best_epoch == 5
    stop.on_epoch_end(6, {"val_loss": 0.61})
    assert model.stop_training and stop.best_epoch == 5


@pytest.mark.slow  # the rule itself: test_epochs_spent_guessing_use_no_patience
def test_a_slow_start_is_not_stopped_as_no_progress(lab_home: Path, train_run, tmp_path: Path) -> None:
    """The UCI imdb sentences in the order the small-data benchmark's split 5 reads them: mslearn's validation loss
    stays at guessing's for its first 5 epochs (seed 0), and early stopping used to end it there with epoch 1's
    model, 0.500 test accuracy. It now trains on until it learns."""
    if "imdb-sentences-split5" not in datasets.names():
        datasets.add(reshuffled(DATA_DIR / "text" / "imdb_labelled.txt", 5, tmp_path), name="imdb-sentences-split5")
    snap = train_run("mslearn", dataset="imdb-sentences-split5", seed=0)
    majority, noise = majority_and_noise("imdb-sentences-split5")
    assert snap.test_accuracy > majority + noise, snap.test_accuracy
    assert evaluation.best_epoch(snap.history) > 5, snap.history


@pytest.fixture
def few_sentences(tmp_path: Path) -> Path:
    """160 Amazon sentences, 80 of each class: 64 of each to train on after the 80/20 split."""
    lines = AMAZON.read_text(encoding="utf-8").splitlines()
    picked = [line for line in lines if line.endswith("\t0")][:80] + [line for line in lines if line.endswith("\t1")][:80]
    path = tmp_path / "few.txt"
    path.write_text("\n".join(picked) + "\n", encoding="utf-8")
    return path


def test_too_little_to_learn_is_said_at_import_and_on_train(few_sentences: Path, cli_env: dict, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    env = {**cli_env, "SENTIMENT_LAB_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "core", "datasets", "add", str(few_sentences), "--name", "few"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    warning = f"warning: Too little to learn from: these classes have fewer than {datasets.MIN_PER_CLASS} training " \
              "examples ('0': 64, '1': 64)."
    assert warning in done.stderr
    assert json.loads(done.stdout)["report"]["too_little"].startswith(warning.removeprefix("warning: "))

    trained = subprocess.run([sys.executable, "-m", "core", "train", "--dataset", "few", "--preset", "dlwp"],
                             env=env, capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr
    assert warning in trained.stderr
    summary = json.loads(trained.stdout.splitlines()[-1])
    assert summary["stopped_because"] == evaluation.stop_reason(
        [json.loads(line) for line in trained.stdout.splitlines()[:-1]], 100, 4, False)

    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(home))
    at = open_page("pages/train.py", dataset="few", preset="fast")
    assert any("'0': 64, '1': 64" in w.value and "Too little to learn" in w.value for w in at.warning)
    assert not any("Too little" in w.value for w in open_page("pages/train.py", preset="fast").warning)  # IMDB


def test_enough_examples_say_nothing(amazon_dataset) -> None:
    assert datasets.too_little_for(amazon_dataset.name) is None  # 400 training sentences per class
    assert datasets.too_little({"a": 100, "b": 99}) .startswith("Too little to learn from: this class has")


def test_too_little_to_learn_is_said_on_the_data_sets_page_after_import(few_sentences: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "home"))
    at = open_page("pages/datasets.py")
    at.file_uploader(key="ds_upload").set_value(("few.txt", few_sentences.read_bytes(), "text/plain"))
    at = ok(at.run())
    ok(at.button(key="ds_import").click().run())
    assert "Imported **few**" in at.success[0].value
    assert any("Too little to learn from" in w.value and "'0': 64, '1': 64" in w.value for w in at.warning)

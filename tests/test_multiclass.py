"""Training, testing and scoring on any data set, 2 to 20 classes: the airline tweets (3 classes) and the UCI Amazon
sentences (2 classes, labels "0"/"1"), imported from ../shared/data/text and trained for real (1 epoch, a few
thousand rows)."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from core import bundle, evaluation, hparams, memory, verdict
from core.data import datasets
from core.errors import ConfigError
from core.predict import Scorer
from core.store import RunStore
from test_cli import assert_one_line_error, core_cli, json_lines

TWEET_LABELS = ("negative", "neutral", "positive")


# --- settings for a data set ------------------------------------------------------------------------------------------
def test_imdb_ranges_are_the_params_as_they_were():
    assert hparams.ranges_for(hparams.IMDB_SIZES) == hparams.PARAMS
    for name, preset in hparams.PRESETS.items():
        assert hparams.make(name) == preset and preset.dataset == "imdb"


def test_ranges_and_presets_follow_the_chosen_data_set(amazon_dataset):
    ranges = hparams.ranges_for(amazon_dataset)
    assert ranges["num_words"].high == amazon_dataset.max_id + 1
    assert ranges["val_size"].high == amazon_dataset.train_size - 100 == 700
    assert ranges["limit"].high == amazon_dataset.train_size
    hp = hparams.make("fast", dataset="amazon")
    assert hp.dataset == "amazon" and hp.num_words == amazon_dataset.max_id + 1  # the preset's vocabulary, capped
    assert hp.val_size == 120  # an imported set keeps 15% of its training split for validation: 120 of 800
    assert hparams.make("dlwp", dataset="amazon").val_size == 120
    assert hparams.from_dict(hp.to_dict()) == hp
    with pytest.raises(ConfigError, match=r"num_words=5000 is out of range: 100 to 1,"):
        hparams.make("dlwp", dataset="amazon", num_words=5000)
    with pytest.raises(ConfigError, match="val_size=800 is out of range: 100 to 700"):
        hparams.make("dlwp", dataset="amazon", val_size=800)


def test_an_unknown_data_set_is_a_clear_config_error(amazon_dataset):
    with pytest.raises(ConfigError, match=r"dataset='nope' is not a data set of this lab: choose one of imdb, .*amazon"):
        hparams.make("dlwp", dataset="nope")
    with pytest.raises(ConfigError, match="not a data set"):
        hparams.from_dict({**hparams.PRESETS["dlwp"].to_dict(), "dataset": "nope"})
    assert hparams.make("dlwp", dataset="IMDB").dataset == "imdb"


def test_the_memory_estimate_uses_the_data_sets_size(amazon_dataset):
    imdb = memory.estimate(hparams.make("dlwp", limit=600, val_size=200, num_words=1000))
    amazon = memory.estimate(hparams.make("dlwp", dataset="amazon", limit=600, val_size=200, num_words=1000))
    assert imdb.runtime == memory.RUNTIME_BYTES
    assert amazon.runtime == pytest.approx(memory.RUNTIME_BYTES - memory.IMDB_DATA_BYTES * (1 - 1000 / 50_000))
    assert amazon.features == imdb.features  # the same reviews fitted on, whichever data set they come from
    assert hparams.make("dlwp", dataset="amazon").train_reviews() == 800 - 120  # its own training split, less 15% for validation


def test_every_architecture_takes_two_to_twenty_classes():
    from core import architectures, models

    for entry in architectures.ARCHITECTURES.values():
        assert set(entry.label_kinds) == {"binary", "multiclass"}
    hp = hparams.make("mslearn", num_words=500, maxlen=20)
    assert models.describe(hp).output_shape == (None, 1)
    three = models.compile_model(models.describe(hp, 3), hp, 3)
    assert three.output_shape == (None, 3) and three.loss == "sparse_categorical_crossentropy"
    assert models.compile_model(models.describe(hp), hp).loss == "binary_crossentropy"


# --- one decision rule -------------------------------------------------------------------------------------------------
def test_predicted_owns_the_binary_line_and_the_argmax():
    assert verdict.predicted(np.array([0.5, 0.51, 0.1])).tolist() == [0, 1, 0]
    assert verdict.predicted(np.array([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]])).tolist() == [1, 0]
    three = verdict.Verdict.of(np.array([0.1, 0.3, 0.6]), 4, TWEET_LABELS)
    assert (three.label, three.predicted, three.probabilities) == ("positive", 2, (0.1, 0.3, 0.6))
    assert three.margin == pytest.approx(0.3) and three.note is None
    binary = verdict.Verdict.of(np.array([0.8]), 4, ("0", "1"))
    assert (binary.label, binary.probabilities) == ("1", pytest.approx((0.2, 0.8)))
    assert verdict.Verdict.of(np.array([0.55]), 4).label == "unsure"


def test_class_report_of_three_classes_adds_up():
    y = np.array([0, 0, 1, 2, 2, 2])
    p = np.array([[.7, .2, .1], [.2, .7, .1], [.1, .8, .1], [.1, .1, .8], [.5, .2, .3], [.2, .2, .6]])
    report = evaluation.class_report(y, p, TWEET_LABELS)
    assert report.confusion == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert report.accuracy == pytest.approx(4 / 6)
    assert [c.support for c in report.per_class] == [2, 1, 3]
    assert [c.precision for c in report.per_class] == pytest.approx([0.5, 0.5, 1.0])
    assert [c.recall for c in report.per_class] == pytest.approx([0.5, 1.0, 2 / 3])
    wrong = evaluation.mistakes(y, p, labels=TWEET_LABELS)
    assert [(m.index, m.true_label, m.predicted_label) for m in wrong] == [(1, "negative", "neutral"),
                                                                          (4, "positive", "negative")]
    assert wrong[0].confidence == pytest.approx(0.7)


# --- the run store ---------------------------------------------------------------------------------------------------
OLD_SCHEMA = """
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
    preset TEXT NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL, owner TEXT, pid INTEGER, host TEXT,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL, train_seconds REAL, test_accuracy REAL,
    test_loss REAL, model_dir TEXT, error TEXT);
INSERT INTO runs (preset, config, status, created_at) VALUES ('dlwp', '{"preset": "dlwp"}', 'finished', 1.0);
"""


def test_an_older_database_gains_the_data_set_columns(tmp_path):
    with sqlite3.connect(tmp_path / "runs.sqlite3") as db:
        db.executescript(OLD_SCHEMA)
    store = RunStore(tmp_path)
    (old,) = store.list()
    assert (old.dataset, old.dataset_fingerprint) == ("imdb", None)
    new = store.create("dlwp", {**hparams.PRESETS["dlwp"].to_dict(), "dataset": "amazon"})
    store.set_dataset_fingerprint(new, "abc")
    assert [r.id for r in store.runs_of_dataset("amazon")] == [new]
    assert store.get(new).dataset_fingerprint == "abc"
    assert [r.id for r in store.runs_of_dataset("imdb")] == [old.id]


# --- training on 3 classes, every preset -----------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["dlwp", "mslearn", "lstm", "transfer"])
def test_every_preset_trains_and_tests_on_three_classes(preset, tweets_run, tweets_dataset, run_store):
    snap = tweets_run(preset)
    assert snap.history[0]["accuracy"] is not None and snap.history[0]["val_accuracy"] is not None
    test = datasets.load("tweets").corpus.test
    scores = evaluation.load_test_scores(snap.model_dir, len(test))
    assert scores.shape == (len(test), 3)
    np.testing.assert_allclose(scores.sum(axis=1), 1, atol=1e-4)
    report = evaluation.class_report(test.y, scores, tweets_dataset.labels)
    assert report.accuracy == pytest.approx(snap.test_accuracy)
    assert sum(map(sum, report.confusion)) == len(test) == sum(c.support for c in report.per_class)
    assert [c.support for c in report.per_class] == np.bincount(test.y).tolist()
    assert report.accuracy > 0.6  # most tweets are negative: the model learns at least that
    (probes,) = snap.live.probe_scores  # one epoch: each pinned review's probability of each class
    assert len(probes) == 4 and all(len(p) == 3 and sum(p) == pytest.approx(1, abs=1e-4) for p in probes)
    record = run_store.get(snap.id)
    assert (record.dataset, record.dataset_fingerprint) == ("tweets", tweets_dataset.fingerprint)
    assert [len(p) for p in record.history[0]["probes"]] == [3, 3, 3, 3]
    assert snap.id in [r.id for r in run_store.runs_of_dataset("tweets")]


def test_mistakes_name_the_true_and_the_predicted_tweet_class(tweets_run):
    snap = tweets_run("dlwp")
    test = datasets.load("tweets").corpus.test
    scores = evaluation.load_test_scores(snap.model_dir, len(test))
    wrong = evaluation.mistakes(test.y, scores, limit=10, labels=TWEET_LABELS)
    assert len(wrong) == 10 and all(m.true_label != m.predicted_label for m in wrong)
    assert all(m.true_label == TWEET_LABELS[test.y[m.index]] for m in wrong)
    assert all(m.confidence == pytest.approx(scores[m.index].max()) for m in wrong)
    assert [m.confidence for m in wrong] == sorted((m.confidence for m in wrong), reverse=True)


def test_runs_rebuild_restores_the_data_set_of_a_run(tweets_run, tweets_dataset, tmp_path):
    import shutil

    from core import store

    shutil.copytree(tweets_run("dlwp").model_dir, tmp_path / "runs" / "1")
    rebuilt, added, _, _ = store.rebuild(tmp_path)
    assert added == [1]
    record = rebuilt.get(1)
    assert (record.dataset, record.dataset_fingerprint) == ("tweets", tweets_dataset.fingerprint)


def test_a_three_class_run_scores_text_with_every_class(tweets_run):
    scorer = Scorer(tweets_run("mslearn").model_dir)
    assert scorer.labels == TWEET_LABELS
    probs = scorer.probabilities("@united the worst flight ever, lost my bag and rude staff")
    assert len(probs) == 3 and sum(probs) == pytest.approx(1, abs=1e-5)
    explanation = scorer.explain("@united the worst flight ever, lost my bag and rude staff")
    assert explanation.verdict.label in TWEET_LABELS
    assert explanation.score == pytest.approx(max(explanation.verdict.probabilities))
    assert any(w.effect for w in explanation.words if w.status == "known")


# --- two classes of an imported data set, and a removed data set -------------------------------------------------------
@pytest.mark.parametrize("preset", ["dlwp", "fast"])
def test_two_imported_classes_keep_the_sigmoid_and_name_the_class(preset, amazon_dataset, train_run):
    snap = train_run(preset, dataset="amazon", epochs=1)
    test = datasets.load("amazon").corpus.test
    scores = evaluation.load_test_scores(snap.model_dir, len(test))
    assert scores.shape == (len(test),)
    scorer = Scorer(snap.model_dir)
    (v,) = scorer.verdicts(["great phone, works perfectly"])
    assert scorer.labels == ("0", "1") and v.leaning in ("0", "1")
    assert scorer.probabilities("great phone") == pytest.approx([1 - v.score, v.score], abs=0.5)  # two of them


def test_a_run_still_scores_after_its_data_set_is_removed(lab_home, data_dir, train_run, run_store):
    datasets.add(data_dir / "text" / "amazon_cells_labelled.txt", "amazon-gone")
    snap = train_run("dlwp", dataset="amazon-gone", epochs=1)
    assert [r.id for r in run_store.runs_of_dataset("amazon-gone")] == [snap.id]
    before = Scorer(snap.model_dir).probabilities("battery died after a day")
    datasets.remove("amazon-gone")
    assert "amazon-gone" not in datasets.names()
    scorer = Scorer(snap.model_dir)  # a fresh load: vocabulary and labels come from the run folder
    assert scorer.probabilities("battery died after a day") == pytest.approx(before)
    assert scorer.hp.dataset == "amazon-gone" and scorer.labels == ("0", "1")
    assert bundle.dataset_info(snap.model_dir)["fingerprint"] == run_store.get(snap.id).dataset_fingerprint


# --- the command line ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_trains_on_a_data_set_and_predicts_its_classes(cli_env, tweets_dataset):
    proc = core_cli("train", "--dataset", "tweets", "--preset", "dlwp", "--limit", "2000", "--val-size", "500",
                    "--epochs", "1", "--num-words", "5000", env=cli_env)
    assert proc.returncode == 0, proc.stderr
    final = json_lines(proc.stdout)[-1]
    assert final["dataset"] == "tweets" and final["status"] == "finished"
    assert [c["label"] for c in final["per_class"]] == list(TWEET_LABELS)
    assert sum(c["support"] for c in final["per_class"]) == tweets_dataset.test_size
    assert len(final["confusion"]) == 3 and sum(map(sum, final["confusion"])) == tweets_dataset.test_size

    proc = core_cli("predict", "--model", final["model_path"], "thank you for the great service", env=cli_env)
    assert proc.returncode == 0, proc.stderr
    (line,) = json_lines(proc.stdout)
    assert line["dataset"] == "tweets" and line["class"] in TWEET_LABELS and line["verdict"] == line["class"]
    assert list(line["probabilities"]) == list(TWEET_LABELS)
    assert sum(line["probabilities"].values()) == pytest.approx(1, abs=1e-4)


def test_cli_refuses_an_unknown_data_set(cli_env):
    proc = core_cli("train", "--dataset", "no-such-set", "--preset", "dlwp", env=cli_env)
    assert proc.returncode == 2
    assert_one_line_error(proc, "dataset='no-such-set' is not a data set of this lab")

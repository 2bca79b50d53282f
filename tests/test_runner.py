"""The background runner on real (tiny) trainings: streaming epochs, stop, queueing, failures, and scoring saved runs."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core import bundle, config, evaluation, execution, hparams
from core.errors import ConfigError, InputTextError, ModelFileError, StoreError
from core.predict import Scorer
from core.classroom.people import CLI
from core.runner import Runner
from conftest import short_test_split

EPOCH_KEYS = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
NICE_AT_START = os.getpriority(os.PRIO_PROCESS, 0)  # read at collection, before any fixture trains
POSITIVE = "a wonderful, moving, brilliant film"
NEGATIVE = "boring, awful, waste of time"
SHORT_TEST = short_test_split()  # for runs whose test scores no test here reads in full


def _wait_for(predicate, timeout: float, what: str, poll: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


# --- a finished run ----------------------------------------------------------------------------------------------------
def test_trained_run_finishes_with_history_test_metrics_and_a_model(trained_run, run_store):
    snap = trained_run
    assert (snap.status, snap.live.phase, snap.live.epoch, snap.error) == ("finished", "done", 2, None)
    assert snap.live.batches == math.ceil(2000 / 512)
    assert [h["epoch"] for h in snap.history] == [1, 2]
    for h in snap.history:
        assert EPOCH_KEYS <= set(h)
        assert 0 <= h["accuracy"] <= 1 and 0 <= h["val_accuracy"] <= 1 and h["seconds"] > 0
    assert 0.5 < snap.test_accuracy <= 1 and snap.test_loss > 0 and snap.train_seconds > 0
    assert len(snap.live.probe_scores) == 2 and all(len(row) == len(snap.live.probes) for row in snap.live.probe_scores)
    folder = Path(snap.model_dir)
    for name in (bundle.MODEL, bundle.CONFIG, bundle.FEATURIZER, bundle.WORD_INDEX, bundle.HISTORY, evaluation.TEST_SCORES):
        assert (folder / name).is_file(), name
    assert folder.parent == run_store.runs_dir

    record = run_store.get(snap.id)
    assert record.status == "finished"
    assert record.test_accuracy == pytest.approx(snap.test_accuracy)
    assert [h["epoch"] for h in record.history] == [1, 2]
    assert record.history[1]["val_loss"] == pytest.approx(snap.history[1]["val_loss"])
    assert record.config["limit"] == 2000 and record.config["val_size"] == 500


def test_each_phase_of_a_run_is_timed(trained_run):
    snap = trained_run
    assert list(snap.live.phase_seconds) == ["preparing", "training", "evaluating", "saving", "baseline"]
    assert all(seconds > 0 for seconds in snap.live.phase_seconds.values())
    assert snap.live.phase_seconds["training"] == pytest.approx(snap.train_seconds, abs=0.05)


def test_test_scores_do_not_depend_on_the_chunk_size(scorer, corpus):
    from core.predict import score_ragged

    x = corpus.test.x.take(np.arange(300))
    model, featurizer = scorer.bundle.model, scorer.bundle.featurizer
    whole = score_ragged(model, featurizer, x)
    np.testing.assert_allclose(score_ragged(model, featurizer, x, chunk_bytes=200_000), whole, rtol=1e-6, atol=1e-6)


def test_epochs_stream_while_training(run_store):
    hp = hparams.make("dlwp", limit=2000, val_size=500, epochs=4, batch_size=64)
    run = Runner(run_store, dataset=SHORT_TEST).submit(hp, probes=("great", "terrible"))
    seen: list[tuple[str, str, int, int]] = []
    while True:
        snap = run.snapshot()
        seen.append((snap.status, snap.live.phase, len(snap.history), snap.live.batch))
        if not snap.active:
            break
        time.sleep(0.01)
    assert snap.status == "finished", snap.error
    running_lengths = {n for status, phase, n, _ in seen if status == "running" and phase == "training"}
    assert {0, 1, 2, 3} <= running_lengths, "history should grow one epoch at a time while the run trains"
    assert any(batch > 0 for status, phase, _, batch in seen if phase == "training"), "batch progress is published"
    assert len(snap.history) == 4 and all(EPOCH_KEYS <= set(h) for h in snap.history)
    assert [len(row) for row in snap.live.probe_scores] == [2] * 4


def test_stop_ends_within_a_batch_and_keeps_a_usable_model(run_store):
    hp = hparams.make("dlwp", limit=2000, val_size=500, epochs=60, batch_size=16)
    run = Runner(run_store, dataset=SHORT_TEST).submit(hp, owner="tests")
    _wait_for(lambda: (s := run.snapshot().live).epoch >= 1 and s.batch >= 3, 120, "the first epoch and a few batches")
    asked = time.monotonic()
    before = run.snapshot().live
    run.stop(CLI)
    assert run.snapshot().live.stop_requested
    snap = run.wait(timeout=120)
    took = time.monotonic() - asked
    assert snap.status == "stopped", snap.error
    assert took < 60, f"stopping took {took:.1f}s"
    # training ends after the batch in progress (or the one after): the cut epoch is neither validated nor
    # recorded as a whole one, and the run says how far into it the stop came
    assert len(snap.history) == before.epoch < hp.epochs
    assert before.batch <= snap.live.batch <= before.batch + 3, (before.batch, snap.live.batch)
    assert (f"during epoch {before.epoch + 1}, after {snap.live.batch} of {snap.live.batches} of its batches: the "
            f"curves show the {before.epoch} whole epoch") in snap.error
    assert run_store.get(snap.id).error == snap.error
    assert snap.test_accuracy is not None
    assert (Path(snap.model_dir) / bundle.MODEL).is_file()
    assert run_store.get(snap.id).status == "stopped"
    scores = Scorer(snap.model_dir).score([POSITIVE, NEGATIVE])
    assert all(0.0 < s < 1.0 for s in scores)


def test_stop_before_the_first_epoch_ends_stopped_with_no_model_and_no_test_results(run_store):
    hp = hparams.make("dlwp", limit=4000, val_size=500, epochs=3)
    run = Runner(run_store).submit(hp, owner="tests")
    run.stop(CLI)  # it has left the queue already, so this reaches a run that is preparing its data
    snap = run.wait(timeout=600)
    assert (snap.status, snap.history, snap.test_accuracy, snap.test_loss) == ("stopped", (), None, None)
    assert "before the first epoch" in snap.error
    assert not (run_store.runs_dir / str(snap.id) / bundle.MODEL).exists()
    assert not (run_store.runs_dir / str(snap.id) / evaluation.TEST_SCORES).exists()
    record = run_store.get(snap.id)
    assert (record.status, record.test_accuracy, record.error) == ("stopped", None, snap.error)
    assert snap.id not in [r.id for r in run_store.usable()], "Predict must not offer a run without a model"


def test_a_run_is_never_queued_without_a_place_in_the_queue(run_store):
    """Between leaving the queue and starting, the page used to read "number None in the queue"."""
    runner = Runner(run_store, max_concurrent=2, dataset=SHORT_TEST)
    hp = hparams.make("dlwp", limit=500, val_size=100, epochs=1)
    runs = [runner.submit(hp, owner="tests", probes=()) for _ in range(2)]
    seen = set()
    while any(run.snapshot().active for run in runs):
        for run in runs:
            snap = run.snapshot()
            seen.add((snap.status, snap.live.queue_position))
        time.sleep(0.001)
    assert ("queued", None) not in seen, seen
    assert all(run.wait(timeout=600).status == "finished" for run in runs)


def test_runs_beyond_max_concurrent_wait_in_order(run_store, monkeypatch):
    monkeypatch.setenv("SENTIMENT_LAB_MAX_QUEUED_PER_USER", "2")
    runner = Runner(run_store, max_concurrent=1, dataset=SHORT_TEST)
    small = hparams.make("dlwp", limit=1000, val_size=500, epochs=2)
    first = runner.submit(small, owner="a")
    second = runner.submit(small, owner="b")
    third = runner.submit(small, owner="b")
    assert second.snapshot().live.queue_position == 1
    assert third.snapshot().live.queue_position == 2
    _wait_for(lambda: first.snapshot().status == "running", 60, "the first run to start")
    snap = second.snapshot()
    assert (snap.status, snap.live.queue_position) == ("queued", 1)
    assert first.snapshot().live.queue_position is None
    assert run_store.get(second.id).status == "queued"

    third.stop(CLI)  # a queued run is cancelled at once
    cancelled = third.wait(timeout=5)
    assert cancelled.status == "stopped" and "Cancelled" in cancelled.error
    assert run_store.get(third.id).status == "stopped"

    done_first, done_second = first.wait(timeout=300), second.wait(timeout=300)
    assert done_first.status == done_second.status == "finished"
    assert done_second.started_at >= done_first.finished_at - 0.5
    assert [r.id for r in runner.runs(owner="b")] == [third.id, second.id]


def test_a_failure_becomes_status_failed_with_a_message(run_store, tmp_path, monkeypatch):
    """The data folder disappears between submitting and training: the run fails and says why."""
    monkeypatch.setenv("IMDB_DATA_DIR", str(tmp_path / "gone"))
    run = Runner(run_store).submit(hparams.make("dlwp", limit=500, val_size=500, epochs=1))
    snap = run.wait(timeout=120)
    assert snap.status == "failed"
    assert "imdb.npz" in snap.error and "IMDB_DATA_DIR" in snap.error
    record = run_store.get(snap.id)
    assert record.status == "failed" and record.error == snap.error
    assert not (run_store.runs_dir / str(snap.id) / bundle.MODEL).exists()


def test_a_run_folder_that_cannot_be_written_is_refused_before_training(run_store, tmp_path):
    """The requested run folder is an existing file: refused at submit, before anything is trained or recorded."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("in the way")
    before = [r.id for r in run_store.list()]
    with pytest.raises(StoreError, match="not-a-folder"):
        Runner(run_store).submit(hparams.make("dlwp", limit=500, val_size=500, epochs=1), out_dir=blocker)
    assert [r.id for r in run_store.list()] == before
    assert blocker.read_text() == "in the way"


def test_an_unknown_executor_fails_the_run_with_a_clear_message(run_store, monkeypatch):
    monkeypatch.setenv(execution.EXECUTOR_ENV, "spark")
    snap = Runner(run_store).submit(hparams.make("dlwp", limit=300, val_size=100, epochs=1), probes=()).wait(120)
    assert snap.status == "failed"
    assert snap.error == "SENTIMENT_LAB_EXECUTOR must be one of thread, ray, not 'spark'."


def test_ray_is_imported_only_when_the_ray_executor_is_chosen():
    code = "import sys, core.runner, core.cli; core.runner.execution.from_env(); assert 'ray' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                          text=True, timeout=300, env={**os.environ, execution.EXECUTOR_ENV: "thread"})
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_max_trainings_setting(monkeypatch):
    monkeypatch.setenv("SENTIMENT_LAB_MAX_TRAININGS", "3")
    assert config.max_concurrent_trainings() == 3
    monkeypatch.delenv("SENTIMENT_LAB_MAX_TRAININGS")
    assert config.max_concurrent_trainings() == 1
    for bad in ("zero", "0", "-1", "999999999", "1.5"):  # before: silently 1, or a billion trainings at once
        monkeypatch.setenv("SENTIMENT_LAB_MAX_TRAININGS", bad)
        with pytest.raises(ConfigError, match=f"SENTIMENT_LAB_MAX_TRAININGS must be a whole number from 1 to 16.*{bad!r}"):
            config.max_concurrent_trainings()


# --- scoring saved runs --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scorer(scoring_run) -> Scorer:
    return Scorer(scoring_run.model_dir)  # loaded from the run folder, not from the trainer's memory


def test_saved_run_ranks_a_positive_review_above_a_negative_one(scorer):
    positive, negative = scorer.score([POSITIVE, NEGATIVE])
    assert positive > negative
    assert 0 < negative < positive < 1


def test_reloaded_model_gives_the_scores_saved_at_training(scorer, scoring_run, corpus):
    saved = np.load(Path(scoring_run.model_dir) / evaluation.TEST_SCORES)
    assert saved.shape == (25_000,)
    reviews = [corpus.test.x[i].tolist() for i in range(64)]
    assert np.allclose(scorer._score_ids(reviews), saved[:64], atol=1e-5)
    accuracy = float(np.mean((saved > 0.5) == (corpus.test.y == 1)))
    assert accuracy == pytest.approx(scoring_run.test_accuracy)
    assert accuracy > 0.7


def test_explain_gives_word_effects_and_marks_unknown_words(scorer, vocabulary):
    rare = next(w for w, r in vocabulary.word_to_rank.items() if 20_000 < r < 30_000 and w.isalpha())
    text = f"A wonderful film, qwxzvbnm {rare} but awful ending"
    ex = scorer.explain(text)
    assert ex.score == pytest.approx(scorer.score([text])[0], abs=1e-6)
    by_word = {w.text: w for w in ex.words}
    assert [w.text for w in ex.words] == ["a", "wonderful", "film", "qwxzvbnm", rare, "but", "awful", "ending"]
    assert by_word["qwxzvbnm"].status == "not in word index" and by_word["qwxzvbnm"].id is None
    assert by_word["qwxzvbnm"].effect is None
    assert by_word[rare].status == "outside vocabulary" and by_word[rare].id == 2
    assert by_word["wonderful"].status == "known" and by_word["wonderful"].effect > 0
    assert by_word["awful"].effect < 0
    assert ex.ids[0] == 1 and len(ex.ids) == 1 + 7  # start char, and every word but the one absent from the index
    assert ex.model_input.width == 10_000


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_refused(scorer, text):
    with pytest.raises(InputTextError):
        scorer.score([text])
    with pytest.raises(InputTextError):
        scorer.explain(text)


def test_a_folder_without_a_model_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="No saved model"):
        Scorer(tmp_path)


# --- priority ------------------------------------------------------------------------------------------------------
def test_training_runs_at_low_cpu_priority_and_leaves_other_threads_alone(trained_run):
    import threading

    from core import priority

    tensorflow = priority.tensorflow_threads()
    assert tensorflow, "TensorFlow's compute threads are found by name"
    assert all(os.getpriority(os.PRIO_PROCESS, tid) >= config.TRAINING_NICE_DEFAULT for tid in tensorflow)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == NICE_AT_START, \
        "the threads that draw pages keep the priority the process started with"


def test_a_bad_priority_setting_fails_the_run_with_a_clear_message(run_store, monkeypatch):
    monkeypatch.setenv(config.TRAINING_NICE_ENV, "very low")
    hp = hparams.make("dlwp", limit=300, val_size=100, epochs=1)
    snap = Runner(run_store).submit(hp, owner="tests", probes=()).wait(timeout=120)
    assert snap.status == "failed"
    assert "SENTIMENT_LAB_TRAINING_NICE must be a whole number from 0" in snap.error and "'very low'" in snap.error
    assert run_store.get(snap.id).status == "failed", "the failure is recorded with the run"


def test_a_failed_runs_stored_error_names_no_server_path(run_store, capfd):
    """Everyone may read a failed run's error on Runs and the board; the server's log keeps the whole message."""
    def unreadable(name: str):
        raise OSError(2, "No such file or directory", "/srv/lab-data/datasets/secret/reviews.npz")

    snap = Runner(run_store, dataset=unreadable).submit(hparams.make("dlwp", limit=200, val_size=100, epochs=1),
                                                         probes=()).wait(timeout=60)
    assert snap.status == "failed"
    assert snap.error == "FileNotFoundError: [Errno 2] No such file or directory: 'reviews.npz'"
    assert run_store.get(snap.id).error == snap.error
    assert "/srv/lab-data/datasets/secret/reviews.npz" in capfd.readouterr().err

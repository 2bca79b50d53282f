"""The Train page's estimates: seconds per epoch (from this server's own runs when it has them), the whole wait
(preparing, training, scoring and saving), and the time left during a run."""
from __future__ import annotations

from statistics import median

import pytest

from core import estimate, hparams
from conftest import short_test_split
from core.runner import Runner


def test_without_history_the_estimate_is_a_rough_rate_that_grows_with_the_work():
    small, basis = estimate.seconds_per_epoch(hparams.make("dlwp", limit=1000, val_size=500))
    full, _ = estimate.seconds_per_epoch(hparams.make("dlwp"))
    wider, _ = estimate.seconds_per_epoch(hparams.make("dlwp", units=64))
    assert basis == "rough figure for a 2-core machine"
    assert 0 < small < full < wider
    lstm, _ = estimate.seconds_per_epoch(hparams.make("lstm"))
    assert lstm > 20 * full, "an LSTM epoch costs far more than a dense one"


def test_with_a_finished_run_the_estimate_scales_its_measured_epochs(trained_run, run_store):
    record = run_store.get(trained_run.id)
    same = hparams.from_dict(record.config)
    seconds, basis = estimate.seconds_per_epoch(same, [record])
    measured = sorted(h["seconds"] for h in record.history)
    assert basis == "from 1 earlier run(s) on this server"
    assert measured[0] <= seconds <= measured[-1]
    doubled, _ = estimate.seconds_per_epoch(hparams.make("dlwp", limit=2 * same.limit + same.val_size,
                                                         val_size=same.val_size), [record])
    assert doubled > seconds


def test_runs_on_another_data_set_or_batch_size_do_not_set_the_pace(amazon_dataset, train_run, run_store):
    """One transfer run on the amazon sentences made IMDB's transfer preset "about 2.1 hours" and the Train page
    refused it: an epoch of 800 short sentences is mostly fixed costs, not a rate per review to scale up."""
    record = run_store.get(train_run("dlwp", dataset="amazon", epochs=1).id)
    _, on_imdb = estimate.seconds_per_epoch(hparams.make("dlwp"), [record])
    assert on_imdb == "rough figure for a 2-core machine"
    _, on_amazon = estimate.seconds_per_epoch(hparams.make("dlwp", dataset="amazon"), [record])
    assert on_amazon == "from 1 earlier run(s) on this server"
    _, other_batch = estimate.seconds_per_epoch(hparams.make("dlwp", dataset="amazon", batch_size=256), [record])
    assert other_batch == "rough figure for a 2-core machine", "a batch of another size costs another per review"


# --- the whole wait -------------------------------------------------------------------------------------------------
def test_the_whole_wait_counts_preparing_and_scoring_not_only_the_epochs():
    """`fast` was estimated at "about 6 s in all" from its epochs alone while click to results took 22.6 s."""
    fast = estimate.whole_wait(hparams.make("fast"))
    training = fast.epoch * fast.epochs
    assert fast.preparing > 2 and fast.finishing > 2, "featurising 25,000 reviews and scoring 25,000 take seconds"
    assert 10 < fast.longest < 40 and fast.longest > 2 * training
    assert fast.shortest == fast.longest and not fast.may_stop_early
    lstm = estimate.whole_wait(hparams.make("lstm"))
    assert lstm.finishing > 30, "an LSTM scores 25,000 reviews of 500 ids slowly"


def test_early_stopping_gives_a_range_down_to_patience_plus_one_epochs():
    lstm = estimate.whole_wait(hparams.make("lstm"))
    assert (lstm.epochs, lstm.fewest_epochs) == (20, 6) and lstm.may_stop_early
    assert lstm.shortest == pytest.approx(lstm.longest - 14 * lstm.epoch)
    short = estimate.whole_wait(hparams.make("lstm", epochs=3))
    assert short.fewest_epochs == 3 and not short.may_stop_early


def test_no_time_left_is_given_before_it_means_something():
    wait = estimate.whole_wait(hparams.make("fast"))
    left = estimate.seconds_left
    assert left(wait, "queued", 0, 0, 88, {}, 5.0) is None
    assert left(wait, "preparing", 0, 0, 88, {}, 5.0) is None
    # the first ETA used to read "about 10.4 min left" from the pace of the first, slow batch
    assert left(wait, "training", 0, 1, 88, {"preparing": 4.0}, 0.9) is None
    assert left(wait, "training", 0, 9, 88, {"preparing": 4.0}, 6.0) is None, "too few batches yet"
    assert left(wait, "training", 0, 30, 88, {"preparing": 4.0}, 9.5) is None, "too few seconds yet"
    first = left(wait, "training", 0, 60, 88, {"preparing": 4.0}, 12.0)
    # 3 * 88 - 60 batches to go at 1/5 s each, three validation passes, then scoring and saving, all at the pace
    # of these batches (slower than the rates)
    batches = 12.0 / 60 * 88
    validating = wait.validating * min(batches / (wait.epoch - wait.validating), 4.0)
    pace = min((batches + validating) / wait.epoch, 4.0)
    assert first == pytest.approx(12.0 / 60 * 204 + 3 * validating + wait.finishing * pace)
    assert left(wait, "training", 0, 88, 88, {"preparing": 4.0}, 9.0) is None, "the first validation pass"
    after_one = left(wait, "training", 1, 0, 88, {"preparing": 4.0}, 3.0)
    assert after_one is not None and after_one > wait.finishing


def test_near_the_end_the_time_left_shrinks_to_zero_never_below():
    wait = estimate.whole_wait(hparams.make("fast"))
    timed = {"preparing": 4.0, "training": 3 * wait.epoch}
    left = [estimate.seconds_left(wait, "evaluating", 3, 0, 88, timed, t) for t in (0.0, 1.0, wait.finishing - 1)]
    assert left[0] == pytest.approx(wait.finishing) and left[0] > left[1] > left[2] >= 0
    assert left[2] < estimate.ALMOST_DONE, "the page says 'almost done', never 'about under 1 s left'"
    saving = estimate.seconds_left(wait, "saving", 3, 0, 88, {**timed, "evaluating": wait.finishing + 5}, 3.0)
    assert saving == 0.0


def test_a_finished_run_informs_the_next_estimate(run_store, corpus):
    """After a real run, the estimate for the same settings takes its epoch time from that run's own epochs.

    How close estimates come to real waits is a figure for a benchmark (bench_fast_vs_sklearn.py prints the phases),
    not a timed test: this asserts where the numbers come from.
    """
    hp = hparams.make("fast", limit=2000, val_size=500, epochs=2)
    snap = Runner(run_store, dataset=short_test_split()).submit(hp, owner="tests", probes=()).wait(timeout=600)
    assert snap.status == "finished", snap.error
    assert set(snap.live.phase_seconds) >= {"preparing", "training", "evaluating", "saving"}
    record = run_store.get(snap.id)
    informed = estimate.whole_wait(hp, [record])
    assert informed.basis == "from 1 earlier run(s) on this server"
    assert informed.epoch == pytest.approx(median(h["seconds"] for h in record.history))
    assert informed.longest == pytest.approx(informed.preparing + 2 * informed.epoch + informed.finishing)


def test_each_epoch_times_its_validation_pass_apart(trained_run):
    """The time left counts validation passes apart from batches, from what each epoch of a real run measured."""
    for epoch in trained_run.history:
        assert 0 <= epoch["val_seconds"] < epoch["seconds"]


def _epochs(*timings: tuple[float, float]) -> list[dict]:
    """Finished epochs as a run reports them: (seconds, of which validating)."""
    return [{"epoch": n + 1, "seconds": s, "val_seconds": v} for n, (s, v) in enumerate(timings)]


def test_a_validation_pass_never_makes_the_time_left_grow():
    """An LSTM's "at most about … left" rose from 76 s to 3.5 min while it validated: the pass counted as batches."""
    wait = estimate.whole_wait(hparams.make("lstm", limit=4000, val_size=2000, epochs=5))
    history = _epochs((30.0, 8.0), (25.0, 5.0))  # 32 batches of 0.625 s, then 5 s of validation
    left = estimate.seconds_left
    before = left(wait, "training", 2, 31, 32, {}, 55.0 + 31 * 0.625, history)
    during = [left(wait, "training", 2, 32, 32, {}, 55.0 + 20.0 + t, history) for t in (0.0, 1.0, 3.0, 6.0, 30.0)]
    assert all(a >= b for a, b in zip([before, *during], during)), (before, during)
    assert during[0] == pytest.approx(before - 0.625, abs=0.1), "the pass starting changes nothing"
    # after it: two epochs left, each 32 batches and a pass, then scoring at this run's pace
    pace = (20.0 + 5.0) / wait.epoch
    assert during[-1] == pytest.approx(2 * (20.0 + 5.0) + wait.finishing * min(max(pace, 0.25), 4.0))


def test_near_the_end_the_slow_first_epoch_does_not_stretch_the_time_left():
    """dlwp said "about 15 s left" with 2.4 s to go: the first epoch (which builds the model's graph) set the pace."""
    wait = estimate.whole_wait(hparams.make("dlwp", epochs=3))
    history = _epochs((9.0, 0.6), (1.5, 0.3))  # the first epoch 9 s, the second 1.5 s (30 batches of 0.04 s)
    last_batches = estimate.seconds_left(wait, "training", 2, 25, 30, {}, 10.5 + 1.0, history)
    pace = min(max((30 * 0.04 + 0.3) / wait.epoch, 0.25), 4.0)
    assert last_batches == pytest.approx(5 * 0.04 + 0.3 + wait.finishing * pace)
    assert last_batches < wait.finishing * 4.0, "not the clipped pace of a 9-second epoch"


# --- other data sets ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", list(hparams.PRESETS))
def test_a_small_data_set_waits_far_less_than_imdb_and_scores_its_own_test_reviews(preset, amazon_dataset):
    """The wait once counted IMDB's 25,000 test reviews for every data set; the UCI sentences have 200."""
    imdb = estimate.whole_wait(hparams.make(preset))
    small = estimate.whole_wait(hparams.make(preset, dataset=amazon_dataset.name))
    assert (imdb.test_reviews, small.test_reviews) == (25_000, amazon_dataset.test_size)
    # a small set's epoch budget is counted in optimizer steps (69 epochs of 22 steps for fast's 3 of 22 on IMDB),
    # ended by early stopping: its longest wait is the whole budget, its shortest stops after patience + 1 epochs
    assert small.longest < imdb.longest / 2 and small.shortest < imdb.longest / 4
    assert small.preparing < imdb.preparing and small.epoch < imdb.epoch / 10
    assert small.finishing < imdb.finishing / 3, "scoring 200 reviews, not 25,000"


def test_the_sizes_passed_in_are_the_ones_counted(amazon_dataset):
    """The arithmetic takes the data set's sizes as given (a DatasetInfo or hparams.Sizes) and reads nothing."""
    hp = hparams.make("fast", dataset=amazon_dataset.name)
    assert estimate.whole_wait(hp, sizes=amazon_dataset) == estimate.whole_wait(hp)
    assert estimate.whole_wait(hp, sizes=hparams.sizes_of(amazon_dataset.name)) == estimate.whole_wait(hp)
    imdb = hparams.make("fast")
    fewer = estimate.whole_wait(imdb, sizes=hparams.IMDB_SIZES._replace(test_size=5_000))
    assert fewer.test_reviews == 5_000 and fewer.finishing < estimate.whole_wait(imdb).finishing
    assert fewer.preparing == estimate.whole_wait(imdb).preparing
    half = hparams.IMDB_SIZES._replace(train_size=12_500)
    assert estimate.seconds_per_epoch(imdb, sizes=half)[0] < estimate.seconds_per_epoch(imdb)[0]

"""The expected time to each student's results while a class waits: the queue simulated over the trainer's slots
(`estimate.queue_forecast`), from the runs' estimates, the first run of a configuration paying for its data."""
from __future__ import annotations

import pytest

from core import estimate, hparams
from core.classroom import board
from core.classroom.people import Actor
from core.runner import Runner
from conftest import short_test_split
from gate import GateExecutor
from test_runner import _wait_for

TEACHER = Actor("teacher-browser", "Ms Teacher", is_teacher=True)
STUDENTS = [Actor(f"token-{n}", f"Student {n}") for n in range(3)]
LONG = dict(limit=4000, val_size=500, epochs=60, batch_size=16)  # held by the gate until it is stopped


def test_one_slot_runs_the_queue_in_turn_after_what_trains():
    assert estimate.queue_forecast([5.0, 5.0], [10.0], slots=1) == [(10.0, 15.0), (15.0, 20.0)]


def test_two_slots_start_the_next_run_on_the_first_that_frees():
    assert estimate.queue_forecast([4.0, 4.0, 4.0], [10.0], slots=2) == [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0)]
    assert estimate.queue_forecast([6.0], [], slots=2) == [(0.0, 6.0)]


def test_a_configuration_whose_data_are_prepared_waits_only_for_its_model():
    fast = hparams.make("fast")
    first, later = estimate.whole_wait(fast), estimate.whole_wait(fast, data_ready=True)
    assert later.preparing < first.preparing and later.epoch == first.epoch and later.finishing == first.finishing


def test_the_runner_forecasts_each_waiting_run_and_the_board_shows_it(run_store, monkeypatch):
    monkeypatch.setenv("SENTIMENT_LAB_MAX_TRAINING_MINUTES", "10080")  # the holder, whatever pace earlier runs set
    runner = Runner(run_store, max_concurrent=1, dataset=short_test_split(), executor=GateExecutor())
    holder = runner.submit(hparams.make("dlwp", **LONG), owner=TEACHER, probes=())
    try:
        _wait_for(lambda: holder.snapshot().status == "running", 60, "the first run to start")
        tiny = hparams.make("dlwp", limit=200, val_size=100, epochs=1)
        waiting = [runner.submit(tiny, owner=s, probes=()) for s in STUDENTS]
        past = run_store.list(with_history=True)
        times = runner.forecasts(past)
        assert list(times) == [r.id for r in waiting]
        results = [times[r.id][1] for r in waiting]
        assert 0 < results[0] < results[1] < results[2]
        assert all(start < result for start, result in times.values())
        info = runner.queue_info(waiting[1], past)
        assert (info.wait_seconds, info.result_seconds) == pytest.approx(times[waiting[1].id], abs=1.0)  # 1 s later
        rows = board.rows(run_store.list(with_history=True), {r.id: r.snapshot() for r in runner.runs()},
                          board.BoardState(0.0, frozenset()), TEACHER, forecasts=times)
        shown = {r.run.id: r.result_seconds for r in rows}
        assert [shown[r.id] for r in waiting] == results and shown[holder.id] is None
    finally:
        for run in runner.runs():
            run.stop(TEACHER)


def test_later_runs_of_a_finished_runs_settings_are_forecast_to_take_as_long_as_it_did(run_store, monkeypatch):
    monkeypatch.setenv("SENTIMENT_LAB_MAX_TRAINING_MINUTES", "10080")
    runner = Runner(run_store, max_concurrent=1, dataset=short_test_split())
    tiny = hparams.make("dlwp", limit=200, val_size=100, epochs=1, seed=7)  # settings no other test's run has
    assert runner.submit(tiny, owner=STUDENTS[0], probes=()).wait(120).status == "finished"
    first = run_store.list()[0]  # as the store keeps it: from leaving the queue to the results
    took = first.finished_at - first.started_at
    assert estimate.measured_run(tiny, run_store.list()) == pytest.approx(took)
    holder = runner.submit(hparams.make("dlwp", **LONG), owner=TEACHER, probes=())
    try:
        _wait_for(lambda: holder.snapshot().status == "running", 60, "the holder to start")
        waiting = [runner.submit(tiny, owner=s, probes=()) for s in STUDENTS[1:]]
        times = runner.forecasts(run_store.list())
        (start_a, result_a), (start_b, result_b) = (times[r.id] for r in waiting)
        assert result_a - start_a == pytest.approx(took) and result_b - result_a == pytest.approx(took)
    finally:
        for run in runner.runs():
            run.stop(TEACHER)

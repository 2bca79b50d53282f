"""Two trainings at once in one process: each run's seed alone decides its model, as when it trains alone
(`core.seeding`); by default two small trainings share the server's cores and a large one runs alone
(`core.concurrency`)."""
from __future__ import annotations

import os
import threading

from conftest import short_test_split
from core import concurrency, hparams, training
from core.classroom.people import Actor
from core.runner import Runner
from gate import GateExecutor
from test_runner import _wait_for

TEACHER = Actor("teacher-browser", "Ms Teacher", is_teacher=True)

TINY = dict(limit=1000, val_size=300, epochs=2, num_words=2000, dropout=0.3)


def test_two_trainings_at_once_each_train_the_model_their_seed_trains_alone(tmp_path):
    dataset = short_test_split(300)("imdb")
    seeds = (3, 11)
    alone = {seed: training.train(hparams.make("dlwp", **TINY, seed=seed), dataset, (), tmp_path / f"alone-{seed}")
             for seed in seeds}
    together: dict[int, training.Result] = {}
    go = threading.Barrier(len(seeds))

    def run(seed: int) -> None:
        go.wait()
        together[seed] = training.train(hparams.make("dlwp", **TINY, seed=seed), dataset, (), tmp_path / f"both-{seed}")

    threads = [threading.Thread(target=run, args=(seed,)) for seed in seeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert alone[3].history[0]["loss"] != alone[11].history[0]["loss"], "the seeds train different models"
    for seed in seeds:
        assert [h["loss"] for h in together[seed].history] == [h["loss"] for h in alone[seed].history]
        assert together[seed].test_accuracy == alone[seed].test_accuracy


def test_by_default_two_small_trainings_run_at_once_and_a_large_one_runs_alone(run_store, monkeypatch):
    monkeypatch.delenv("SENTIMENT_LAB_MAX_TRAININGS", raising=False)
    settings = concurrency.runner_settings()
    assert settings == {"max_concurrent": 2, "small_together": True}
    tiny = hparams.make("dlwp", limit=200, val_size=100, epochs=1)
    runner = Runner(run_store, dataset=short_test_split(), executor=GateExecutor(held=3), **settings)
    large = runner.submit(hparams.make("lstm"), owner=TEACHER, probes=())
    _wait_for(lambda: large.snapshot().status == "running", 60, "the large run to start")
    first = runner.submit(tiny, owner=TEACHER, probes=())
    assert first.snapshot().status == "queued", "nothing trains beside an LSTM"
    large.stop(TEACHER)
    second = runner.submit(tiny, owner=TEACHER, probes=())
    _wait_for(lambda: first.snapshot().status == second.snapshot().status == "running", 60, "two small runs at once")
    for run in (first, second):
        run.stop(TEACHER)
    monkeypatch.setenv("SENTIMENT_LAB_MAX_TRAININGS", "1")
    assert concurrency.runner_settings() == {"max_concurrent": 1}


def test_the_trainings_at_once_share_the_cores_one_op_thread_each_on_two(monkeypatch):
    assert [concurrency.op_threads(n, 2) for n in (1, 2, 3)] == [2, 1, 1]
    assert concurrency.op_threads(2, 8) == 4
    monkeypatch.delenv("SENTIMENT_LAB_MAX_TRAININGS", raising=False)
    env: dict[str, str] = {}
    concurrency.share_cores(env)
    assert env == {concurrency.OP_THREADS_ENV: str(concurrency.op_threads(2, len(os.sched_getaffinity(0))))}
    env = {concurrency.OP_THREADS_ENV: "3"}
    concurrency.share_cores(env)
    assert env == {concurrency.OP_THREADS_ENV: "3"}, "an operator's own value is kept"
    monkeypatch.setenv("SENTIMENT_LAB_MAX_TRAININGS", "many")
    env = {}
    concurrency.share_cores(env)
    assert env == {}, "invalid settings leave TensorFlow's default (the Runner names the error)"

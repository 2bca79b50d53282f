"""The `ray` executor on a real local Ray (no mocks): streaming epochs, Stop, a killed worker, and the cluster
deciding how many trainings run at once. Small `dlwp` trainings on a couple of thousand reviews."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the Ray tests need requirements-cluster.txt installed")

from core import bundle, evaluation, hparams  # noqa: E402
from core.predict import Scorer  # noqa: E402
from core.classroom.people import CLI  # noqa: E402
from core.execution.ray_executor import RayExecutor  # noqa: E402
from core.runner import Runner  # noqa: E402
from conftest import short_test_split  # noqa: E402
from test_runner import _wait_for  # noqa: E402

pytestmark = pytest.mark.ray
REPO = Path(__file__).resolve().parents[1]
SMALL = dict(limit=2000, val_size=500)
TIMEOUT = 600  # seconds; a worker starts TensorFlow from scratch, and this machine is shared
SHORT_TEST = short_test_split()  # IMDB runs here are tested on 1,000 test reviews: less to ship and to score


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _watch(runs, until_done: bool = True, timeout: float = TIMEOUT) -> list[list]:
    """Snapshots of each run every 50 ms, until all are done."""
    seen: list[list] = [[] for _ in runs]
    deadline = time.monotonic() + timeout
    while True:
        snaps = [run.snapshot() for run in runs]
        for n, snap in enumerate(snaps):
            seen[n].append(snap)
        if not any(s.active for s in snaps):
            return seen
        assert time.monotonic() < deadline, f"timed out: {[(s.status, s.live.phase) for s in snaps]}"
        time.sleep(0.05)


def _training_workers() -> list[int]:
    """Process ids of this test's Ray workers running a training task (Ray names them after the task; their
    parent is this Ray's raylet, not another Ray on the machine)."""
    from ray._private import ray_constants, worker

    raylet = worker._global_node.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process.pid
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("PPid:"))
                if int(parent.split()[1]) == raylet and b"ray::_train_on_worker" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except (OSError, StopIteration, ValueError):
                continue
    return found


@pytest.fixture(scope="module")
def cluster_run(cluster, run_store) -> list:
    """The snapshots of a finished 3-epoch training on the cluster, taken every 50 ms while it ran."""
    runner = Runner(run_store, executor=RayExecutor(num_cpus=1), dataset=SHORT_TEST)
    run = runner.submit(hparams.make("dlwp", epochs=3, **SMALL), owner="tests", probes=("great", "awful"))
    (seen,) = _watch([run])
    return seen


def test_a_training_streams_its_epochs_and_returns_a_model_that_scores(cluster_run, run_store):
    seen = cluster_run
    snap = seen[-1]
    assert snap.status == "finished", snap.error
    phases = [s.live.phase for s in seen]
    assert "waiting" in phases and phases.index("waiting") < phases.index("training")
    epochs_while_training = {len(s.history) for s in seen if s.live.phase == "training"}
    assert {0, 1, 2} <= epochs_while_training, "the history grows one epoch at a time"
    assert [len(row) for row in snap.live.probe_scores] == [2, 2, 2]
    assert 0.5 < snap.test_accuracy <= 1

    record = run_store.get(snap.id)
    assert record.status == "finished" and [h["epoch"] for h in record.history] == [1, 2, 3]
    folder = Path(snap.model_dir)
    assert folder == run_store.runs_dir / str(snap.id)
    assert (folder / bundle.MODEL).is_file() and (folder / evaluation.TEST_SCORES).is_file()
    positive, negative = Scorer(folder).score(["a wonderful, moving film", "boring, awful, a waste of time"])
    assert 0 < negative < positive < 1


def test_stop_cancels_a_running_task_and_keeps_the_model_of_its_last_epoch(cluster, run_store):
    runner = Runner(run_store, executor=RayExecutor(num_cpus=1), dataset=SHORT_TEST)
    run = runner.submit(hparams.make("dlwp", epochs=60, batch_size=16, **SMALL), owner="tests", probes=())
    _wait_for(lambda: run.snapshot().live.epoch >= 1, TIMEOUT, "the first epoch on the worker")
    asked = time.monotonic()
    run.stop(CLI)
    _wait_for(lambda: run.snapshot().live.phase != "training", 15, "the task to be cancelled")
    cancelled_after = time.monotonic() - asked
    snap = run.wait(timeout=TIMEOUT)
    assert snap.status == "stopped", snap.error
    assert cancelled_after < 15
    assert 1 <= len(snap.history) < 60 and snap.test_accuracy is not None
    assert run_store.get(run.id).status == "stopped"
    _wait_for(lambda: not _training_workers(), 60, "the cancelled task's worker to exit")
    assert all(0 < s < 1 for s in Scorer(snap.model_dir).score(["a fine film"]))


def test_a_killed_worker_fails_the_run_and_leaves_earlier_runs_intact(cluster_run, run_store):
    earlier = cluster_run[-1]
    assert earlier.status == "finished", earlier.error
    runner = Runner(run_store, executor=RayExecutor(num_cpus=1), dataset=SHORT_TEST)
    run = runner.submit(hparams.make("dlwp", epochs=60, batch_size=16, **SMALL), owner="tests", probes=())
    _wait_for(lambda: run.snapshot().live.epoch >= 1, TIMEOUT, "the first epoch on the worker")
    (pid,) = _training_workers()
    os.kill(pid, signal.SIGKILL)
    snap = run.wait(timeout=120)
    assert snap.status == "failed"
    assert "worker training this run died" in snap.error, snap.error
    record = run_store.get(run.id)
    assert record.status == "failed" and record.error == snap.error and len(record.history) >= 1
    kept = run_store.get(earlier.id)
    assert kept.status == "finished" and (Path(kept.model_dir) / bundle.MODEL).is_file()


def test_the_cluster_decides_how_many_run_at_once(cluster, run_store):
    """Each training takes both CPUs of the two-CPU cluster, so the second waits for a free worker."""
    runner = Runner(run_store, executor=RayExecutor(num_cpus=2), max_concurrent=1, dataset=SHORT_TEST)
    small = hparams.make("dlwp", epochs=1, limit=1000, val_size=300)
    first = runner.submit(small, owner="a", probes=())
    second = runner.submit(small, owner="b", probes=())
    assert second.snapshot().live.queue_position is None, "the cluster queues it, not the server"
    seen_first, seen_second = _watch([first, second])
    assert seen_first[-1].status == seen_second[-1].status == "finished"
    both = list(zip(seen_first, seen_second))
    assert not any(a.live.phase == "training" and b.live.phase == "training" for a, b in both), "one at a time"
    assert any({a.live.phase, b.live.phase} == {"training", "waiting"} for a, b in both), "one waits for a free worker"


def test_an_unreachable_cluster_is_one_clear_error_line_in_the_cli(cli_env, run_store, trained_run):
    env = dict(cli_env, SENTIMENT_LAB_EXECUTOR="ray", RAY_ADDRESS="127.0.0.1:9")
    proc = subprocess.run([sys.executable, "-m", "core", "train", "--preset", "dlwp", "--limit", "500",
                           "--val-size", "100", "--epochs", "1"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Training failed: Cannot start training on the Ray cluster at 127.0.0.1:9"), last
    assert "Traceback" not in proc.stderr
    assert run_store.get(trained_run.id).status == "finished", "no finished run is lost"


def test_the_train_page_shows_a_run_waiting_for_a_worker_then_its_results(cluster, tmp_path, monkeypatch):
    from pagetest import ok, open_page

    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("SENTIMENT_LAB_EXECUTOR", "ray")
    at = open_page("pages/train.py", preset="dlwp", limit="1000", val_size="300", epochs="2")
    ok(next(b for b in at.button if b.label == "▶ Start training").click().run())
    deadline = time.monotonic() + TIMEOUT
    infos: set[str] = set()
    while not any(m.label == "Test accuracy" for m in at.metric):
        assert time.monotonic() < deadline, "the run did not finish"
        infos |= {i.value for i in at.info}
        time.sleep(0.5)
        ok(at.run())
    assert "Waiting for a free worker on the training cluster…" in infos
    assert any(s.value.startswith("Run #1 · dlwp · finished") for s in at.subheader)
    assert next(m for m in at.metric if m.label == "Epochs").value == "2"


def test_a_three_class_data_set_trains_on_the_cluster(cluster, run_store, tweets_dataset):
    runner = Runner(run_store, executor=RayExecutor(num_cpus=1))
    hp = hparams.make("dlwp", dataset=tweets_dataset.name, epochs=1, **SMALL)
    snap = runner.submit(hp, owner="tests", probes=("great crew", "lost my bag")).wait(timeout=TIMEOUT)
    assert snap.status == "finished", snap.error
    assert [len(p) for p in snap.live.probe_scores[0]] == [3, 3]  # each pinned review: every class's probability
    scores = evaluation.load_test_scores(snap.model_dir, tweets_dataset.test_size)
    assert scores.shape == (tweets_dataset.test_size, 3)
    assert run_store.get(snap.id).dataset_fingerprint == tweets_dataset.fingerprint
    assert Scorer(snap.model_dir).labels == tweets_dataset.labels

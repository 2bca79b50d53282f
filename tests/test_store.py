"""The SQLite run store across processes: restarts, a training process killed mid-run, concurrent writers."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core import bundle
from core.errors import RunNotFoundError
from core.store import RunStore

REPO = Path(__file__).resolve().parents[1]


def _env(cli_env: dict[str, str], home: Path) -> dict[str, str]:
    return {**cli_env, "SENTIMENT_LAB_HOME": str(home)}


def test_a_run_survives_a_process_restart(cli_env, tmp_path):
    home = tmp_path / "home"
    proc = subprocess.run(
        [sys.executable, "-m", "core", "train", "--preset", "dlwp", "--limit", "1000", "--val-size", "500", "--epochs", "2"],
        capture_output=True, text=True, env=_env(cli_env, home), cwd=REPO, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])

    store = RunStore(home)  # a new process's view: only what is on disk
    (record,) = store.list(with_history=True)
    assert record.id == summary["run_id"]
    assert record.status == "finished" and record.error is None
    assert record.owner == "cli" and record.preset == "dlwp"
    assert [e["epoch"] for e in record.history] == [1, 2]
    assert all(e["val_accuracy"] is not None and e["seconds"] > 0 for e in record.history)
    assert record.test_accuracy == pytest.approx(summary["test_accuracy"])
    assert Path(record.model_dir) == home / "runs" / str(record.id)
    assert (Path(record.model_dir) / bundle.MODEL).is_file()
    assert [r.id for r in store.usable()] == [record.id]


@pytest.mark.slow
def test_killing_a_training_process_leaves_an_interrupted_run_with_its_epochs(cli_env, tmp_path):
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "train", "--preset", "dlwp", "--limit", "6000", "--val-size", "1000",
         "--epochs", "30", "--batch-size", "32"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(cli_env, home), cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 240
        store = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the training process ended before it could be killed"
            if (home / "runs.sqlite3").exists():
                store = store or RunStore(home)
                runs = store.list(with_history=True)
                if runs and runs[0].history:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("no epoch was recorded within 240 s")
        assert runs[0].status == "running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)  # reap it, so its pid no longer exists
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    (record,) = RunStore(home).list(with_history=True)
    assert record.status == "interrupted"
    assert "stopped before it finished" in record.error
    assert record.finished_at is not None
    assert len(record.history) >= 1 and record.history[0]["epoch"] == 1
    assert len(record.history) < 30
    assert not (Path(record.model_dir) / bundle.MODEL).exists()
    assert record not in RunStore(home).usable()


WRITER = textwrap.dedent(
    """
    import sys, time
    from core.store import RunStore
    store = RunStore()
    tag = sys.argv[1]
    time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # both writers start together
    for n in range(int(sys.argv[2])):
        run_id = store.create("dlwp", {"writer": tag, "n": n}, owner=tag)
        store.mark_running(run_id)
        for epoch in (1, 2, 3):
            store.add_epoch(run_id, {"epoch": epoch, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6,
                                     "val_accuracy": 0.7, "seconds": 0.01}, [0.1, 0.9])
        store.finish(run_id, "finished", train_seconds=0.03, test_accuracy=0.75, test_loss=0.55)
    """
)


def test_two_processes_writing_at_once_lose_nothing(cli_env, tmp_path):
    home = tmp_path / "home"
    RunStore(home)  # create the schema first, so both writers start on an existing database
    runs_each = 50
    start = time.time() + 1.5
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, tag, str(runs_each), str(start)], env=_env(cli_env, home), cwd=REPO,
                         stderr=subprocess.PIPE, text=True)
        for tag in ("a", "b")
    ]
    for w in writers:
        _, err = w.communicate(timeout=240)
        assert w.returncode == 0, err

    records = RunStore(home).list(with_history=True)
    assert len(records) == 2 * runs_each
    assert len({r.id for r in records}) == 2 * runs_each
    for tag in ("a", "b"):
        mine = [r for r in records if r.owner == tag]
        assert sorted(r.config["n"] for r in mine) == list(range(runs_each))
    assert all(r.status == "finished" and [e["epoch"] for e in r.history] == [1, 2, 3] for r in records)
    assert all(r.history[0]["probes"] == [0.1, 0.9] for r in records)
    with sqlite3.connect(home / "runs.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM epochs").fetchone()[0] == 3 * 2 * runs_each
    # the writers really interleaved: neither finished all its runs before the other began
    created = {tag: sorted(r.created_at for r in records if r.owner == tag) for tag in ("a", "b")}
    assert created["a"][0] < created["b"][-1] and created["b"][0] < created["a"][-1]


def test_delete_removes_the_record_its_epochs_and_its_folder(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create("dlwp", {"epochs": 1})
    folder = store.runs_dir / str(run_id)
    folder.mkdir(parents=True)
    (folder / bundle.MODEL).write_bytes(b"model")
    store.set_model_dir(run_id, folder)
    store.add_epoch(run_id, {"epoch": 1, "loss": 0.5})
    store.finish(run_id, "finished")
    keep = store.create("dlwp", {"epochs": 1})

    store.delete(run_id)
    assert not folder.exists()
    with pytest.raises(RunNotFoundError, match=f"#{run_id}"):
        store.get(run_id)
    assert store.history(run_id) == []
    assert [r.id for r in store.list()] == [keep]


def test_the_change_token_moves_with_everything_the_runs_page_shows(tmp_path):
    store = RunStore(tmp_path)
    seen = [store.changes()]
    run_id = store.create("dlwp", {"epochs": 2})
    seen.append(store.changes())
    store.mark_running(run_id)
    seen.append(store.changes())
    store.add_epoch(run_id, {"epoch": 1, "loss": 0.5})
    seen.append(store.changes())
    store.finish(run_id, "finished")
    seen.append(store.changes())
    store.delete(run_id)
    seen.append(store.changes())
    assert all(before != after for before, after in zip(seen, seen[1:])), seen
    assert store.changes() == seen[-1], "nothing changed, so neither does the token"


def test_wal_mode_is_on(tmp_path):
    store = RunStore(tmp_path)
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"


def test_name_note_and_best_epoch(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create("dlwp", {"epochs": 3}, owner="me")
    for epoch, val_loss, val_acc in ((1, 0.40, 0.84), (2, 0.30, 0.88), (3, 0.35, 0.87)):
        store.add_epoch(run_id, {"epoch": epoch, "loss": 0.3, "accuracy": 0.9, "val_loss": val_loss,
                                 "val_accuracy": val_acc, "seconds": 1.0})
    store.update_text(run_id, name="  baseline ", note="first try")
    record = store.get(run_id)
    assert (record.name, record.note, record.title) == ("baseline", "first try", "baseline")
    assert record.best_epoch["epoch"] == 2 and record.best_val_accuracy == 0.88
    # this process is alive, so its queued run is not mistaken for an interrupted one
    assert record.status == "queued"
    with pytest.raises(RunNotFoundError):
        store.update_text(12345, name="x")


def test_a_run_left_running_by_a_dead_process_is_interrupted(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create("dlwp", {"epochs": 3})
    store.mark_running(run_id)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET pid=? WHERE id=?", (dead.pid, run_id))
    assert store.get(run_id).status == "interrupted"
    assert store.recover() == 0  # already handled


def test_the_session_run_is_stored_with_the_epochs_it_streamed(trained_run, run_store):
    record = run_store.get(trained_run.id)
    assert record.status == "finished" and record.model_dir == trained_run.model_dir
    for stored, streamed in zip(record.history, trained_run.history, strict=True):
        for key in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"):
            assert stored[key] == pytest.approx(streamed[key])
    assert [e["probes"] for e in record.history] == [list(row) for row in trained_run.probe_scores]
    assert trained_run.id in [r.id for r in run_store.usable()]


def test_a_moved_lab_home_keeps_its_model_folders(tmp_path):
    home = tmp_path / "before"
    store = RunStore(home)
    inside = store.create("dlwp", {"preset": "dlwp"})
    store.set_model_dir(inside, store.runs_dir / str(inside))
    outside = store.create("dlwp", {"preset": "dlwp"})
    store.set_model_dir(outside, tmp_path / "elsewhere")
    moved = tmp_path / "after"
    home.rename(moved)
    records = {r.id: r for r in RunStore(moved).list()}
    assert records[inside].model_dir == str(moved / "runs" / str(inside))
    assert records[outside].model_dir == str(tmp_path / "elsewhere")

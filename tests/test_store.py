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

from core import bundle, registry
from core.errors import RunActive, RunNotFoundError
from core.store import RunStore

REPO = Path(__file__).resolve().parents[1]


def _env(cli_env: dict[str, str], home: Path) -> dict[str, str]:
    return {**cli_env, "SENTIMENT_LAB_HOME": str(home)}


@pytest.mark.slow
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


def test_delete_refuses_an_active_run_and_forgets_what_was_loaded_from_its_folder(tmp_path):
    """Before: only the Runs page refused a training run and dropped its cached scorer; any other caller could
    remove the folder a training writes into, and a page kept scoring with the deleted model."""
    store = RunStore(tmp_path)
    run_id = store.create("dlwp", {"epochs": 1})
    folder = store.claim_folder(run_id)
    (folder / bundle.MODEL).write_bytes(b"model")
    store.mark_running(run_id)
    with pytest.raises(RunActive, match=f"Run #{run_id} is running: stop it"):
        store.delete(run_id)
    assert (folder / bundle.MODEL).is_file() and store.get(run_id).status == "running"
    store.finish(run_id, "finished", test_accuracy=0.8)
    loaded = ("scorer", str(folder.resolve()))
    registry.shared(loaded, object)
    registry.shared(("word map", str(folder.resolve()), 1, 50), object)
    assert store.delete(run_id).test_accuracy == 0.8
    assert not folder.exists() and not registry.has(loaded)
    assert not registry.has(("word map", str(folder.resolve()), 1, 50))


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
    assert [e["probes"] for e in record.history] == [list(row) for row in trained_run.live.probe_scores]
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


# --- never destroy what is not ours (issue 9, items 1-5) -------------------------------------------------------------
from core.errors import LabError, StoreError  # noqa: E402
from core.store import STALE_SECONDS, process_identity, rebuild  # noqa: E402

BUNDLE_FILES = (bundle.MODEL, bundle.CONFIG, bundle.HISTORY, bundle.WORD_INDEX, ".model.partial.keras")


def _fake_bundle(folder: Path) -> None:
    """A run folder's file names with placeholder contents (deleting and indexing never read the model)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in BUNDLE_FILES:
        (folder / name).write_bytes(b"x")
    (folder / bundle.CONFIG).write_text(json.dumps({"preset": "dlwp", "architecture": "multihot_mlp", "epochs": 2}))
    (folder / bundle.HISTORY).write_text(json.dumps([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}]))


def test_deleting_a_run_keeps_the_users_files_in_its_folder(tmp_path):
    """Before: `--out ~/thesis` and a delete removed the whole folder, the thesis with it."""
    store = RunStore(tmp_path / "home")
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("my work")
    (thesis / "figures").mkdir()
    run_id = store.create("dlwp", {"epochs": 1})
    store.set_model_dir(run_id, thesis)  # what an older lab recorded for `--out ~/thesis`
    _fake_bundle(thesis)
    store.finish(run_id, "finished")
    store.delete(run_id)
    assert sorted(p.name for p in thesis.iterdir()) == ["chapter1.tex", "figures"]
    assert (thesis / "chapter1.tex").read_text() == "my work"


def test_out_refuses_a_folder_with_other_files_a_file_and_a_path_under_a_file(tmp_path):
    store = RunStore(tmp_path / "home")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    a_file = tmp_path / "a-file"
    a_file.write_text("keep")
    for folder, words in ((mine, "not empty"), (a_file, "is a file"), (a_file / "run", "is a file")):
        run_id = store.create("dlwp", {})
        with pytest.raises(StoreError, match=words):
            store.claim_folder(run_id, folder)
        with pytest.raises(RunNotFoundError):
            store.get(run_id)  # the refused run leaves no record behind
    assert (mine / "notes.txt").read_text() == "keep" and a_file.read_text() == "keep"


def test_out_refuses_the_folder_of_another_run(tmp_path):
    """Before: a second `--out` into a run's folder replaced its model, and both records pointed at one folder."""
    store = RunStore(tmp_path / "home")
    first = store.create("dlwp", {})
    folder = store.claim_folder(first, tmp_path / "shared-out")
    second = store.create("dlwp", {})
    with pytest.raises(StoreError, match=f"run #{first}"):
        store.claim_folder(second, folder)
    _fake_bundle(folder)
    with pytest.raises(StoreError, match=f"run #{first}"):
        store.check_folder(folder)


def test_a_new_out_folder_goes_with_its_run_and_an_empty_users_folder_stays(tmp_path):
    store = RunStore(tmp_path / "home")
    made = store.claim_folder(store.create("dlwp", {}), tmp_path / "new" / "run")
    empty = tmp_path / "empty"
    empty.mkdir()
    kept = store.claim_folder(store.create("dlwp", {}), empty)
    for folder in (made, kept):
        _fake_bundle(folder)
    for record in store.list():
        store.finish(record.id, "finished")
        store.delete(record.id)
    assert not made.exists() and (tmp_path / "new").is_dir()
    assert empty.is_dir() and not any(empty.iterdir())


def test_a_new_run_never_writes_into_an_existing_run_folder(tmp_path):
    """Before: with the database lost, the next run got id 1 and wrote over the old runs/1."""
    store = RunStore(tmp_path / "home")
    old = store.runs_dir / "1"
    _fake_bundle(old)
    run_id = store.create("dlwp", {})
    assert run_id == 1
    with pytest.raises(StoreError, match="runs rebuild"):
        store.claim_folder(run_id)
    assert (old / bundle.MODEL).read_bytes() == b"x" and store.list() == []


def _broken_homes(tmp_path: Path):
    """A populated lab home, then its database emptied, deleted, overwritten with garbage and cut in half."""
    home = tmp_path / "home"
    store = RunStore(home)
    for _ in range(40):
        run_id = store.create("dlwp", {"epochs": 2, "padding": "x" * 2000})
        store.claim_folder(run_id)
        for epoch in (1, 2):
            store.add_epoch(run_id, {"epoch": epoch, "loss": 0.5})
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    whole = store.path.read_bytes()
    yield "empty", lambda: store.path.write_bytes(b""), "empty"
    yield "missing", lambda: store.path.unlink(), "missing"
    yield "garbage", lambda: store.path.write_bytes(os.urandom(len(whole))), "not a SQLite database"
    yield "cut in half", lambda: store.path.write_bytes(whole[: len(whole) // 2]), "cut off"
    store.path.write_bytes(whole)


@pytest.mark.parametrize("case", ["empty", "missing", "garbage", "cut in half"])
def test_a_broken_database_stops_with_its_name_and_is_left_as_it_is(tmp_path, case):
    for name, damage, words in _broken_homes(tmp_path):
        if name != case:
            continue
        damage()
        path = tmp_path / "home" / "runs.sqlite3"
        before = path.read_bytes() if path.exists() else None
        with pytest.raises(StoreError, match=words) as caught:
            RunStore(tmp_path / "home")
        assert str(path) in str(caught.value) and "runs rebuild" in str(caught.value)
        assert isinstance(caught.value, LabError)
        assert (path.read_bytes() if path.exists() else None) == before


def test_a_database_that_breaks_while_in_use_raises_a_store_error(tmp_path):
    store = RunStore(tmp_path / "home")
    store.claim_folder(store.create("dlwp", {}))
    store.path.write_bytes(os.urandom(8192))
    for call in (store.list, store.changes, lambda: store.get(1), store.check):
        with pytest.raises(StoreError, match="not a SQLite database"):
            call()
    store.path.unlink()
    with pytest.raises(StoreError, match="missing"):
        store.create("dlwp", {})
    assert not store.path.exists(), "a vanished database is reported, never silently replaced by an empty one"


def test_rebuild_indexes_the_run_folders_again_and_keeps_the_broken_file(tmp_path):
    home = tmp_path / "home"
    store = RunStore(home)
    finished = store.create("dlwp", {"preset": "dlwp", "epochs": 2}, owner="me")
    folder = store.claim_folder(finished)
    _fake_bundle(folder)
    store.finish(finished, "finished", train_seconds=1.5, test_accuracy=0.8, test_loss=0.4)
    interrupted = store.create("dlwp", {"preset": "dlwp"})
    store.claim_folder(interrupted)
    store.path.write_bytes(b"garbage" * 100)

    store, added, aside, skipped = rebuild(home)
    assert added == [finished, interrupted] and skipped == []
    assert aside is not None and aside.read_bytes() == b"garbage" * 100
    records = {r.id: r for r in store.list(with_history=True)}
    assert records[finished].status == "finished" and records[finished].test_accuracy == 0.8
    assert records[finished].owner == "me" and [e["epoch"] for e in records[finished].history] == [1, 2]
    assert records[interrupted].status == "interrupted"
    assert store.create("dlwp", {}) == interrupted + 1  # ids continue after the restored runs
    assert rebuild(home)[1] == []  # a healthy database keeps its records; nothing is added twice


def test_a_huge_run_id_is_simply_not_found(tmp_path):
    with pytest.raises(RunNotFoundError, match="1180591620717411303424"):
        RunStore(tmp_path).get(1180591620717411303424)


# --- liveness ---------------------------------------------------------------------------------------------------------
def _set(store: RunStore, run_id: int, **values) -> None:
    with sqlite3.connect(store.path) as db:
        db.execute(f"UPDATE runs SET {', '.join(f'{k}=?' for k in values)} WHERE id=?", (*values.values(), run_id))


def test_a_reused_pid_does_not_keep_a_dead_run_running(tmp_path):
    """Before: after a container restart the run's pid (often 1) belonged to a new process, so it ran forever."""
    store = RunStore(tmp_path)
    run_id = store.create("dlwp", {})
    store.mark_running(run_id)
    boot, started = process_identity(os.getpid()).split(":")
    _set(store, run_id, process=f"{boot}:{int(started) - 1}")  # same pid, alive, but another process's start time
    assert store.get(run_id).status == "interrupted"


def test_a_run_of_another_container_lives_by_its_heartbeat(tmp_path):
    """Before: a run recorded under another hostname was assumed alive forever."""
    store = RunStore(tmp_path)
    fresh, stale = store.create("dlwp", {}), store.create("dlwp", {})
    now = time.time()
    _set(store, fresh, host="old-container", heartbeat_at=now - 5)
    _set(store, stale, host="old-container", heartbeat_at=now - STALE_SECONDS - 5)
    assert store.get(fresh).status == "queued"
    assert store.get(stale).status == "interrupted"


def test_the_heartbeat_keeps_a_runs_record_fresh(tmp_path):
    store = RunStore(tmp_path, heartbeat_seconds=0.05)
    run_id = store.create("dlwp", {})
    _set(store, run_id, heartbeat_at=0.0)
    time.sleep(0.5)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT heartbeat_at FROM runs WHERE id=?", (run_id,)).fetchone()[0] > time.time() - 5


def test_an_interrupted_run_loses_its_partial_files_and_keeps_the_rest(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create("dlwp", {})
    folder = store.claim_folder(run_id)
    partials = [".model.partial.keras", ".config.partial.json", ".word_index.json.partial.gz"]
    for name in partials + [bundle.CONFIG, "unrelated.partial.txt"]:
        (folder / name).write_bytes(b"x")
    _set(store, run_id, process="another-boot:1", host="elsewhere", heartbeat_at=0.0)
    assert store.get(run_id).status == "interrupted"
    assert sorted(p.name for p in folder.iterdir()) == sorted([bundle.MARKER, bundle.CONFIG, "unrelated.partial.txt"])


def test_an_older_database_gains_the_liveness_columns_and_keeps_its_runs(tmp_path):
    from core.store import SCHEMA

    with sqlite3.connect(tmp_path / "runs.sqlite3") as db:  # as the first release created it
        db.executescript(SCHEMA)
        db.execute("INSERT INTO runs (preset, config, status, pid, host, created_at, test_accuracy)"
                   " VALUES ('dlwp', '{}', 'finished', 1, 'x', 0, 0.88)")
        db.execute("INSERT INTO runs (preset, config, status, pid, host, created_at) VALUES ('dlwp', '{}', 'running', 1, 'x', 0)")
    records = {r.id: r for r in RunStore(tmp_path).list()}
    assert records[1].status == "finished" and records[1].test_accuracy == 0.88
    assert records[2].status == "interrupted"  # pid 1 of an unknown process, with no heartbeat for ages


def _open_files(path: Path) -> int:
    """How many of this process's file descriptors point at `path`."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path.resolve()))


def test_reads_reuse_an_open_connection_while_the_file_stays_the_same(tmp_path):
    store = RunStore(tmp_path / "home")
    store.create("dlwp", {})
    for _ in range(20):  # a page view reads several times; none of them opens the file again
        store.list()
        store.changes()
    assert _open_files(store.path) == 1, "one connection kept open for the next reads, not one per read"


def test_a_database_replaced_while_in_use_is_read_from_the_new_file(tmp_path):
    store = RunStore(tmp_path / "home")
    store.create("dlwp", {"epochs": 1})
    assert [r.preset for r in store.list()] == ["dlwp"]  # a connection to the first file is kept open
    other = RunStore(tmp_path / "other")
    other.create("fast", {})
    other.create("fast", {})
    with sqlite3.connect(other.path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.replace(other.path, store.path)
    assert [r.preset for r in store.list()] == ["fast", "fast"]
    store.path.unlink()
    with pytest.raises(StoreError, match="cannot be opened"):
        store.list()


def test_a_store_that_keeps_its_connections_sees_the_writes_of_another_at_once(tmp_path):
    """Two stores on one database (two web processes, or the server and the CLI): each read sees what the other
    wrote just before, although both keep their connections open between uses."""
    first, second = RunStore(tmp_path / "home"), RunStore(tmp_path / "home")
    one = first.create("dlwp", {})
    assert [r.id for r in second.list()] == [one] and second.get(one).status == "queued"
    token = second.changes()
    first.mark_running(one)
    first.add_epoch(one, {"epoch": 1, "loss": 0.5})
    assert second.changes() != token and second.get(one).status == "running"
    assert len(second.list(with_history=True)[0].history) == 1
    two = second.create("fast", {})
    assert [r.id for r in first.list()] == [two, one]

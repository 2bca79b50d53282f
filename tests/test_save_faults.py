"""Faults while a CLI training saves and records its run (issue 18), each on the path a user takes: `python -m core
train` in a subprocess. A full disk (a real, small tmpfs) fails the run cleanly; a run database another process holds
locked delays the run but does not cost it; a failed run's `--out` folder can be used again."""
from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import bundle
from core.config import DATABASE
from test_cli import assert_one_line_error, core_cli, json_lines

pytestmark = pytest.mark.slow  # each trains in a subprocess, or waits on a lock
TRAIN = ("train", "--preset", "dlwp", "--limit", "1000", "--val-size", "200")


def _folder_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --- a full disk ------------------------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MiB file system of its own (tmpfs): room for the database and one small model, not for a second one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"a small file system cannot be mounted here ({done.stderr.strip()})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_run_cleanly_and_keeps_the_earlier_run(cli_env, small_disk):
    """Before: the CLI spun at 100% CPU for 10+ minutes with the run `running`, its partial files left behind."""
    home = small_disk / "lab"
    env = dict(cli_env, SENTIMENT_LAB_HOME=str(home))
    first = core_cli(*TRAIN, "--epochs", "1", "--num-words", "1000", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    earlier = json_lines(first.stdout)[-1]
    kept = _folder_digest(Path(earlier["model_path"]))

    started = time.monotonic()
    proc = core_cli(*TRAIN, "--epochs", "1", "--num-words", "10000", env=env, timeout=300)
    took = time.monotonic() - started
    line = assert_one_line_error(proc, "Training failed", "disk", "full", "partial files were removed")
    assert took < 240, f"{took:.0f} s"
    runs = {r["id"]: r for r in json_lines(core_cli("runs", env=env).stdout)}
    failed = runs[earlier["run_id"] + 1]
    assert failed["status"] == "failed" and "full" in failed["error"], (failed, line)
    assert sorted(p.name for p in (home / "runs" / str(failed["id"])).iterdir()) == [bundle.MARKER], \
        "only the marker is left: no partial or incomplete bundle file"
    assert runs[earlier["run_id"]]["status"] == "finished"
    assert _folder_digest(Path(earlier["model_path"])) == kept, "the earlier run is untouched"


def test_a_disk_with_no_space_left_is_named_not_taken_for_a_broken_database(cli_env, small_disk):
    """Before: "cannot be used (disk I/O error)", with advice to rebuild a database that was not broken."""
    env = dict(cli_env, SENTIMENT_LAB_HOME=str(small_disk / "lab"))
    assert core_cli("runs", env=env).returncode == 0
    with open(small_disk / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError:
            pass
    proc = core_cli(*TRAIN, "--epochs", "1", env=env, timeout=120)
    line = assert_one_line_error(proc, "disk", "is full", "SENTIMENT_LAB_HOME")
    assert "rebuild" not in line


# --- a busy database --------------------------------------------------------------------------------------------------
LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # held until the test closes our standard input
db.execute("COMMIT")
"""


def _read(home: Path, sql: str, args: tuple = ()) -> list[tuple]:
    """Read the run database as another program would (a WAL database can be read while another holds it locked)."""
    with sqlite3.connect(f"file:{home / DATABASE}?mode=ro", uri=True, timeout=5) as db:
        return db.execute(sql, args).fetchall()


def _an_epoch_recorded(home: Path) -> bool:
    try:
        return bool(_read(home, "SELECT 1 FROM epochs LIMIT 1"))
    except sqlite3.Error:  # not created yet
        return False


def _train_with_lock(env: dict[str, str], home: Path, hold_s: float | None):
    """Start a 2-epoch CLI training; once its first epoch is recorded, another process locks the database for
    `hold_s` seconds (None: until the training has exited). Returns the finished training process."""
    trainer = subprocess.Popen([sys.executable, "-m", "core", *TRAIN, "--epochs", "2"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parents[1])
    locker = None
    try:
        deadline = time.monotonic() + 300
        while not _an_epoch_recorded(home):
            assert trainer.poll() is None, trainer.communicate()
            assert time.monotonic() < deadline, "the first epoch was never recorded"
            time.sleep(0.05)
        locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(home / DATABASE)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert locker.stdout.readline().strip() == "locked"
        if hold_s is not None:
            time.sleep(hold_s)
            locker.stdin.close()
            locker.wait(timeout=10)
        trainer.wait(timeout=300)
        return trainer, locker
    finally:
        if trainer.poll() is None:
            trainer.kill()
        if hold_s is not None and locker is not None and locker.poll() is None:
            locker.kill()


def test_a_database_locked_for_a_while_delays_the_run_but_does_not_cost_it(cli_env, tmp_path):
    """Before: a lock held for 45 s failed the run ("database is locked") and kept no model: the lab waited only
    SQLite's 30 s, not its own wait (default 120 s). A lock held 10 s, twice Python's own SQLite wait (5 s), within a
    wait of 30 s, shows the same."""
    home = tmp_path / "lab"
    env = dict(cli_env, SENTIMENT_LAB_HOME=str(home), SENTIMENT_LAB_DB_WAIT_SECONDS="30")
    trainer, _ = _train_with_lock(env, home, hold_s=10)
    out, err = trainer.communicate()
    assert trainer.returncode == 0, err[-2000:]
    result = json_lines(out)[-1]
    assert result["status"] == "finished" and result["epochs"] == 2, result
    assert _read(home, "SELECT status, test_accuracy FROM runs WHERE id=?", (result["run_id"],)) == [
        ("finished", result["test_accuracy"])]
    assert _read(home, "SELECT COUNT(*) FROM epochs WHERE run_id=?", (result["run_id"],)) == [(2,)]


def test_a_database_locked_past_the_wait_keeps_the_model_and_records_it_later(cli_env, core_main, tmp_path):
    """Before: with the lock held 75 s the run failed, kept no model, and stayed `running` after the process
    exited. Now the model is saved, the user is told, and the next command records the run from its folder."""
    home = tmp_path / "lab"
    env = dict(cli_env, SENTIMENT_LAB_HOME=str(home), SENTIMENT_LAB_DB_WAIT_SECONDS="2")
    trainer, locker = _train_with_lock(env, home, hold_s=None)
    try:
        out, err = trainer.communicate()
        assert trainer.returncode == 0, err[-2000:]
        assert "Traceback" not in err, err
        result = json_lines(out)[-1]
        assert result["status"] == "finished", result
        warning = [line for line in err.splitlines() if line.startswith("warning:")]
        assert warning and "not recorded yet" in warning[0] and "runs rebuild" in warning[0], err[-2000:]
        assert "python -m core runs rebuild` indexes" not in err, "no advice meant for a broken database"
        assert (Path(result["model_path"]) / bundle.MODEL).is_file(), "a complete bundle is kept"
        assert _read(home, "SELECT status FROM runs WHERE id=?", (result["run_id"],)) == [("running",)]
    finally:
        locker.stdin.close()
        locker.wait(timeout=10)
    shown = json_lines(core_cli("runs", "show", str(result["run_id"]), env=env).stdout)[0]
    assert (shown["status"], shown["test_accuracy"]) == ("finished", result["test_accuracy"]), shown
    assert [e["epoch"] for e in shown["history"]] == [1, 2]
    predicted = core_main("predict", "--model", result["model_path"], "a wonderful film")  # in this process
    assert predicted.returncode == 0, predicted.stderr[-2000:]


# --- a failed run's --out folder ------------------------------------------------------------------------------------
def test_a_failed_runs_out_folder_can_be_used_again(cli_env, tmp_path, data_dir):
    """Before: "DIR is already the folder of run #1" for a run that never saved a model."""
    home, out = tmp_path / "lab", tmp_path / "my-model"
    broken = tmp_path / "broken-data"
    broken.mkdir()
    (broken / "imdb.npz").write_bytes(b"not a zip file")
    (broken / "imdb_word_index.json").symlink_to(data_dir / "imdb_word_index.json")
    env = dict(cli_env, SENTIMENT_LAB_HOME=str(home))
    failed = core_cli(*TRAIN, "--epochs", "1", "--out", str(out), env=env, IMDB_DATA_DIR=str(broken))
    assert_one_line_error(failed, "imdb.npz")
    assert [p.name for p in out.iterdir()] == [bundle.MARKER]

    again = core_cli(*TRAIN, "--epochs", "1", "--out", str(out), env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    result = json_lines(again.stdout)[-1]
    assert result["status"] == "finished" and Path(result["model_path"]) == out.absolute()
    assert bundle.marker(out)["run_id"] == result["run_id"]
    runs = {r["id"]: r for r in json_lines(core_cli("runs", env=env).stdout)}
    assert runs[result["run_id"] - 1]["status"] == "failed" and runs[result["run_id"] - 1]["model_dir"] is None
    assert core_cli("runs", "show", str(result["run_id"] - 1), env=env).returncode == 0

    taken = core_cli(*TRAIN, "--epochs", "1", "--out", str(out), env=env)
    assert_one_line_error(taken, f"already the folder of run #{result['run_id']}")


def test_a_server_records_a_run_once_the_lock_is_gone(tmp_path, monkeypatch):
    """`streamlit run app.py` trains in its own process, which lives on after the run: it keeps trying to record a
    run the database was too busy to take, and records it once the lock is gone."""
    from core import hparams
    from core.runner import Runner
    from core.store import RunStore

    monkeypatch.setenv("SENTIMENT_LAB_DB_WAIT_SECONDS", "1")
    store = RunStore(tmp_path / "lab")
    run = Runner(store).submit(hparams.make("dlwp", limit=1000, val_size=200, epochs=2), owner="tests")
    deadline = time.monotonic() + 300
    while not _an_epoch_recorded(store.home):
        assert run.active and time.monotonic() < deadline, run.snapshot().error
        time.sleep(0.05)
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(store.path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        snap = run.wait(timeout=300)
        assert snap.status == "finished" and "not recorded yet" in snap.error, snap.error
        assert len(snap.history) == 2 and (Path(snap.model_dir) / bundle.MODEL).is_file()
    finally:
        locker.stdin.close()
        locker.wait(timeout=10)
    deadline = time.monotonic() + 60
    while _read(store.home, "SELECT status FROM runs WHERE id=?", (run.id,)) != [("finished",)]:
        assert time.monotonic() < deadline, "the run was never recorded"
        time.sleep(0.5)
    assert [e["epoch"] for e in store.get(run.id).history] == [1, 2]

"""Run history in SQLite (WAL): every run, its epochs as they finish, and where its model lives.

Each call opens its own short-lived connection, so any thread or process may write; SQLite's lock and a busy
timeout serialise the writers. A run left `queued` or `running` by a process that no longer exists is
reported as `interrupted`.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from core import config, evaluation
from core.errors import RunNotFoundError

ACTIVE = ("queued", "running")
USABLE = ("finished", "stopped")  # a model was saved and can score text

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    preset TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT,
    pid INTEGER,
    host TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    train_seconds REAL,
    test_accuracy REAL,
    test_loss REAL,
    model_dir TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    loss REAL, accuracy REAL, val_loss REAL, val_accuracy REAL, seconds REAL,
    probes TEXT,
    PRIMARY KEY (run_id, epoch)
);
"""

EPOCH_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")


@dataclass
class RunRecord:
    """One run as stored: configuration, outcome, and per-epoch history."""

    id: int
    name: str
    note: str
    preset: str
    config: dict[str, Any]
    status: str
    owner: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    train_seconds: float | None
    test_accuracy: float | None
    test_loss: float | None
    model_dir: str | None
    error: str | None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.name or f"#{self.id} {self.preset}"

    @property
    def best_epoch(self) -> dict[str, Any] | None:
        """The epoch with the lowest validation loss."""
        return evaluation.lowest_val_loss(self.history)

    @property
    def best_val_accuracy(self) -> float | None:
        scored = [e["val_accuracy"] for e in self.history if e.get("val_accuracy") is not None]
        return max(scored) if scored else None

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items()}
        data["best_val_accuracy"] = self.best_val_accuracy
        return data


def _alive(pid: int | None, host: str | None) -> bool:
    """Whether the process that owns a run still exists (a process on another host is assumed alive)."""
    if host and host != socket.gethostname():
        return True
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    """The run database under SENTIMENT_LAB_HOME (or `home`), with model folders beside it."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = Path(home) if home is not None else config.lab_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self.path = self.home / "runs.sqlite3"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
        try:
            yield db
        finally:
            db.close()

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                cur = db.execute(sql, args)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return cur

    # --- writes -------------------------------------------------------------------------------------------
    def create(self, preset: str, config_values: dict[str, Any], owner: str | None = None) -> int:
        cur = self._write(
            "INSERT INTO runs (preset, config, status, owner, pid, host, created_at) VALUES (?, ?, 'queued', ?, ?, ?, ?)",
            (preset, json.dumps(config_values), owner, os.getpid(), socket.gethostname(), time.time()),
        )
        return int(cur.lastrowid)

    def set_model_dir(self, run_id: int, model_dir: Path) -> None:
        """Folders inside the lab home are stored relative to it, so a moved or copied home keeps its models."""
        path = Path(model_dir).absolute()
        try:
            path = path.relative_to(self.home.absolute())
        except ValueError:
            pass
        self._write("UPDATE runs SET model_dir=? WHERE id=?", (str(path), run_id))

    def mark_running(self, run_id: int) -> None:
        self._write("UPDATE runs SET status='running', started_at=? WHERE id=?", (time.time(), run_id))

    def add_epoch(self, run_id: int, metrics: dict[str, Any], probes: list[float] | None = None) -> None:
        values = tuple(metrics.get(k) for k in EPOCH_FIELDS)
        self._write(
            "INSERT OR REPLACE INTO epochs (run_id, epoch, loss, accuracy, val_loss, val_accuracy, seconds, probes)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, *values, json.dumps(probes) if probes is not None else None),
        )

    def finish(self, run_id: int, status: str, *, train_seconds: float | None = None, test_accuracy: float | None = None,
               test_loss: float | None = None, error: str | None = None) -> None:
        self._write(
            "UPDATE runs SET status=?, finished_at=?, train_seconds=?, test_accuracy=?, test_loss=?, error=? WHERE id=?",
            (status, time.time(), train_seconds, test_accuracy, test_loss, error, run_id),
        )

    def update_text(self, run_id: int, *, name: str | None = None, note: str | None = None) -> None:
        self.get(run_id)
        if name is not None:
            self._write("UPDATE runs SET name=? WHERE id=?", (name.strip(), run_id))
        if note is not None:
            self._write("UPDATE runs SET note=? WHERE id=?", (note.strip(), run_id))

    def delete(self, run_id: int) -> None:
        """Remove the record, its epochs and its model folder."""
        record = self.get(run_id)
        if record.model_dir:
            shutil.rmtree(record.model_dir, ignore_errors=True)
        self._write("DELETE FROM runs WHERE id=?", (run_id,))

    def recover(self) -> int:
        """Mark runs whose process died while they were queued or running as interrupted; returns how many."""
        with self._connect() as db:
            rows = db.execute(
                f"SELECT id, pid, host FROM runs WHERE status IN ({','.join('?' * len(ACTIVE))})", ACTIVE
            ).fetchall()
        dead = [r["id"] for r in rows if not _alive(r["pid"], r["host"])]
        for run_id in dead:
            self._write(
                "UPDATE runs SET status='interrupted', finished_at=COALESCE(finished_at, ?),"
                " error=COALESCE(error, 'The process running it stopped before it finished.') WHERE id=? AND status IN ('queued','running')",
                (time.time(), run_id),
            )
        return len(dead)

    # --- reads --------------------------------------------------------------------------------------------
    def _record(self, row: sqlite3.Row, history: list[dict[str, Any]]) -> RunRecord:
        data = dict(row)
        for key in ("pid", "host"):
            data.pop(key)
        data["config"] = json.loads(data["config"])
        if data["model_dir"]:
            data["model_dir"] = str(self.home / data["model_dir"])  # absolute paths stay as they are
        return RunRecord(**data, history=history)

    def _histories(self, run_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Epochs of several runs in one query, grouped by run."""
        out: dict[int, list[dict[str, Any]]] = {run_id: [] for run_id in run_ids}
        if not run_ids:
            return out
        with self._connect() as db:
            rows = db.execute(
                f"SELECT * FROM epochs WHERE run_id IN ({','.join('?' * len(run_ids))}) ORDER BY run_id, epoch", run_ids
            ).fetchall()
        for row in rows:
            item = {k: row[k] for k in EPOCH_FIELDS}
            item["probes"] = json.loads(row["probes"]) if row["probes"] else None
            out[row["run_id"]].append(item)
        return out

    def history(self, run_id: int) -> list[dict[str, Any]]:
        return self._histories([run_id])[run_id]

    def get(self, run_id: int) -> RunRecord:
        self.recover()
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(f"There is no run #{run_id}.")
        return self._record(row, self.history(run_id))

    def list(self, *, statuses: tuple[str, ...] | None = None, with_history: bool = False) -> list[RunRecord]:
        """All runs, newest first."""
        self.recover()
        sql, args = "SELECT * FROM runs", ()
        if statuses:
            sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
            args = statuses
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY id DESC", args).fetchall()
        histories = self._histories([r["id"] for r in rows]) if with_history else {}
        return [self._record(r, histories.get(r["id"], [])) for r in rows]

    def changes(self) -> tuple[Any, ...]:
        """A token that differs once a run is added, deleted, gains an epoch, or starts, ends or dies.

        Cheap enough to poll every few seconds from a page that shows runs while they train.
        """
        self.recover()
        active = ",".join("?" * len(ACTIVE))
        with self._connect() as db:
            row = db.execute(
                "SELECT (SELECT COUNT(*) FROM runs), (SELECT COALESCE(MAX(id), 0) FROM runs), (SELECT COUNT(*) FROM epochs),"
                f" (SELECT group_concat(id || ':' || status) FROM runs WHERE status IN ({active}))", ACTIVE
            ).fetchone()
        return tuple(row)

    def usable(self) -> list[RunRecord]:
        """Runs with a saved model, newest first."""
        return [r for r in self.list(statuses=USABLE) if r.model_dir and r.test_accuracy is not None]

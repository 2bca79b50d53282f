"""Run history in SQLite (WAL): every run, its epochs as they finish, and where its model lives.

Each call opens its own short-lived connection, so any thread or process may write; SQLite's lock and a busy
timeout serialise the writers. A run left `queued` or `running` by a process that no longer exists is
reported as `interrupted`: on its own machine the process is recognised by pid, boot id and start time (a reused
pid is not mistaken for it), elsewhere by a heartbeat its process writes while the run is active.

The store never destroys what it did not make: a database that is missing, empty, garbage or cut off while run
folders exist stops every use with a message naming the file (`python -m core runs rebuild` restores the index
from the folders); a run writes only into a folder that did not exist or was empty, and deleting it removes only
the files of a run bundle.
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from core import bundle, config, registry
from core.baseline import Baseline
from core.config import DATABASE
from core.errors import RunActive, RunNotFoundError, StoreBusy, StoreError, disk_full
from core.plain import number
from core.run_record import ACTIVE, USABLE, RunRecord

SQLITE_MAGIC = b"SQLite format 3\x00"
IDLE_CONNECTIONS = 4  # open connections a store keeps for its next reads and writes
HEARTBEAT_SECONDS = 15.0  # how often a process notes that its active runs are still alive
STALE_SECONDS = 120.0  # a run from another machine with no heartbeat for this long is interrupted
MAX_ID = 2**63 - 1  # SQLite's largest integer
NEARLY_FULL_BYTES = 1 << 20  # a disk I/O error with less space than this left is taken for a full disk
REUSABLE_FOLDER = frozenset(bundle.PARTIALS + (bundle.MARKER,))  # what a run that saved no model may leave
REBUILD = "`python -m core runs rebuild` indexes the run folders again (it moves the broken file aside and keeps every folder)"

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
    error TEXT,
    dataset TEXT NOT NULL DEFAULT 'imdb',
    dataset_fingerprint TEXT
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    loss REAL, accuracy REAL, val_loss REAL, val_accuracy REAL, seconds REAL,
    probes TEXT,
    PRIMARY KEY (run_id, epoch)
);
"""
# Added after the first release; older databases gain them on open.
LATER_COLUMNS = {"process": "TEXT", "heartbeat_at": "REAL"}
# The data set a run trained on (runs from before data sets trained on IMDB), and its content's fingerprint.
DATASET_COLUMNS = {"dataset": "TEXT NOT NULL DEFAULT 'imdb'", "dataset_fingerprint": "TEXT"}
# Classroom: the owner's display name, and the id of the assignment link the run answered (null: none).
CLASSROOM_COLUMNS = {"owner_name": "TEXT", "assignment": "TEXT"}
# The reference figures on the run's split (`core.baseline`, JSON); runs recorded before have none.
BASELINE_COLUMNS = {"baseline": "TEXT"}

EPOCH_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")


def boot_id() -> str:
    """This kernel's boot id: processes of the same boot (and container host) share it. Read once per process: it
    cannot change while the process lives, and every read of the store asks for it once per active run."""
    return registry.shared(("boot_id",), _read_boot_id)


def _read_boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _signature(path: Path) -> tuple[int, ...] | None:
    """Which file `path` is now and its state (None when it is missing): any write to the database file itself, a
    replacement or a truncation changes it. In WAL mode, ordinary writes go to the -wal file and leave it alone."""
    try:
        found = path.stat()
    except OSError:
        return None
    return os.getpid(), found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns


def process_identity(pid: int) -> str | None:
    """`boot id:start time` of a live process, which a later process reusing its pid cannot share; None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the name in parentheses may hold spaces
    return f"{boot_id()}:{fields[19]}"  # field 22 of proc(5): start time in clock ticks after boot


def _alive(row: sqlite3.Row, now: float) -> bool:
    """Whether the process that owns an active run still exists.

    Same machine and boot: the recorded process identity must still be there (pid and start time). Anywhere else
    (another host or container, or a record without an identity) only a recent heartbeat keeps a run alive.
    """
    recorded = row["process"]
    if recorded and row["host"] == socket.gethostname() and recorded.split(":")[0] == boot_id():
        pid = row["pid"]
        if pid == os.getpid():  # this process's own runs, while a class trains: no /proc read per run and read
            return recorded == registry.shared(("process identity", pid), lambda: process_identity(pid))
        return pid is not None and process_identity(pid) == recorded
    last = next(t for t in (row["heartbeat_at"], row["started_at"], row["created_at"]) if t is not None)
    return now - last < STALE_SECONDS


def _run_folders(runs_dir: Path) -> list[Path]:
    """Folders under runs/ named by a run id, as the lab creates them."""
    try:
        return sorted((p for p in runs_dir.iterdir() if p.name.isdigit() and p.is_dir()), key=lambda p: int(p.name))
    except OSError:
        return []


def _free_bytes(folder: Path) -> int:
    """Space left for this user on the file system of `folder` (a large number when it cannot be told)."""
    try:
        found = os.statvfs(folder)
    except OSError:
        return 2**62
    return found.f_bavail * found.f_frsize


def _outcome_in(folder: Path, run_id: int) -> dict[str, Any] | None:
    """How run `run_id` ended, as its folder's marker noted it (`finish` writes it there before the database), when
    the folder agrees: a finished or stopped run's model is there. None when the folder does not say."""
    mark = bundle.marker(folder) or {}
    status = mark.get("status")
    if mark.get("run_id") != run_id or status not in USABLE + ("failed",):
        return None
    if status in USABLE and not (folder / bundle.MODEL).is_file():
        return None
    error = mark.get("error")
    return {"status": status, "error": error if isinstance(error, str) else None,
            "baseline": Baseline.from_dict(mark.get("baseline")),
            **{k: number(mark.get(k)) for k in ("train_seconds", "test_accuracy", "test_loss")}}


def _saved_history(folder: Path) -> list[dict[str, Any]]:
    """The epochs a run folder's history.json holds (none when it is missing or not a list of epochs)."""
    try:
        history = json.loads((folder / bundle.HISTORY).read_text())
    except (OSError, ValueError):
        return []
    return [e for e in history if isinstance(e, dict) and isinstance(e.get("epoch"), int)] if isinstance(
        history, list) else []


def _head(path: Path) -> bytes:
    """The file's first 100 bytes, read through one descriptor per file that stays open for the life of the process
    (core.registry). SQLite's locks are POSIX locks, which the close() of any descriptor of the file drops for the
    whole process: opening and closing the file to look at it while connections are open would let another process
    take itself for the last user, checkpoint the WAL away under them, and leave them with disk I/O errors."""
    found = path.stat()
    fd = registry.shared(("database-head", os.getpid(), found.st_dev, found.st_ino),
                         lambda: os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    return os.pread(fd, 100, 0)


def file_problem(path: Path, runs_dir: Path) -> str | None:
    """What is wrong with the database file, judged from its size and header without opening it; None if nothing."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = None
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not size:  # a new lab's database does not exist yet, or is still empty: fine, unless runs were kept here
        folders = len(_run_folders(runs_dir))
        what = "is missing" if size is None else "is empty (0 bytes)"
        return f"{what}, but {runs_dir} holds {folders} run folder(s)" if folders else None
    try:
        head = _head(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
        return "is not a SQLite database (overwritten or garbage)"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    if pages and head[24:28] == head[92:96] and size < pages * page_size:  # the header's page count is valid
        return f"is cut off: it holds {size:,} of its {pages * page_size:,} bytes"
    return None


class RunStore:
    """The run database under SENTIMENT_LAB_HOME (or `home`), with model folders beside it.

    `rebuilding` is for `rebuild` alone: it accepts a missing database beside existing run folders.

    A page view reads the store several times, and opening a connection (the file, its schema) cost more than the
    queries; so the store keeps a few connections open between uses, for as long as the database file is the same
    one in the same state (`_signature`), and any thread may take one. A file that was replaced, cut, overwritten or
    deleted is opened anew, so it is reported as before.
    """

    def __init__(self, home: Path | None = None, *, rebuilding: bool = False,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self.home = Path(home) if home is not None else config.lab_home()
        self.path = self.home / DATABASE
        self._heartbeat_seconds = heartbeat_seconds
        self._beat_lock = threading.Lock()
        self._beating: set[int] = set()  # active runs created through this store, kept alive by its heartbeat
        self._beater: threading.Thread | None = None
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []  # open connections, all to the file of signature `_idle_for`
        self._idle_for: tuple[int, ...] | None = None
        self._sound: tuple[int, ...] | None = None  # the signature of the file as `check` last found it sound
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"The lab folder {self.home} cannot be created ({exc.strerror or exc}): point "
                             f"{config.HOME_ENV} at a writable folder.") from None
        if not rebuilding:
            self._refuse_broken_file()
        with self._connect(create=True) as db:
            found = db.execute("PRAGMA quick_check").fetchone()[0]
            if found != "ok":
                raise StoreError(self._broken(f"is damaged ({found})"))
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            db.execute("BEGIN IMMEDIATE")  # two processes opening an older database add its columns once
            have = {row["name"] for row in db.execute("PRAGMA table_info(runs)")}
            for column, kind in (LATER_COLUMNS | DATASET_COLUMNS | CLASSROOM_COLUMNS | BASELINE_COLUMNS).items():
                if column not in have:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
            db.execute("COMMIT")

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    def _broken(self, problem: str) -> str:
        return (f"The run database {self.path} {problem}. It was left as it is, and nothing was written; {REBUILD}, "
                f"or point {config.HOME_ENV} at another folder.")

    def _refuse_broken_file(self) -> None:
        problem = file_problem(self.path, self.runs_dir)
        if problem:
            raise StoreError(self._broken(problem))

    def check(self) -> RunStore:
        """This store, after a cheap look at its file (for pages, before each use); a StoreError when it broke.

        The file's header is read again only when the file changed since it was last found sound."""
        found = _signature(self.path)
        if found is None or found != self._sound:
            self._refuse_broken_file()
            self._sound = found
        return self

    @contextmanager
    def _connect(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection (an idle one when the file is unchanged); SQLite errors become StoreErrors. Only `create`
        may make the file: a database deleted while the lab runs is reported, never silently replaced by an empty
        one. Read rows with fetchone/fetchall on the spot: a cursor kept past the `with` block would hold a read
        snapshot, and the connection's next user would see the runs as they were then."""
        found = None if create else _signature(self.path)
        db = self._reuse(found) if found is not None else None
        if db is None:
            db = self._open(create)
        try:
            yield db
        except sqlite3.Error as exc:
            db.close()
            raise self._error(exc) from None
        except BaseException:
            db.close()
            raise
        self._release(db, found)

    def _open(self, create: bool) -> sqlite3.Connection:
        uri = f"{self.path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"
        wait = config.db_wait_seconds()  # SQLite retries a locked database, backing off, for this long
        try:
            db = sqlite3.connect(uri, uri=True, timeout=wait, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            db.execute(f"PRAGMA busy_timeout={wait * 1000}")
        except sqlite3.Error as exc:
            db.close()
            raise self._error(exc) from None
        return db

    def _reuse(self, found: tuple[int, ...]) -> sqlite3.Connection | None:
        """An idle connection to the file as it is now; idle connections to a changed file are closed."""
        with self._pool_lock:
            if found == self._idle_for and self._idle:
                return self._idle.pop()
            stale, self._idle = self._idle, []
        for db in stale:
            db.close()
        return None

    def _release(self, db: sqlite3.Connection, found: tuple[int, ...] | None) -> None:
        """Keep a connection for the next use, unless the file changed meanwhile, a transaction was left open, or
        enough are kept already."""
        with self._pool_lock:
            keep = (found is not None and not db.in_transaction and len(self._idle) < IDLE_CONNECTIONS
                    and (self._idle_for == found or not self._idle))
            if keep:
                self._idle_for = found
                self._idle.append(db)
        if not keep:
            db.close()

    def _error(self, exc: sqlite3.Error) -> StoreError:
        if getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return StoreBusy(f"The run database {self.path} is busy: another program has held it locked for more "
                             f"than {config.db_wait_seconds()} s ({config.DB_WAIT_ENV}), and nothing is wrong with "
                             "it. Close what holds it (a `sqlite3` shell or a database browser in the middle of a "
                             "change).")
        if disk_full(exc) or ((getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF == sqlite3.SQLITE_IOERR
                              and _free_bytes(self.home) < NEARLY_FULL_BYTES):
            return StoreError(f"The disk holding the run database {self.path} is full: free some space (or point "
                              f"{config.HOME_ENV} at a larger disk) and try again.")
        problem = file_problem(self.path, self.runs_dir)
        if problem:
            return StoreError(self._broken(problem))
        if not os.access(self.home, os.W_OK) or "readonly" in str(exc) or "unable to open" in str(exc):
            return StoreError(f"The run database {self.path} cannot be opened for writing ({exc}): the lab needs a "
                              f"writable folder; point {config.HOME_ENV} at one.")
        return StoreError(self._broken(f"cannot be used ({exc})"))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once (a busy database is waited for here, not half-way through)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._transaction() as db:
            return db.execute(sql, args)

    # --- writes -------------------------------------------------------------------------------------------
    def create(self, preset: str, config_values: dict[str, Any], owner: str | None = None, *,
               owner_name: str | None = None, assignment: str | None = None) -> int:
        """A queued run of `config_values` (its data set is the configuration's `dataset`, IMDB when absent)."""
        pid = os.getpid()
        cur = self._write(
            "INSERT INTO runs (preset, config, status, owner, pid, host, process, heartbeat_at, created_at, dataset,"
            " owner_name, assignment) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (preset, json.dumps(config_values), owner, pid, socket.gethostname(), process_identity(pid), time.time(),
             time.time(), config_values.get("dataset") or "imdb", owner_name, assignment),
        )
        run_id = int(cur.lastrowid)
        self._keep_alive(run_id)
        return run_id

    def _stored_dir(self, folder: Path) -> str:
        """How a folder is recorded: relative to the lab home when inside it, so a moved home keeps its models."""
        path = Path(folder).absolute()
        try:
            path = path.relative_to(self.home.absolute())
        except ValueError:
            pass
        return str(path)

    def set_model_dir(self, run_id: int, model_dir: Path) -> None:
        self._write("UPDATE runs SET model_dir=? WHERE id=?", (self._stored_dir(model_dir), run_id))

    def user_of(self, folder: Path) -> int | None:
        """The run whose folder this is, if any."""
        with self._connect() as db:
            row = db.execute("SELECT id FROM runs WHERE model_dir=? ORDER BY id LIMIT 1",
                             (self._stored_dir(folder),)).fetchone()
        return None if row is None else int(row["id"])

    def check_folder(self, folder: Path) -> None:
        """Refuse a run folder the lab may not write into, before anything is trained: one that another run uses,
        a non-empty folder (a user's files, or another run's model), a file, or a place that cannot be written."""
        folder = Path(folder).absolute()
        used = self.user_of(folder)
        if used is not None and used != self.failed_runs_folder(folder):
            raise StoreError(f"{folder} is already the folder of run #{used}: choose a new or empty folder, so "
                             "that run's model is not replaced.")
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                raise StoreError(f"{folder} is a file, not a folder: choose a new or empty folder for the run.")
            try:
                found = sorted(p.name for p in folder.iterdir())
            except OSError as exc:
                raise StoreError(f"{folder} cannot be read ({exc.strerror}): choose another folder.") from None
            if found and self.failed_runs_folder(folder) is None:
                what = ("another run's model" if bundle.MODEL in found or bundle.MARKER in found
                        else "files that are not a run's (" + ", ".join(found[:3]) + (", …" if len(found) > 3 else "") + ")")
                raise StoreError(f"{folder} is not empty: it holds {what}. Choose a new or empty folder; the lab "
                                 "never writes into a folder with other files in it.")
            existing = folder
        else:
            existing = folder.parent
            while not existing.exists() and existing != existing.parent:
                existing = existing.parent
            if not existing.is_dir():
                raise StoreError(f"{folder} cannot be created: {existing} is a file, not a folder.")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise StoreError(f"{folder} cannot be written: {existing} is not writable.")

    def failed_runs_folder(self, folder: Path) -> int | None:
        """The id of the run whose folder this was, when that run ended without saving a model (only its marker is
        left) and may give the folder to a new run; None otherwise."""
        try:
            found = {p.name for p in folder.iterdir()}
        except OSError:
            return None
        mark = bundle.marker(folder) if found and found <= REUSABLE_FOLDER else None
        run_id = mark.get("run_id") if mark else None
        if not isinstance(run_id, int) or isinstance(run_id, bool) or not 0 < run_id <= MAX_ID:
            return None
        try:
            if self.get(run_id).status in ACTIVE:
                return None
        except RunNotFoundError:
            pass
        return run_id

    def claim_folder(self, run_id: int, out_dir: Path | None = None) -> Path:
        """Give a new run its folder: `out_dir` when it is new or empty, else runs/<id>, which must not exist yet.

        A refused folder removes the run's record again (it never started) and raises a StoreError.
        """
        default = out_dir is None
        folder = (self.runs_dir / str(run_id)) if default else Path(out_dir).absolute()
        try:
            if default:
                try:
                    folder.mkdir(parents=True)
                except FileExistsError:
                    raise StoreError(self._broken(
                        f"has no run #{run_id}, but its folder {folder} exists: the database does not match the run "
                        "folders (was it replaced?)")) from None
                created, earlier = True, None
            else:
                self.check_folder(folder)
                earlier = self.failed_runs_folder(folder)
                if earlier is None:
                    created = not folder.exists()
                else:  # a failed run's folder: it was the lab's if that run's marker says so
                    created = bool((bundle.marker(folder) or {}).get("created_folder"))
                    bundle.remove_partials(folder)
                folder.mkdir(parents=True, exist_ok=True)
            with self._transaction() as db:  # one transaction: two runs can never claim the same folder
                if earlier is not None:  # the failed run gives its folder up (it has no model)
                    db.execute(f"UPDATE runs SET model_dir=NULL WHERE id=? AND model_dir=? AND status NOT IN "
                               f"({','.join('?' * len(ACTIVE))})", (earlier, self._stored_dir(folder), *ACTIVE))
                row = db.execute("SELECT id FROM runs WHERE model_dir=? AND id != ?",
                                 (self._stored_dir(folder), run_id)).fetchone()
                if row is None:
                    db.execute("UPDATE runs SET model_dir=? WHERE id=?", (self._stored_dir(folder), run_id))
            if row is not None:
                raise StoreError(f"{folder} is already the folder of run #{row['id']}: choose a new or empty folder.")
            record = self.get(run_id)
            bundle.claim(folder, run_id, created, {"preset": record.preset, "config": record.config,
                                                   "owner": record.owner, "created_at": record.created_at,
                                                   "owner_name": record.owner_name, "assignment": record.assignment})
        except OSError as exc:
            self._forget(run_id)
            raise StoreError(f"The run folder {folder} cannot be written ({exc.strerror or exc}).") from None
        except BaseException:
            self._forget(run_id)
            raise
        return folder

    def _forget(self, run_id: int) -> None:
        """Drop the record of a run that never started."""
        self._stop_beating(run_id)
        self._write("DELETE FROM runs WHERE id=?", (run_id,))

    def set_dataset_fingerprint(self, run_id: int, fingerprint: str) -> None:
        """The fingerprint of the data set content a run trains on, noted once the data is loaded."""
        self._write("UPDATE runs SET dataset_fingerprint=? WHERE id=?", (fingerprint, run_id))

    def mark_running(self, run_id: int) -> None:
        self._write("UPDATE runs SET status='running', started_at=?, heartbeat_at=? WHERE id=?",
                    (time.time(), time.time(), run_id))

    def add_epoch(self, run_id: int, metrics: dict[str, Any], probes: list[float] | None = None) -> None:
        with self._transaction() as db:
            self._insert_epoch(db, run_id, metrics, probes)

    @staticmethod
    def _insert_epoch(db: sqlite3.Connection, run_id: int, metrics: dict[str, Any], probes: list[float] | None) -> None:
        db.execute(
            "INSERT OR REPLACE INTO epochs (run_id, epoch, loss, accuracy, val_loss, val_accuracy, seconds, probes)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, *(metrics.get(k) for k in EPOCH_FIELDS), json.dumps(probes) if probes is not None else None),
        )

    def finish(self, run_id: int, status: str, *, train_seconds: float | None = None, test_accuracy: float | None = None,
               test_loss: float | None = None, error: str | None = None, baseline: Baseline | None = None,
               history: Sequence[tuple[dict[str, Any], list[float] | None]] = ()) -> None:
        """Record how a run ended, with its epochs (`history`: metrics and pinned scores, written again in the same
        transaction, for epochs whose own write failed) and the baseline figures of its split. The run folder's marker gets the outcome first, so a run
        the database cannot record now (busy, full) is recorded from its folder later (`_recover`)."""
        self._stop_beating(run_id)
        try:
            with self._connect() as db:
                row = db.execute("SELECT model_dir FROM runs WHERE id=?", (run_id,)).fetchone()
        except StoreError:
            row = None
        if row is not None and row["model_dir"]:
            bundle.note_outcome(self.home / row["model_dir"], status=status, train_seconds=train_seconds,
                                test_accuracy=test_accuracy, test_loss=test_loss, error=error,
                                baseline=baseline.to_dict() if baseline else None)
        with self._transaction() as db:
            for metrics, probes in history:
                self._insert_epoch(db, run_id, metrics, probes)
            db.execute("UPDATE runs SET status=?, finished_at=?, train_seconds=?, test_accuracy=?, test_loss=?, error=?,"
                       " baseline=? WHERE id=?", (status, time.time(), train_seconds, test_accuracy, test_loss, error,
                                                 _baseline_text(baseline), run_id))

    def update_text(self, run_id: int, *, name: str | None = None, note: str | None = None) -> None:
        """Rename or annotate a run (who may is the classroom's rule: `core.classroom.guarded`)."""
        self.get(run_id)  # a RunNotFoundError for a run that is not there
        if name is not None:
            self._write("UPDATE runs SET name=? WHERE id=?", (name.strip(), run_id))
        if note is not None:
            self._write("UPDATE runs SET note=? WHERE id=?", (note.strip(), run_id))

    def delete(self, run_id: int) -> RunRecord:
        """Remove the record and its epochs, and of its folder only the run's own files (the folder too when the lab
        made it and nothing else is in it), and forget what this process loaded from that folder; returns the
        record removed. A queued or training run is refused (RunActive): its training still writes there. Who may
        delete is the classroom's rule (`core.classroom.guarded`)."""
        record = self.get(run_id)
        if record.active:
            raise RunActive(f"Run #{run_id} is {record.status}: stop it on the Train page before deleting it.")
        if record.model_dir:
            folder = Path(record.model_dir)
            bundle.remove(folder, lab_made=folder.absolute() == (self.runs_dir / str(run_id)).absolute())
            registry.forget_about(str(folder.resolve()))
        self._write("DELETE FROM runs WHERE id=?", (run_id,))
        return record

    # --- liveness -----------------------------------------------------------------------------------------
    def _keep_alive(self, run_id: int) -> None:
        with self._beat_lock:
            self._beating.add(run_id)
            if self._beater is None:
                self._beater = threading.Thread(target=self._beat, name="run-heartbeat", daemon=True)
                self._beater.start()

    def _stop_beating(self, run_id: int) -> None:
        with self._beat_lock:
            self._beating.discard(run_id)

    def _beat(self) -> None:
        """While this process has active runs, note every few seconds that they are alive; then end."""
        while True:
            time.sleep(self._heartbeat_seconds)
            with self._beat_lock:
                ids = sorted(self._beating)
                if not ids:
                    self._beater = None
                    return
            try:
                self._write(f"UPDATE runs SET heartbeat_at=? WHERE id IN ({','.join('?' * len(ids))})",
                            (time.time(), *ids))
            except StoreError:
                pass  # a broken database is reported by whoever reads it; the heartbeat tries again

    def recover(self) -> int:
        """Mark runs whose process died while they were queued or running as interrupted, and delete the partial
        files their interrupted saves left; returns how many."""
        with self._connect() as db:
            return self._recover(db)

    def _recover(self, db: sqlite3.Connection) -> int:
        """`recover` on a connection a read opened anyway: pages read the store on every view, and a connection
        (opening the file, reading its schema) cost more than the query."""
        rows = db.execute(
            f"SELECT * FROM runs WHERE status IN ({','.join('?' * len(ACTIVE))})", ACTIVE
        ).fetchall()
        now = time.time()
        dead = [r for r in rows if not _alive(r, now)]
        for row in dead:
            folder = self.home / row["model_dir"] if row["model_dir"] else None
            outcome = _outcome_in(folder, row["id"]) if folder is not None else None
            if outcome is not None:
                self._record_outcome(row["id"], folder, outcome, now)
            else:
                self._write(
                    "UPDATE runs SET status='interrupted', finished_at=COALESCE(finished_at, ?), error=COALESCE(error,"
                    " 'The process running it stopped before it finished.') WHERE id=? AND status IN ('queued','running')",
                    (now, row["id"]),
                )
            if folder is not None:
                bundle.remove_partials(folder)
        return len(dead)

    def _record_outcome(self, run_id: int, folder: Path, outcome: dict[str, Any], now: float) -> None:
        """Record how a run ended from its folder (the database could not be written when it ended), with the
        epochs of its saved history that the database lacks."""
        with self._transaction() as db:
            for epoch in _saved_history(folder):
                db.execute("INSERT OR IGNORE INTO epochs (run_id, epoch, loss, accuracy, val_loss, val_accuracy,"
                           " seconds) VALUES (?, ?, ?, ?, ?, ?, ?)", (run_id, *(epoch.get(k) for k in EPOCH_FIELDS)))
            db.execute("UPDATE runs SET status=?, finished_at=COALESCE(finished_at, ?), train_seconds=?,"
                       " test_accuracy=?, test_loss=?, error=?, baseline=? WHERE id=?"
                       " AND status IN ('queued','running')",
                       (outcome["status"], now, *(outcome[k] for k in ("train_seconds", "test_accuracy", "test_loss",
                                                                      "error")),
                        _baseline_text(outcome["baseline"]), run_id))

    # --- reads --------------------------------------------------------------------------------------------
    def _record(self, row: sqlite3.Row, history: list[dict[str, Any]]) -> RunRecord:
        """A runs row as a RunRecord, each value checked (`RunRecord.from_dict`)."""
        data = {**dict(row), "history": history}
        for key in ("config", "baseline"):
            data[key] = _json_value(data[key])
        if isinstance(data["model_dir"], str) and data["model_dir"]:
            data["model_dir"] = str(self.home / data["model_dir"])  # absolute paths stay as they are
        return RunRecord.from_dict(data)

    def _histories(self, run_ids: list[int], db: sqlite3.Connection | None = None) -> dict[int, list[dict[str, Any]]]:
        """Epochs of several runs in one query, grouped by run (on `db` when a read has one open)."""
        out: dict[int, list[dict[str, Any]]] = {run_id: [] for run_id in run_ids}
        if not run_ids:
            return out
        if db is None:
            with self._connect() as db:
                return self._histories(run_ids, db)
        rows = db.execute(
            f"SELECT * FROM epochs WHERE run_id IN ({','.join('?' * len(run_ids))}) ORDER BY run_id, epoch", run_ids
        ).fetchall()
        for row in rows:
            out[row["run_id"]].append(_checked_epoch(row))
        return out

    def history(self, run_id: int) -> list[dict[str, Any]]:
        return self._histories([run_id])[run_id]

    def get(self, run_id: int) -> RunRecord:
        if not 0 < run_id <= MAX_ID:
            raise RunNotFoundError(f"There is no run #{run_id}: run ids are whole numbers from 1.")
        with self._connect() as db:
            self._recover(db)
            row = db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFoundError(f"There is no run #{run_id}.")
            return self._record(row, self._histories([run_id], db)[run_id])

    def list(self, *, statuses: tuple[str, ...] | None = None, with_history: bool = False,
             dataset: str | None = None) -> list[RunRecord]:
        """All runs (with one of `statuses`, of one `dataset`, when given), newest first."""
        where, args = [], ()
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args += tuple(statuses)
        if dataset is not None:
            where.append("dataset = ?")
            args += (dataset,)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        with self._connect() as db:
            self._recover(db)
            rows = db.execute(sql + " ORDER BY id DESC", args).fetchall()
            histories = self._histories([r["id"] for r in rows], db) if with_history else {}
        return [self._record(r, histories.get(r["id"], [])) for r in rows]

    def changes(self) -> tuple[Any, ...]:
        """A token that differs once a run is added, deleted, gains an epoch, or starts, ends or dies.

        Cheap enough to poll every few seconds from a page that shows runs while they train.
        """
        active = ",".join("?" * len(ACTIVE))
        with self._connect() as db:
            self._recover(db)
            row = db.execute(
                "SELECT (SELECT COUNT(*) FROM runs), (SELECT COALESCE(MAX(id), 0) FROM runs), (SELECT COUNT(*) FROM epochs),"
                f" (SELECT group_concat(id || ':' || status) FROM runs WHERE status IN ({active}))", ACTIVE
            ).fetchone()
        return tuple(row)

    def runs_of_dataset(self, name: str) -> list[RunRecord]:
        """The runs that trained (or wait to train) on data set `name`, newest first: the Runs filter, and what
        removing a data set asks confirmation for."""
        return self.list(dataset=name)

    def usable(self) -> list[RunRecord]:
        """Runs with a saved model, newest first."""
        return [r for r in self.list(statuses=USABLE) if r.model_dir and r.test_accuracy is not None]


# --- what is read back is checked: a tampered record or folder never reaches a page as the wrong type ---------------
def _json_value(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, (str, bytes)) else None
    except ValueError:
        return None


def _checked_epoch(row: sqlite3.Row | dict[str, Any]) -> dict[str, Any]:
    """One epoch's metrics as numbers (None where the stored value is not one) and its probe scores."""
    item = {k: number(row[k]) for k in EPOCH_FIELDS}
    item["epoch"] = int(item["epoch"]) if item["epoch"] is not None else 0
    probes = _json_value(row["probes"]) if row["probes"] else None
    item["probes"] = [_probe(p) for p in probes] if isinstance(probes, list) else None
    return item


def _probe(value: Any) -> float | list[float | None] | None:
    """One pinned review's score: P(label 1) of a binary model, or each class's probability of a 3+ class one."""
    return [number(p) for p in value] if isinstance(value, list) else number(value)


def _set_aside(path: Path) -> Path | None:
    """Move a broken database (and its WAL files) out of the way under a dated name; never delete it."""
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.broken-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            part.rename(aside.with_name(aside.name + suffix))
    return aside


def rebuild(home: Path | None = None) -> tuple[RunStore, list[int], Path | None, list[tuple[Path, str]]]:
    """Index again every run folder under runs/ that the database lacks: the cure for a lost, emptied or broken
    database. A broken database file is moved aside (never deleted); a healthy one keeps its records. A folder that
    cannot be indexed (a tampered or unreadable record) is skipped and reported; the others are indexed.

    Returns the store, the ids of the runs added back, where a broken file was moved, and each skipped folder
    with the reason.
    """
    home = Path(home) if home is not None else config.lab_home()
    path, runs_dir = home / DATABASE, home / "runs"
    aside = None
    if file_problem(path, runs_dir) or (path.exists() and path.stat().st_size == 0):
        aside = _set_aside(path)
    try:
        store = RunStore(home, rebuilding=True)
    except StoreError:
        aside = _set_aside(path)  # damaged inside, behind a sound header
        store = RunStore(home, rebuilding=True)
    with store._connect() as db:
        known = {int(row["id"]) for row in db.execute("SELECT id FROM runs")}
    added, skipped = [], []
    for folder in _run_folders(runs_dir):
        run_id = int(folder.name)
        if run_id in known or not 0 < run_id <= MAX_ID:
            continue
        try:
            _index_folder(store, run_id, folder)
        except (ValueError, TypeError, OSError) as exc:
            skipped.append((folder, str(exc)))
            continue
        added.append(run_id)
    return store, added, aside, skipped


def _marker_number(mark: dict[str, Any], key: str) -> float | None:
    """A number the folder's marker holds (None when it holds none); a ValueError when it holds something else."""
    value = mark.get(key)
    if value is not None and number(value) is None:
        raise ValueError(f"its marker's {key} is {str(value)[:40]!r}, not a number")
    return number(value)


def _baseline_text(figures: Baseline | None) -> str | None:
    """The baseline column's value: the figures as JSON, or NULL when there are none."""
    return json.dumps(figures.to_dict()) if figures else None


def _index_folder(store: RunStore, run_id: int, folder: Path) -> None:
    """Record one run folder in the database, or raise ValueError saying what in it cannot be trusted."""
    mark = bundle.marker(folder)
    if mark is None and (folder / bundle.MARKER).exists():
        raise ValueError(f"its marker {bundle.MARKER} is not readable JSON")
    mark = mark or {}
    saved = _json_value(_read_text(folder / bundle.CONFIG))
    if saved is None:
        saved = mark.get("config")
    if not isinstance(saved, dict) or not isinstance(saved.get("preset"), str):
        raise ValueError(f"neither {bundle.CONFIG} nor its marker says what was trained")
    history = _saved_history(folder)
    finished = (folder / bundle.MODEL).is_file()
    status = mark.get("status") if finished and mark.get("status") in USABLE else "finished"
    accuracy = _marker_number(mark, "test_accuracy")
    if accuracy is not None and not 0 <= accuracy <= 1:
        raise ValueError(f"its marker's test_accuracy is {accuracy:g}, not between 0 and 1")
    created = _marker_number(mark, "created_at") or folder.stat().st_mtime
    try:
        dataset = bundle.dataset_info(folder)
    except (OSError, ValueError):
        dataset = {}  # the run's configuration still names its data set; only the fingerprint is unknown
    texts = {key: None if mark.get(key) is None else str(mark[key]) for key in ("owner", "owner_name", "assignment")}
    with store._transaction() as db:
        db.execute(
            "INSERT INTO runs (id, preset, config, status, owner, created_at, finished_at, train_seconds,"
            " test_accuracy, test_loss, model_dir, error, dataset, dataset_fingerprint, owner_name, assignment,"
            " baseline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, saved["preset"], json.dumps(saved), status if finished else "interrupted",
             texts["owner"], created, folder.stat().st_mtime, _marker_number(mark, "train_seconds"),
             accuracy, _marker_number(mark, "test_loss"), store._stored_dir(folder),
             None if finished else "Restored by `runs rebuild`: the run has no saved model.",
             str(saved.get("dataset") or "imdb"), dataset.get("fingerprint"), texts["owner_name"],
             texts["assignment"], _baseline_text(Baseline.from_dict(mark.get("baseline")))),
        )
        for epoch in history:
            db.execute(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, loss, accuracy, val_loss, val_accuracy, seconds)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (run_id, epoch["epoch"], *(number(epoch.get(k)) for k in
                                                                            EPOCH_FIELDS[1:])))


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None

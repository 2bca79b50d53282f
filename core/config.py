"""Where the lab finds its data and keeps its runs, read from the environment on every call."""
from __future__ import annotations

import os
from pathlib import Path

from core.errors import ConfigError

DATA_DIR_ENV = "IMDB_DATA_DIR"
HOME_ENV = "SENTIMENT_LAB_HOME"
DATABASE = "runs.sqlite3"  # the run store, in the lab home; its presence marks a lab home in use
MAX_TRAININGS_ENV = "SENTIMENT_LAB_MAX_TRAININGS"
MAX_TRAININGS_HIGH = 16
TRAINING_NICE_ENV = "SENTIMENT_LAB_TRAINING_NICE"
TRAINING_NICE_DEFAULT = 19
MAX_TRAINING_GB_ENV = "SENTIMENT_LAB_MAX_TRAINING_GB"
MAX_TRAINING_SHARE = 0.5  # of the machine's memory, when SENTIMENT_LAB_MAX_TRAINING_GB is unset
MAX_TRAINING_GB_HIGH = 4096.0
MAX_UPLOAD_ENV = "SENTIMENT_LAB_MAX_UPLOAD_MB"
MAX_UPLOAD_MB_DEFAULT = 200
MAX_QUEUED_PER_USER_ENV = "SENTIMENT_LAB_MAX_QUEUED_PER_USER"
MAX_STUDENT_DATASETS_ENV = "SENTIMENT_LAB_MAX_STUDENT_DATASETS_MB"
MAX_STUDENT_DATASETS_MB_DEFAULT = 200
MAX_TRAINING_MINUTES_ENV = "SENTIMENT_LAB_MAX_TRAINING_MINUTES"
MAX_TRAINING_MINUTES_DEFAULT = 120
DB_WAIT_ENV = "SENTIMENT_LAB_DB_WAIT_SECONDS"
DB_WAIT_DEFAULT = 120


def data_dir() -> Path | None:
    """The local IMDB folder, when the user has pointed us at one."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def lab_home_path() -> Path:
    """Where the lab's folder is, whether or not it exists yet."""
    value = os.environ.get(HOME_ENV, "").strip()
    return Path(value).expanduser() if value else Path.home() / ".sentiment-lab"


def lab_home() -> Path:
    """The folder for the run database and model files (created when missing); never inside the repository."""
    home = lab_home_path()
    if home.is_dir():  # pages ask on every view: one stat, not a failed mkdir
        return home
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{HOME_ENV}={str(home)!r} cannot be used as the lab's folder ({exc.strerror or exc}): "
                          f"point {HOME_ENV} at a writable folder.") from None
    return home


def _whole_number(name: str, low: int, high: int, default: int, meaning: str) -> int:
    """An integer setting from the environment, or a ConfigError that names it and its range."""
    value = _number(name, low, high, f"a whole number from {meaning}", int)
    return default if value is None else int(value)


def _number(name: str, low: float, high: float, wording: str, kind: type = float) -> float | None:
    """A number setting from the environment (None when unset), or a ConfigError that names it and its range."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also false for nan
        raise ConfigError(f"{name} must be {wording}, not {raw!r}.")
    return value


def max_concurrent_trainings() -> int:
    """How many trainings may run at once on this server (SENTIMENT_LAB_MAX_TRAININGS: 1 to 16, default 1); when it
    is unset, a server runs two small trainings at once (`core.concurrency`)."""
    return _whole_number(MAX_TRAININGS_ENV, 1, MAX_TRAININGS_HIGH, 1,
                         f"1 to {MAX_TRAININGS_HIGH} (trainings at once on this server)")


def max_queued_per_user() -> int:
    """How many queued (not yet started) runs one student may have (SENTIMENT_LAB_MAX_QUEUED_PER_USER: 1 to 100,
    default 1), so one student cannot queue ten runs ahead of the class; the teacher has no limit."""
    return _whole_number(MAX_QUEUED_PER_USER_ENV, 1, 100, 1, "1 to 100 (queued runs per student)")


def max_training_minutes() -> int:
    """The longest estimated wait one training may have, in minutes (SENTIMENT_LAB_MAX_TRAINING_MINUTES: 1 to 10080,
    default 120), so a link to a configuration of weeks is refused as one needing too much memory is."""
    return _whole_number(MAX_TRAINING_MINUTES_ENV, 1, 10080, MAX_TRAINING_MINUTES_DEFAULT,
                         "1 to 10080 (minutes one training may be estimated to take)")


def db_wait_seconds() -> int:
    """How long a write waits for a run database another program holds locked (SENTIMENT_LAB_DB_WAIT_SECONDS: 1 to
    3600, default 120), retrying as the lock allows, before it gives up with a message."""
    return _whole_number(DB_WAIT_ENV, 1, 3600, DB_WAIT_DEFAULT, "1 to 3600 (seconds a write waits for a busy run "
                         "database)")


def training_nice() -> int:
    """How far training steps back for page views and scoring (SENTIMENT_LAB_TRAINING_NICE: 0 to 19, default 19).

    19 gives training every idle cycle but lets anything else on the machine go first; 0 trains at normal priority.
    """
    return _whole_number(TRAINING_NICE_ENV, 0, 19, TRAINING_NICE_DEFAULT, "0 (normal priority) to 19 (lowest)")


def machine_memory_bytes() -> int:
    """Total RAM of this machine (or of the container's cgroup limit, when that is lower)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total


def max_training_bytes() -> int:
    """The most memory one training may be estimated to need (SENTIMENT_LAB_MAX_TRAINING_GB, default half the RAM).

    A configuration above it is refused before anything is allocated, so one link cannot take the server down.
    """
    value = _number(MAX_TRAINING_GB_ENV, 0.1, MAX_TRAINING_GB_HIGH,
                    f"a number of gigabytes from 0.1 to {MAX_TRAINING_GB_HIGH:g}")
    return int(machine_memory_bytes() * MAX_TRAINING_SHARE) if value is None else int(value * 2**30)


def max_upload_bytes() -> int:
    """The largest labelled-text file (or total text of a folder or archive) an import accepts
    (SENTIMENT_LAB_MAX_UPLOAD_MB, default 200)."""
    value = _number(MAX_UPLOAD_ENV, 1e-6, 1e9, "a positive number of megabytes")
    return int((MAX_UPLOAD_MB_DEFAULT if value is None else value) * 2**20)


def max_student_dataset_bytes() -> int:
    """How much stored data-set space the imports of one student may take together
    (SENTIMENT_LAB_MAX_STUDENT_DATASETS_MB, default 200); the teacher has no limit."""
    value = _number(MAX_STUDENT_DATASETS_ENV, 0, 1e9, "a number of megabytes, 0 or more")
    return int((MAX_STUDENT_DATASETS_MB_DEFAULT if value is None else value) * 2**20)

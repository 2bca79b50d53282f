"""Where the lab finds its data and keeps its runs, read from the environment on every call."""
from __future__ import annotations

import os
from pathlib import Path

from core.errors import ConfigError

DATA_DIR_ENV = "IMDB_DATA_DIR"
HOME_ENV = "SENTIMENT_LAB_HOME"
TRAINING_NICE_ENV = "SENTIMENT_LAB_TRAINING_NICE"
TRAINING_NICE_DEFAULT = 19


def data_dir() -> Path | None:
    """The local IMDB folder, when the user has pointed us at one."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def lab_home() -> Path:
    """The folder for the run database and model files; never inside the repository."""
    value = os.environ.get(HOME_ENV, "").strip()
    home = Path(value).expanduser() if value else Path.home() / ".sentiment-lab"
    home.mkdir(parents=True, exist_ok=True)
    return home


def max_concurrent_trainings() -> int:
    """How many trainings may run at once on this server (SENTIMENT_LAB_MAX_TRAININGS, default 1)."""
    try:
        return max(1, int(os.environ.get("SENTIMENT_LAB_MAX_TRAININGS", "1")))
    except ValueError:
        return 1


def training_nice() -> int:
    """How far training steps back for page views and scoring (SENTIMENT_LAB_TRAINING_NICE: 0 to 19, default 19).

    19 gives training every idle cycle but lets anything else on the machine go first; 0 trains at normal priority.
    """
    raw = os.environ.get(TRAINING_NICE_ENV, "").strip()
    if not raw:
        return TRAINING_NICE_DEFAULT
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 19:
        raise ConfigError(f"{TRAINING_NICE_ENV} must be a whole number from 0 (normal priority) to 19 (lowest), "
                          f"not {raw!r}.")
    return value

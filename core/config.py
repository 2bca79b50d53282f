"""Where the lab finds its data and keeps its runs, read from the environment on every call."""
from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "IMDB_DATA_DIR"
HOME_ENV = "SENTIMENT_LAB_HOME"


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

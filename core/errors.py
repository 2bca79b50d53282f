"""User-facing errors: each carries one sentence a person can act on."""
import re


class LabError(Exception):
    """Base of every error the UI and CLI show as a message instead of a traceback."""


class DataError(LabError):
    """The IMDB data could not be found or read. `public` says the same without server paths, for a page's visitors
    (the CLI and the server log keep the full message)."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = message if public is None else public


class DatasetError(LabError):
    """A labelled-text file cannot be imported, or a stored data set cannot be found or read."""


class ConfigError(LabError):
    """A hyperparameter is out of range or a combination is invalid."""


class ModelFileError(LabError):
    """A saved run's model is missing or cannot be loaded."""


class InputTextError(LabError):
    """A review to score is empty or unusable."""


class RunNotFoundError(LabError):
    """No run with the given id exists in the run store."""


class RunActive(LabError):
    """The run is queued or training, so its record and folder cannot be removed yet."""


class StoreError(LabError):
    """The run database or a run folder cannot be used safely (missing, corrupt, unwritable, taken)."""


class StoreBusy(StoreError):
    """Another program held the run database locked for longer than the lab waits: nothing is wrong with it."""


def disk_full(exc: BaseException | None) -> bool:
    """Whether an error (or one it was raised from) is a full disk: ENOSPC, a quota, or SQLite's own "disk is full"."""
    import errno
    import sqlite3

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if "No space left on device" in str(exc):  # libraries that report errno 28 only in their text (HDF5)
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def for_visitors(exc: BaseException) -> str:
    """What a page shows of an error: its own version without server paths where it has one, else its text with
    each absolute path cut to its last part (the server's log keeps the whole message)."""
    return getattr(exc, "public", None) or without_paths(str(exc))


_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/-])/(?:[^\s/'\"():,]+/)+([^\s/'\"():,]+)")


def without_paths(text: str) -> str:
    """A message with each absolute server path cut to its last part (`/srv/lab/runs/7/model.keras` to
    `model.keras`), for what every visitor may read (a failed run's stored error)."""
    return _ABSOLUTE_PATH.sub(r"\1", text)


def shortened(value: object, limit: int = 40) -> str:
    """A value a person gave, cut to `limit` characters for a message, so a long one is not echoed whole."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def quoted(value: object, limit: int = 40) -> str:
    """`shortened`, in quotes when it is text (so `epochs='2.5'` and `epochs=2.5` read differently)."""
    return repr(shortened(value, limit)) if isinstance(value, str) else shortened(value, limit)

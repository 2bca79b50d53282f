"""Files of the lab home (run bundles, settings, the class board, caches) written whole or not at all: a reader, or
the lab after a crash or a power cut, finds the old file or the new one, never half of one."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Callable


def write(path: Path, fill: Callable[[Path], None], partial: Path | None = None) -> None:
    """Let `fill` write a temporary sibling of `path`, fsync it, rename it over `path` and fsync the folder, so the
    rename itself survives a crash.

    The sibling is a uniquely named hidden file (two writers at once never share one), or `partial` where a reader
    knows the names to sweep (a run folder's). It keeps `path`'s suffix, by which numpy and Keras choose the format,
    and is removed when `fill` fails.
    """
    if partial is None:  # made by `fill`, so the file gets the usual permissions (mkstemp's are the owner's only)
        partial = path.with_name(f".{path.stem}-{secrets.token_hex(8)}{path.suffix}")
    try:
        fill(partial)
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def write_bytes(path: Path, data: bytes, partial: Path | None = None) -> None:
    write(path, lambda tmp: tmp.write_bytes(data), partial)


def write_json(path: Path, value: Any, indent: int | None = None, partial: Path | None = None) -> None:
    write_bytes(path, json.dumps(value, indent=indent).encode(), partial)

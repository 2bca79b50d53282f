"""The one way the lab writes a file of its home: whole or not at all, with no temporary file left behind."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from core import atomic_file


def test_a_written_file_replaces_the_old_one_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"old": true}')
    atomic_file.write_json(path, {"new": [1, 2]}, indent=1)
    assert json.loads(path.read_text()) == {"new": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary_one(tmp_path: Path) -> None:
    path = tmp_path / "rows.npy"
    np.save(path, np.arange(3))

    def half(tmp: Path) -> None:
        tmp.write_bytes(b"half a fi")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_file.write(path, half)
    assert np.load(path).tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["rows.npy"]


def test_the_temporary_file_keeps_the_suffix_numpy_chooses_its_format_by(tmp_path: Path) -> None:
    """np.save and np.savez add .npy or .npz to a name without it, which would leave the renamed file empty."""
    atomic_file.write(tmp_path / "a.npz", lambda tmp: np.savez(tmp, x=np.ones(2)))
    atomic_file.write(tmp_path / "b.npy", lambda tmp: np.save(tmp, np.zeros(2)))
    assert np.load(tmp_path / "a.npz")["x"].tolist() == [1.0, 1.0]
    assert np.load(tmp_path / "b.npy").tolist() == [0.0, 0.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.npy"]


def test_a_named_partial_file_is_used_and_renamed(tmp_path: Path) -> None:
    seen = []

    def fill(tmp: Path) -> None:
        seen.append(tmp.name)
        tmp.write_bytes(b"whole")

    atomic_file.write(tmp_path / "model.keras", fill, partial=tmp_path / ".model.partial.keras")
    assert seen == [".model.partial.keras"]
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]
    assert (tmp_path / "model.keras").read_bytes() == b"whole"


def test_a_written_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    """An exported model is a file for its user to share: not readable by its owner alone, as a mkstemp file is."""
    mask = os.umask(0o022)
    try:
        atomic_file.write_bytes(tmp_path / "model.keras", b"x")
    finally:
        os.umask(mask)
    assert (tmp_path / "model.keras").stat().st_mode & 0o777 == 0o644

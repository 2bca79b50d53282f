"""Visitors never read where the data lives on the server: the pages name the data folder by its setting, while the
CLI and the server's log keep the full path (issue 8, item 9)."""
from __future__ import annotations

from pathlib import Path

import pytest

from pagetest import open_page

from core.data import imdb


def page_text(at) -> str:
    return " ".join(str(e.value) for kind in ("caption", "error", "warning", "markdown") for e in getattr(at, kind))


def test_home_names_the_data_folder_without_its_path(data_dir: Path) -> None:
    at = open_page("pages/home.py")
    text = page_text(at)
    assert "Data: the local data folder (IMDB_DATA_DIR) · 25,000 training and 25,000 test reviews." in text
    assert str(data_dir) not in text and str(data_dir.resolve()) not in text


@pytest.mark.parametrize("page", ["pages/home.py", "pages/explore.py"])
def test_a_missing_data_file_is_explained_without_the_path(page: str, tmp_path: Path, monkeypatch, capfd) -> None:
    folder = tmp_path / "server-only-folder"
    folder.mkdir()
    monkeypatch.setenv("IMDB_DATA_DIR", str(folder))
    at = open_page(page)
    errors = " ".join(e.value for e in at.error)
    assert "The local data folder (IMDB_DATA_DIR) has no imdb.npz" in errors, errors
    assert "server-only-folder" not in page_text(at)
    assert f"IMDB_DATA_DIR={folder} has no imdb.npz" in capfd.readouterr().err, "the server's log keeps the path"


def test_a_corrupt_data_file_is_explained_without_the_path(tmp_path: Path, monkeypatch, capfd) -> None:
    folder = tmp_path / "server-only-folder"
    folder.mkdir()
    (folder / "imdb.npz").write_bytes(b"not a zip archive at all")
    (folder / "imdb_word_index.json").write_text("{}")
    monkeypatch.setenv("IMDB_DATA_DIR", str(folder))
    at = open_page("pages/explore.py")
    errors = " ".join(e.value for e in at.error)
    assert "imdb.npz in the local data folder (IMDB_DATA_DIR) is corrupt or unreadable" in errors, errors
    assert "server-only-folder" not in page_text(at)
    assert f"{folder / 'imdb.npz'} is corrupt" in capfd.readouterr().err


def test_the_engine_error_keeps_the_path_for_the_cli(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("IMDB_DATA_DIR", str(tmp_path))
    with pytest.raises(imdb.DataError) as caught:
        imdb.load_corpus()
    assert str(tmp_path) in str(caught.value) and str(tmp_path) not in caught.value.public

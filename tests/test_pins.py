"""Pinned reviews kept per person and data set in the lab home (core/pins.py)."""
from __future__ import annotations

from pathlib import Path

from core import pins


def test_pins_are_kept_per_person_and_data_set(tmp_path: Path) -> None:
    assert pins.load("ada-token", "imdb", tmp_path) == list(pins.IMDB_DEFAULTS)
    assert pins.load("ada-token", "tweets", tmp_path) == [], "no movie sentences on other text"
    pins.save("ada-token", "tweets", ["  the flight\nwas late ", "", "crew rude"], tmp_path)
    assert pins.load("ada-token", "tweets", tmp_path) == ["the flight was late", "crew rude"]
    assert pins.load("ada-token", "imdb", tmp_path) == list(pins.IMDB_DEFAULTS)
    assert pins.load("bo-token", "tweets", tmp_path) == []
    (saved,) = (tmp_path / pins.FOLDER).iterdir()
    assert "ada-token" not in saved.name and "ada-token" not in saved.read_text()
    pins.save("ada-token", "imdb", [], tmp_path)
    assert pins.load("ada-token", "imdb", tmp_path) == [], "unpinning every default is kept too"


def test_a_pin_is_one_line_cut_at_a_word() -> None:
    assert pins.clean("  two\n lines ") == "two lines"
    long = pins.clean("word " * 200)
    assert len(long) <= pins.MAX_PIN_CHARS and long.endswith("word…")


def test_a_damaged_pins_file_gives_the_defaults(tmp_path: Path) -> None:
    pins.save("ada-token", "imdb", ["mine"], tmp_path)
    (saved,) = (tmp_path / pins.FOLDER).iterdir()
    saved.write_text("{not json")
    assert pins.load("ada-token", "imdb", tmp_path) == list(pins.IMDB_DEFAULTS)

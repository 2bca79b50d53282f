"""The reviews a person pins to follow during training, kept per person and data set in the lab home, so a reload or
a new tab finds them again.

A person is their owner token (hashed into the file name, never written in clear); each data set has its own pins,
and only IMDB starts with movie sentences.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core import atomic_file, config
from core.data.datasets import DEFAULT

MAX_PINS = 8
MAX_PIN_CHARS = 300  # a pin is a line of a chart's legend, not a whole review
FOLDER = "pins"
IMDB_DEFAULTS = (
    "not bad at all",
    "I expected to love it, but it was dull",
    "a masterpiece of boredom",
    "the acting was great and the story moving",
)


def defaults(dataset: str) -> list[str]:
    """The pins a person starts with: movie sentences on IMDB, none on a data set of other text."""
    return list(IMDB_DEFAULTS) if dataset == DEFAULT else []


def clean(text: str) -> str:
    """One line, cut at a word to MAX_PIN_CHARS (with "…")."""
    text = " ".join(text.split())
    if len(text) <= MAX_PIN_CHARS:
        return text
    cut = text[:MAX_PIN_CHARS - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def _file(owner: str, home: Path | None) -> Path:
    name = hashlib.sha256(owner.encode()).hexdigest()[:32]
    return (home if home is not None else config.lab_home()) / FOLDER / f"{name}.json"


def _saved(owner: str, home: Path | None) -> dict[str, list[str]]:
    try:
        value = json.loads(_file(owner, home).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: [clean(t) for t in v if isinstance(t, str)][:MAX_PINS] for k, v in value.items()
            if isinstance(k, str) and isinstance(v, list)}


def load(owner: str, dataset: str, home: Path | None = None) -> list[str]:
    """This person's pins on this data set: as saved, or the defaults when none were."""
    saved = _saved(owner, home)
    return saved[dataset] if dataset in saved else defaults(dataset)


def save(owner: str, dataset: str, texts: list[str], home: Path | None = None) -> None:
    """Keep this person's pins on this data set (at most MAX_PINS, each cleaned); written whole and renamed."""
    saved = _saved(owner, home)
    saved[dataset] = [clean(t) for t in texts if t.strip()][:MAX_PINS]
    path = _file(owner, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_file.write_json(path, saved)

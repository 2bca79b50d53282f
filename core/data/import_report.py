"""What an import of labelled text did, as the Data sets page and `datasets add` / `datasets show` report it: how
the source was read, how the test split was made, each class's texts, the rows left out and a warning when a
class has too little to learn from. Kept in the data set's meta.json; a report stored by an earlier import reads
back with what it holds (`core.plain`: a missing count is 0, a missing note none)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core import plain


@dataclass(frozen=True)
class HeldOut:
    """How the test split was made: "stratified" (`test_size` of each class held out, drawn with `seed`) or
    "source" (the source's own train and test folders)."""

    kind: str = ""
    test_size: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class ImportReport:
    """One import's report (`core.data.datasets.add`)."""

    file: str = ""
    layout: dict[str, Any] = field(default_factory=dict)  # how the source was read: `text_source.Layout.to_dict()`
    split: HeldOut = HeldOut()
    class_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # "train", "test": texts per label
    dropped_empty_text: int = 0
    dropped_empty_label: int = 0
    test_words_unknown: int = 0  # words of the test texts that the training texts never use
    too_little: str | None = None  # the warning of `datasets.too_little`, when a class has too few examples
    imported_at: str = ""
    seconds: float | None = None  # how long the import took; known to whoever imported, not stored

    @property
    def encoding(self) -> str | None:
        found = self.layout.get("encoding")
        return found if isinstance(found, str) else None

    @property
    def notes(self) -> tuple[str, ...]:
        """What reading the source noticed (a guessed column, a repaired encoding), in words."""
        found = self.layout.get("notes")
        return tuple(str(n) for n in found) if isinstance(found, list) else ()

    def train_count(self, label: str) -> int:
        return self.class_counts.get("train", {}).get(label, 0)

    def test_count(self, label: str) -> int:
        return self.class_counts.get("test", {}).get(label, 0)

    def to_dict(self) -> dict[str, Any]:
        """As JSON, in the shape the lab has always written: what is not known is left out."""
        values = plain.plain(self)
        values["split"] = {k: v for k, v in values["split"].items() if v is not None}
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def from_dict(cls, values: Any) -> ImportReport:
        """A stored report; an empty one when there is none (IMDB, or an unreadable meta.json)."""
        return plain.read(cls, values) or cls()

"""What every labelled-text source reads into, and the checks they share: size limit, binary files, classes.

`core.data.text_table` reads CSV/TSV files; `core.data.text_import` reads folders and archives and picks the reader.
"""
from __future__ import annotations

import codecs
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Iterable

import numpy as np

from core import config
from core.errors import DatasetError

MIN_CLASSES, MAX_CLASSES = 2, 20
DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
SAMPLE_CHARS = 64 * 1024
# What one source may hold, whatever its size in bytes: every kept text costs a Python object, so a file of many
# tiny rows would otherwise take gigabytes for megabytes of text. Reading stops at the first one over.
MAX_TEXTS = 1_000_000  # rows of a table, or files of a folder or archive
MAX_COLUMNS = 1_000
MAX_CELLS = 20_000_000  # rows x columns of a table: each is looked at once to detect the text and label columns
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\x0c")
PREVIEW_ROWS = 10
PREVIEW_CHARS = 300
MAGIC = {
    b"PK\x03\x04": "a zip archive (an Excel .xlsx workbook is one): save it as CSV",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"SQLite format 3": "an SQLite database",
}


@dataclass(frozen=True)
class WideText:
    """A UTF-16 or UTF-32 encoding a file declares with its byte-order mark (Excel's "Unicode Text" is UTF-16 LE)."""

    codec: str  # what Python decodes it with (it reads the mark and the byte order)
    name: str  # what the import report says


WIDE_BOMS = ((codecs.BOM_UTF32_LE, WideText("utf-32", "UTF-32 LE with BOM")),  # before UTF-16 LE: same first 2 bytes
             (codecs.BOM_UTF32_BE, WideText("utf-32", "UTF-32 BE with BOM")),
             (codecs.BOM_UTF16_LE, WideText("utf-16", "UTF-16 LE with BOM")),
             (codecs.BOM_UTF16_BE, WideText("utf-16", "UTF-16 BE with BOM")))


def wide_text(head: bytes) -> WideText | None:
    """The UTF-16 or UTF-32 encoding whose byte-order mark starts `head`; None for anything else."""
    return next((wide for bom, wide in WIDE_BOMS if head.startswith(bom)), None)


@dataclass(frozen=True)
class ReadOptions:
    """What the user fixed instead of leaving it to detection (None = detect)."""

    delimiter: str | None = None
    header: bool | None = None
    text_column: str | None = None  # a column name, or its 1-based position
    label_column: str | None = None


@dataclass(frozen=True)
class Layout:
    """How a source was read, whether detected or given: shown in the preview and stored with the data set."""

    kind: str  # "table", "folder" or "archive"
    encoding: str
    delimiter: str | None = None
    header: bool | None = None
    quoting: bool | None = None
    columns: tuple[str, ...] = ()
    text_column: str | None = None
    label_column: str | None = None
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """The source's shape in a few words: CSV, TSV, or train/test folders."""
        if self.kind != "table":
            return f"{self.kind} of train/test folders"
        return {",": "CSV", "\t": "TSV"}.get(self.delimiter, f"text separated by {self.delimiter!r}")

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if self.delimiter is not None:
            out["delimiter"] = DELIMITERS.get(self.delimiter, self.delimiter)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@dataclass
class LabelledText:
    """A source's rows that have both a text and a label, in source order, and what was dropped on the way."""

    texts: list[str]
    labels: list[str]
    is_test: np.ndarray | None  # the source's own test split, None when it has none
    layout: Layout
    sample: list[tuple[str, ...]]  # the first rows as read, one value per layout column
    dropped_empty_text: int = 0
    dropped_empty_label: int = 0

    def class_counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {name: counts[name] for name in label_order(counts)}


@dataclass(frozen=True)
class Preview:
    """What the page and CLI show before importing: first rows, the detected layout, class counts, dropped rows."""

    layout: Layout
    rows: list[tuple[str, ...]]
    rows_read: int
    class_counts: dict[str, int]
    dropped_empty_text: int
    dropped_empty_label: int
    has_test_split: bool

    def to_dict(self) -> dict:
        return {
            "layout": self.layout.to_dict(),
            "rows": [list(row) for row in self.rows],
            "rows_read": self.rows_read,
            "class_counts": self.class_counts,
            "dropped_empty_text": self.dropped_empty_text,
            "dropped_empty_label": self.dropped_empty_label,
            "has_test_split": self.has_test_split,
        }


# --- limits and checks --------------------------------------------------------------------------------------------------
def check_size(size: int, what: str) -> None:
    limit = config.max_upload_bytes()
    if size > limit:
        raise DatasetError(f"{what} is {size / 2**20:,.1f} MB, over the {limit / 2**20:,.4g} MB limit "
                           f"({config.MAX_UPLOAD_ENV} raises it).")


def check_texts(count: int, what: str) -> None:
    """Refuse a source with more than MAX_TEXTS texts, as soon as reading reaches one more."""
    if count > MAX_TEXTS:
        raise DatasetError(f"{what} holds more than {MAX_TEXTS:,} texts, the most the lab reads from one source: "
                           "keep a sample of it.")


def label_order(labels: Iterable[str]) -> list[str]:
    """Class names in id order: by value when all are numbers (0, 1, 2, 10), otherwise alphabetically."""
    names = sorted(set(labels))
    try:
        return sorted(names, key=float)
    except ValueError:
        return sorted(names, key=lambda s: (s.casefold(), s))


def check_classes(labels: list[str], where: str) -> None:
    """2 to 20 classes of at least 2 examples each, or a message naming `where` the labels came from."""
    counts = Counter(labels)
    if len(counts) < MIN_CLASSES:
        only = f" ({next(iter(counts))!r})" if counts else ""
        raise DatasetError(f"{where} holds one class only{only}: a classifier needs {MIN_CLASSES} to {MAX_CLASSES} "
                           "classes.")
    if len(counts) > MAX_CLASSES:
        raise DatasetError(f"{where} has {len(counts):,} different values, more than {MAX_CLASSES} classes; "
                           "the lab handles 2 to 20 (pick another label column if this is not the label).")
    rare = [name for name in label_order(counts) if counts[name] < 2]
    if rare:
        shown = ", ".join(repr(name) for name in rare[:5]) + (" ..." if len(rare) > 5 else "")
        raise DatasetError(f"{where}: class {shown} has fewer than 2 examples; every class needs at least 2 "
                           "(one to train on, one to test on).")


def kind_of_bytes(head: bytes) -> str | None:
    """What a non-text file looks like, from its first bytes; None when it may be text. UTF-16 and UTF-32 text
    (with its byte-order mark) is judged by its characters, not by the NUL bytes every such file holds."""
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            return what
    wide = wide_text(head)
    if wide:  # its characters, as UTF-8: a control character stays one byte
        head = head.decode(wide.codec, "ignore").encode()
    if b"\x00" in head:
        return "a binary file (it contains NUL bytes)"
    controls = len(head) - len(head.translate(None, _CONTROL))
    if head and controls / len(head) > 0.05:
        return "a binary file (it is mostly control characters)"
    return None


FILE_NAME_BYTES = 120  # well under every file system's 255, with room for the lab's own suffixes


def file_name(name: object) -> str:
    """An uploaded file's name as the lab stores and shows it: its last part only, no control characters (NUL
    included), at most 120 bytes with its extensions (.csv, .tar.gz) kept, and never empty or a folder's name."""
    name = "".join(c for c in str(name).replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable()).strip()
    ext = ""
    for part in reversed(name.split(".")[1:][-2:]):
        if not (0 < len(part) <= 4 and part.isascii() and part.isalnum()):
            break
        ext = f".{part}{ext}"
    stem = name[:len(name) - len(ext)].encode()[:FILE_NAME_BYTES - len(ext)].decode("utf-8", "ignore").strip()
    return stem + ext if stem.strip(".") else "upload" + ext


def newlines(text: str) -> str:
    """Windows and old Mac line ends as `\\n`, so no `\\r` is left inside a word."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text

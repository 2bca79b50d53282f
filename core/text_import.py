"""Reading labelled text: CSV/TSV files (delimiter, header, text and label columns detected, each overridable) and
folders or .tar.gz archives laid out as train/<label>/*.txt (+ test/<label>/*.txt).

Nothing here encodes or stores; it turns a user's file into texts and label names, or one specific DatasetError.
Archives are read member by member in memory and never extracted, so their paths cannot reach the disk.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import tarfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator

import numpy as np

from core.errors import DatasetError

MAX_UPLOAD_ENV = "SENTIMENT_LAB_MAX_UPLOAD_MB"
MAX_UPLOAD_MB_DEFAULT = 200
MIN_CLASSES, MAX_CLASSES = 2, 20
DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
LABEL_NAMES = ("label", "sentiment", "class", "category", "target", "polarity", "rating", "score", "stars", "y")
SPLITS = ("train", "test")
UNLABELLED = "unsup"  # Stanford's unlabelled reviews: not a class
SAMPLE_CHARS = 64 * 1024
PREVIEW_ROWS = 10
DISTINCT_CAP = 1000  # distinct values counted exactly up to here, for messages
PREVIEW_CHARS = 300
MAGIC = {
    b"PK\x03\x04": "a zip archive (an Excel .xlsx workbook is one): save it as CSV",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"SQLite format 3": "an SQLite database",
}


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
def max_upload_bytes() -> int:
    """The largest file accepted (SENTIMENT_LAB_MAX_UPLOAD_MB, default 200), read on every call."""
    raw = os.environ.get(MAX_UPLOAD_ENV, "").strip()
    try:
        mb = float(raw) if raw else MAX_UPLOAD_MB_DEFAULT
    except ValueError:
        mb = -1
    if not mb > 0:
        raise DatasetError(f"{MAX_UPLOAD_ENV} must be a positive number of megabytes, not {raw!r}.")
    return int(mb * 1024 * 1024)


def _check_size(size: int, what: str) -> None:
    limit = max_upload_bytes()
    if size > limit:
        raise DatasetError(f"{what} is {size / 2**20:,.1f} MB, over the {limit / 2**20:,.4g} MB limit "
                           f"({MAX_UPLOAD_ENV} raises it).")


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


def _kind_of_bytes(head: bytes) -> str | None:
    """What a non-text file looks like, from its first bytes; None when it may be text."""
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            return what
    if b"\x00" in head:
        return "a binary file (it contains NUL bytes)"
    controls = sum(1 for b in head if b < 32 and b not in b"\t\n\r\x0c")
    if head and controls / len(head) > 0.05:
        return "a binary file (it is mostly control characters)"
    return None


def _encoding_of(path: Path) -> tuple[str, str | None]:
    """`utf-8-sig` (BOM or not), or `latin-1` with a note saying where UTF-8 failed."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return "latin-1", f"not valid UTF-8 (byte {offset + exc.start:,}); read as Latin-1"
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "latin-1", "not valid UTF-8 (it ends inside a character); read as Latin-1"
    return "utf-8-sig", None


def _decode_bytes(data: bytes) -> tuple[str, bool]:
    """One small file's text, and whether it needed the Latin-1 fallback."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("latin-1"), True


# --- tables -------------------------------------------------------------------------------------------------------------
def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


@dataclass
class _Column:
    """What detection needs to know about one column's values."""

    filled: int = 0
    chars: int = 0
    numeric: bool = True
    values: set[str] = field(default_factory=set)

    def add(self, value: str) -> None:
        value = value.strip()
        if not value:
            return
        self.filled += 1
        self.chars += len(value)
        if self.numeric and not _is_number(value):
            self.numeric = False
        if len(self.values) < DISTINCT_CAP:
            self.values.add(value)

    @property
    def distinct(self) -> int:
        return len(self.values)

    def distinct_text(self) -> str:
        return f"{DISTINCT_CAP:,} or more" if self.distinct >= DISTINCT_CAP else f"{self.distinct:,}"


def _columns(rows: list[list[str]], width: int) -> list[_Column]:
    cols = [_Column() for _ in range(width)]
    for row in rows:
        for col, value in zip(cols, row):
            col.add(value)
    return cols


def _parse(text: str, delimiter: str, quoting: bool) -> list[list[str]]:
    """Records of a sample (the last one dropped: the sample may cut it short), lenient, for detection only."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE)
    try:
        rows = [row for row in reader if row]
    except csv.Error:
        return []
    return rows[:-1] if len(rows) > 1 else rows


def _consistency(rows: list[list[str]]) -> tuple[float, int]:
    """The share of records with the most common field count, and that count."""
    if not rows:
        return 0.0, 0
    width, n = Counter(len(row) for row in rows).most_common(1)[0]
    return n / len(rows), width


def _delimiter(sample: str, suffix: str) -> str:
    """The candidate that splits the sample into the same number (>1) of fields most consistently."""
    preferred = "\t" if suffix in (".tsv", ".tab") else ","

    def score(d: str) -> tuple[bool, float, int, bool]:
        share, width = _consistency(_parse(sample, d, quoting=True))
        return width > 1, share, width, d == preferred

    return max(DELIMITERS, key=score)


def _quoting(sample: str, delimiter: str) -> bool:
    """CSV quoting, except tab-separated text that splits evenly without it (TSV has no quoting; `"` is text)."""
    if delimiter != "\t":
        return True
    share, width = _consistency(_parse(sample, delimiter, quoting=False))
    return not (share == 1.0 and width > 1)


def _delimiter_option(value: str) -> str:
    names = {name: d for d, name in DELIMITERS.items()}
    value = {"\\t": "\t", "tsv": "\t", "csv": ","}.get(value, value)
    if value in names:
        return names[value]
    if len(value) != 1 or value.isalnum() or value in "\"\r\n ":
        raise DatasetError(f"Delimiter {value!r} is not usable: give one character such as , or ; or a name "
                           f"({', '.join(names)}).")
    return value


def _read_records(path: Path, encoding: str, delimiter: str, quoting: bool) -> list[list[str]]:
    """Every non-blank record, or a message naming the line where quoting went wrong."""
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
                            strict=quoting)
        try:
            return [row for row in reader if row and any(cell.strip() for cell in row)]
        except csv.Error as exc:
            hint = " (probably an unclosed quote)" if "field larger" in str(exc) or "end of data" in str(exc) else ""
            raise DatasetError(f"Malformed quoting in {path.name} at line {reader.line_num:,}: {exc}{hint}. Fix the "
                               "quotes, or choose another delimiter.") from None


def _looks_like_header(first: list[str], cols: list[_Column]) -> bool:
    """A first row of distinct names that do not fit their columns: a word over numbers, or a value never repeated
    in a column of repeated values (`label` over 0/1, `sentiment` over positive/negative)."""
    if any(not cell.strip() for cell in first) or len(set(first)) < len(first):
        return False
    for cell, col in zip(first, cols):
        cell = cell.strip()
        if col.filled and col.numeric and not _is_number(cell):
            return True
        if 1 <= col.distinct < DISTINCT_CAP and col.filled >= 2 * col.distinct and cell not in col.values:
            return True
    return False


def _pick_column(given: str, names: list[str], role: str) -> int:
    if given in names:
        return names.index(given)
    if given.isdigit() and 1 <= int(given) <= len(names):
        return int(given) - 1
    raise DatasetError(f"No {role} column {given!r}: the columns are {', '.join(repr(n) for n in names)} "
                       "(a name, or a position from 1).")


def _named(name: str) -> bool:
    words = name.strip().lower().replace("-", "_").replace(" ", "_").split("_")
    return any(w in LABEL_NAMES for w in words)


def _label_column(names: list[str], cols: list[_Column], skip: int | None) -> int:
    """The column with few distinct values (2-20) that covers most rows; a label-like name wins, then fewer values."""
    if len(cols) < 2:
        raise DatasetError(f"Found only one column ({names[0]!r}): a data set needs a text column and a label column; "
                           "if the file has more, give its delimiter.")
    rows = max(col.filled for col in cols)
    others = [i for i in range(len(cols)) if i != skip]
    fits = [i for i in others if MIN_CLASSES <= cols[i].distinct <= MAX_CLASSES
            and cols[i].filled >= rows / 2 and cols[i].filled >= 2 * cols[i].distinct]
    if fits:
        return min(fits, key=lambda i: (not _named(names[i]), cols[i].distinct, i))
    best = min(others, key=lambda i: (not _named(names[i]), not cols[i].distinct, cols[i].distinct, i))
    why = ("its name says so" if _named(names[best])
           else "it has the fewest different values of the columns" + (" besides the text" if skip is not None else ""))
    col = cols[best]
    if col.distinct < MIN_CLASSES:
        only = f" ({next(iter(col.values))!r})" if col.values else ""
        raise DatasetError(f"No label column: column {names[best]!r} looked like the labels ({why}) but holds one "
                           f"class only{only}; a classifier needs {MIN_CLASSES} to {MAX_CLASSES} classes.")
    raise DatasetError(f"No label column with {MIN_CLASSES} to {MAX_CLASSES} classes: column {names[best]!r} looked "
                       f"like the labels ({why}) but has {col.distinct_text()} different values, more than "
                       f"{MAX_CLASSES} classes. Choose the label column, or group the labels into at most "
                       f"{MAX_CLASSES} classes.")


def _text_column(names: list[str], cols: list[_Column], label: int) -> int:
    """The longest free text: the column, other than the labels, with the most characters per row."""
    fits = [i for i in range(len(cols)) if i != label and cols[i].filled and not cols[i].numeric]
    if not fits:
        rest = ", ".join(repr(names[i]) for i in range(len(cols)) if i != label)
        raise DatasetError(f"No usable text column: apart from the labels ({names[label]!r}), "
                           + (f"the columns {rest} hold only numbers or nothing." if rest else "there is no column."))
    return max(fits, key=lambda i: (cols[i].chars, -i))


def _newlines(text: str) -> str:
    """Windows and old Mac line ends as `\\n`, so no `\\r` is left inside a word."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _read_table(path: Path, options: ReadOptions) -> LabelledText:
    with open(path, "rb") as f:
        head = f.read(SAMPLE_CHARS)
    if (what := _kind_of_bytes(head)) is not None:
        raise DatasetError(f"{path.name} is not a text file: it looks like {what}.")
    encoding, fallback = _encoding_of(path)
    with open(path, encoding=encoding, newline="") as f:
        sample = f.read(SAMPLE_CHARS)
    if not sample.strip():
        raise DatasetError(f"{path.name} is empty: it holds no text.")
    delimiter = _delimiter(sample, path.suffix.lower()) if options.delimiter is None else _delimiter_option(
        options.delimiter)
    quoting = _quoting(sample, delimiter)
    records = _read_records(path, encoding, delimiter, quoting)
    width = max(len(row) for row in records)
    header = options.header
    if header is None:
        header = len(records) > 1 and _looks_like_header(records[0], _columns(records[1:], width))
    if header:
        names = [cell.strip() or f"column {i + 1}" for i, cell in enumerate(records[0])]
        names += [f"column {i + 1}" for i in range(len(names), width)]
        records = records[1:]
        if not records:
            raise DatasetError(f"{path.name} has a header row but no data rows.")
    else:
        names = [f"column {i + 1}" for i in range(width)]
    cols = _columns(records, width)
    text_i = None if options.text_column is None else _pick_column(options.text_column, names, "text")
    label_i = (_label_column(names, cols, text_i) if options.label_column is None
               else _pick_column(options.label_column, names, "label"))
    if text_i is None:
        text_i = _text_column(names, cols, label_i)
    if text_i == label_i:
        raise DatasetError(f"The text and the label cannot both be column {names[text_i]!r}.")
    notes = [f"{path.name} is {fallback}."] if fallback else []
    layout = Layout("table", "latin-1" if fallback else ("utf-8 with BOM" if head.startswith(codecs.BOM_UTF8)
                                                          else "utf-8"),
                    delimiter, header, quoting, tuple(names), names[text_i], names[label_i], tuple(notes))
    texts, labels, no_text, no_label = [], [], 0, 0
    for row in records:
        text = row[text_i] if text_i < len(row) else ""
        label = row[label_i].strip() if label_i < len(row) else ""
        if not text.strip():
            no_text += 1
        elif not label:
            no_label += 1
        else:
            texts.append(_newlines(text))
            labels.append(label)
    if not texts:
        raise DatasetError(f"No usable text column: column {names[text_i]!r} has no row with both text and a label.")
    check_classes(labels, f"Label column {names[label_i]!r}")
    sample_rows = [tuple(row[i] if i < len(row) else "" for i in range(width)) for row in records[:PREVIEW_ROWS]]
    return LabelledText(texts, labels, None, layout, sample_rows, no_text, no_label)


# --- folders and archives -----------------------------------------------------------------------------------------------
def _place(name: str) -> tuple[str, str] | None:
    """(split, label) for `[top/]split/label/file.txt`, None for anything else."""
    parts = PurePosixPath(name).parts
    if len(parts) == 4:
        parts = parts[1:]
    if len(parts) != 3 or parts[0] not in SPLITS or not parts[2].endswith(".txt") or parts[2].startswith("."):
        return None
    return parts[0], parts[1]


def _folder_files(root: Path) -> Iterator[tuple[str, bytes]]:
    files = sorted(p for p in root.rglob("*.txt") if p.is_file() and _place(p.relative_to(root).as_posix()))
    _check_size(sum(p.stat().st_size for p in files), f"The text files under {root.name}")
    for p in files:
        yield p.relative_to(root).as_posix(), p.read_bytes()


def _archive_files(path: Path) -> Iterator[tuple[str, bytes]]:
    limit, total = max_upload_bytes(), 0
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                if not member.isfile() or _place(member.name) is None:
                    continue
                total += member.size
                if total > limit:
                    _check_size(total, f"The text inside {path.name}")
                yield member.name, archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{path.name} is not a readable .tar.gz archive ({exc}).") from None


def _read_tree(name: str, files: Iterable[tuple[str, bytes]], kind: str) -> LabelledText:
    rows: list[tuple[str, str, str, str]] = []  # (member, split, label, text)
    fallbacks = skipped = empty = 0
    for member, data in files:
        split, label = _place(member)
        if label == UNLABELLED:
            skipped += 1
            continue
        if (what := _kind_of_bytes(data[:SAMPLE_CHARS])) is not None:
            raise DatasetError(f"{member} in {name} is not a text file: it looks like {what}.")
        text, fell_back = _decode_bytes(data)
        fallbacks += fell_back
        if not text.strip():
            empty += 1
            continue
        rows.append((member, split, label, _newlines(text)))
    rows.sort()
    train = [r for r in rows if r[1] == "train"]
    if not train:
        raise DatasetError(f"{name} has no train/<label>/*.txt files: a {kind} data set is laid out as "
                           "train/<label>/*.txt, with test/<label>/*.txt when it has its own test split.")
    labels = [r[2] for r in rows]
    train_classes = {r[2] for r in train}
    strays = sorted({r[2] for r in rows if r[1] == "test"} - train_classes)
    if strays:
        raise DatasetError(f"{name}: test/ has class {', '.join(map(repr, strays))} that train/ lacks.")
    has_test = any(r[1] == "test" for r in rows)
    check_classes([r[2] for r in train], f"The train/ folders of {name}")
    notes = []
    if fallbacks:
        notes.append(f"{fallbacks:,} files were not valid UTF-8; read as Latin-1.")
    if skipped:
        notes.append(f"{skipped:,} files under {UNLABELLED}/ (unlabelled reviews) were skipped.")
    layout = Layout(kind, "utf-8 and latin-1" if fallbacks else "utf-8", columns=("split", "label", "text"),
                    text_column="text", label_column="label", notes=tuple(notes))
    return LabelledText(
        [r[3] for r in rows], labels, np.array([r[1] == "test" for r in rows]) if has_test else None, layout,
        [(r[1], r[2], r[3]) for r in rows[:PREVIEW_ROWS]], dropped_empty_text=empty,
    )


# --- entry points -------------------------------------------------------------------------------------------------------
def read(path: str | os.PathLike, options: ReadOptions = ReadOptions()) -> LabelledText:
    """A file (CSV, TSV, .tar.gz of folders) or a folder, as texts and labels, or one DatasetError saying why not."""
    path = Path(path)
    if path.is_dir():
        _no_table_options(path, options)
        return _read_tree(path.name, _folder_files(path), "folder")
    if not path.is_file():
        raise DatasetError(f"{path} does not exist or is not a file.")
    size = path.stat().st_size
    _check_size(size, path.name)
    if size == 0:
        raise DatasetError(f"{path.name} is empty: it holds no text.")
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")) or head[257:262] == b"ustar":
        if head.startswith(b"\x1f\x8b") and not _is_tar_gz(path):
            raise DatasetError(f"{path.name} is gzip-compressed but not a .tar.gz archive: unpack it first.")
        _no_table_options(path, options)
        return _read_tree(path.name, _archive_files(path), "archive")
    return _read_table(path, options)


def _no_table_options(path: Path, options: ReadOptions) -> None:
    """Folders name their labels by folder and hold one text per file: column options would be silently ignored."""
    if options != ReadOptions():
        raise DatasetError(f"{path.name} is laid out as train/<label>/*.txt: the delimiter, header and column "
                           "options apply to CSV and TSV files only.")


def _is_tar_gz(path: Path) -> bool:
    try:
        with tarfile.open(path, mode="r|gz") as archive:
            return archive.next() is not None
    except (tarfile.TarError, EOFError, OSError):
        return False


def preview(path: str | os.PathLike, options: ReadOptions = ReadOptions(), rows: int = 5) -> Preview:
    """The first rows, the layout as detected (or given) and the class counts, before anything is stored."""
    source = read(path, options)
    return Preview(
        source.layout,
        [tuple(cell[:PREVIEW_CHARS] for cell in row) for row in source.sample[:rows]],
        len(source.texts),
        source.class_counts(),
        source.dropped_empty_text,
        source.dropped_empty_label,
        source.is_test is not None,
    )

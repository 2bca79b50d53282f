"""Reading a labelled CSV or TSV file: delimiter, quoting, header, text column and label column are detected
(each can be given instead), UTF-8 with or without BOM, UTF-16 or UTF-32 with a BOM, else Latin-1 and said so.

The file is streamed twice and never held whole: a first pass keeps a few numbers per column (enough to detect the
header and the text and label columns) and the first rows for the preview; a second keeps only the two columns
used. Reading stops at the first record over a limit (rows, columns, cells), so a hostile file is refused early.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from core.errors import DatasetError
from core.data.text_source import (DELIMITERS, MAX_CELLS, MAX_CLASSES, MAX_COLUMNS, MAX_TEXTS, MIN_CLASSES, PREVIEW_ROWS,
                              SAMPLE_CHARS, Layout, LabelledText, ReadOptions, WideText, check_classes, kind_of_bytes,
                              newlines, wide_text)

LABEL_NAMES = ("label", "sentiment", "class", "category", "target", "polarity", "rating", "score", "stars", "y")
DISTINCT_CAP = 1000  # distinct values counted exactly up to here, for messages


def _encoding_of(path: Path, head: bytes) -> tuple[str, str, str | None]:
    """The codec to read with, its name for the report, and a note when it is a fallback: UTF-16 or UTF-32 when a
    byte-order mark says so (refused when the file is not), `utf-8-sig` (BOM or not), else Latin-1 saying where
    UTF-8 failed."""
    wide = wide_text(head)
    codec = wide.codec if wide else "utf-8-sig"
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return _fallback(path, wide, f"byte {offset + exc.start:,}")
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return _fallback(path, wide, "it ends inside a character")
    if wide:
        return codec, wide.name, None
    return codec, "utf-8 with BOM" if head.startswith(codecs.BOM_UTF8) else "utf-8", None


def _fallback(path: Path, wide: WideText | None, where: str) -> tuple[str, str, str]:
    """Latin-1 for a file that is not UTF-8; a file whose byte-order mark promises UTF-16/32 that it breaks is
    refused."""
    if wide:
        raise DatasetError(f"{path.name} starts with a {wide.name.split(' with')[0]} byte-order mark but is not valid "
                           f"{wide.codec.upper()} ({where}): save it again as UTF-8 (CSV UTF-8 in Excel).")
    return "latin-1", "latin-1", f"not valid UTF-8 ({where}); read as Latin-1"


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


@dataclass
class _Column:
    """What detection needs to know about one column's values: counts, and hashes (not copies) of the first
    DISTINCT_CAP different values, so a column of long texts costs no more than one of labels."""

    filled: int = 0
    chars: int = 0
    numeric: bool = True
    first: str | None = None
    hashes: set[int] = field(default_factory=set)

    def add(self, value: str) -> None:
        value = value.strip()
        if not value:
            return
        self.filled += 1
        self.chars += len(value)
        if self.numeric and not _is_number(value):
            self.numeric = False
        if len(self.hashes) < DISTINCT_CAP:
            if self.first is None:
                self.first = value
            self.hashes.add(hash(value))

    def holds(self, value: str) -> bool:
        return hash(value) in self.hashes

    @property
    def distinct(self) -> int:
        return len(self.hashes)

    def distinct_text(self) -> str:
        return f"{DISTINCT_CAP:,} or more" if self.distinct >= DISTINCT_CAP else f"{self.distinct:,}"


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


def _records(path: Path, encoding: str, delimiter: str, quoting: bool) -> Iterator[list[str]]:
    """Every non-blank record, one at a time, or a message naming the line where quoting went wrong."""
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
                            strict=quoting)
        try:
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    yield row
        except csv.Error as exc:
            hint = " (probably an unclosed quote)" if "field larger" in str(exc) or "end of data" in str(exc) else ""
            raise DatasetError(f"Malformed quoting in {path.name} at line {reader.line_num:,}: {exc}{hint}. Fix the "
                               "quotes, or choose another delimiter.") from None


@dataclass
class _Survey:
    """The first pass: how many records and columns, the first records as read, and every later record's columns."""

    rows: int = 0
    width: int = 0
    head: list[list[str]] = field(default_factory=list)  # the first PREVIEW_ROWS + 1 records
    rest: list[_Column] = field(default_factory=list)  # the columns of every record but the first


def _survey(path: Path, records: Iterator[list[str]]) -> _Survey:
    """The first pass over `records`, stopped by a DatasetError at the first one over a limit."""
    survey = _Survey()
    for row in records:
        survey.rows += 1
        if survey.rows > MAX_TEXTS:
            raise DatasetError(f"{path.name} has more than {MAX_TEXTS:,} rows, the most the lab reads from one file: "
                               "keep a sample of it.")
        if len(row) > survey.width:
            if len(row) > MAX_COLUMNS:
                raise DatasetError(f"{path.name} has {len(row):,} columns in its row {survey.rows:,}, more than the "
                                   f"{MAX_COLUMNS:,} the lab reads: keep the text and label columns (or give the "
                                   "right delimiter).")
            survey.rest += [_Column() for _ in range(len(row) - survey.width)]
            survey.width = len(row)
        if survey.rows * survey.width > MAX_CELLS:
            raise DatasetError(f"{path.name} has more than {MAX_CELLS:,} cells (rows times columns), the most the lab "
                               "reads from one file: keep only the text and label columns, or a sample of the rows.")
        if len(survey.head) <= PREVIEW_ROWS:
            survey.head.append(row)
        if survey.rows > 1:
            for col, value in zip(survey.rest, row):
                col.add(value)
    if not survey.rows:
        raise DatasetError(f"{path.name} holds no text: every row is blank.")
    return survey


def _looks_like_header(first: list[str], cols: list[_Column]) -> bool:
    """A first row of distinct names that do not fit their columns: a word over numbers, or a value never repeated
    in a column of repeated values (`label` over 0/1, `sentiment` over positive/negative)."""
    if any(not cell.strip() for cell in first) or len(set(first)) < len(first):
        return False
    for cell, col in zip(first, cols):
        cell = cell.strip()
        if col.filled and col.numeric and not _is_number(cell):
            return True
        if 1 <= col.distinct < DISTINCT_CAP and col.filled >= 2 * col.distinct and not col.holds(cell):
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
        only = f" ({col.first!r})" if col.first is not None else ""
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


def read_table(path: Path, options: ReadOptions) -> LabelledText:
    with open(path, "rb") as f:
        head = f.read(SAMPLE_CHARS)
    if (what := kind_of_bytes(head)) is not None:
        raise DatasetError(f"{path.name} is not a text file: it looks like {what}.")
    encoding, encoding_name, fallback = _encoding_of(path, head)
    with open(path, encoding=encoding, newline="") as f:
        sample = f.read(SAMPLE_CHARS)
    if not sample.strip():
        raise DatasetError(f"{path.name} is empty: it holds no text.")
    delimiter = _delimiter(sample, path.suffix.lower()) if options.delimiter is None else _delimiter_option(
        options.delimiter)
    quoting = _quoting(sample, delimiter)
    survey = _survey(path, _records(path, encoding, delimiter, quoting))
    width, cols = survey.width, survey.rest
    header = options.header
    if header is None:
        header = survey.rows > 1 and _looks_like_header(survey.head[0], cols)
    if header:
        names = [cell.strip() or f"column {i + 1}" for i, cell in enumerate(survey.head[0])]
        names += [f"column {i + 1}" for i in range(len(names), width)]
        if survey.rows == 1:
            raise DatasetError(f"{path.name} has a header row but no data rows.")
    else:
        names = [f"column {i + 1}" for i in range(width)]
        for col, value in zip(cols, survey.head[0]):
            col.add(value)
    text_i = None if options.text_column is None else _pick_column(options.text_column, names, "text")
    label_i = (_label_column(names, cols, text_i) if options.label_column is None
               else _pick_column(options.label_column, names, "label"))
    if text_i is None:
        text_i = _text_column(names, cols, label_i)
    if text_i == label_i:
        raise DatasetError(f"The text and the label cannot both be column {names[text_i]!r}.")
    notes = [f"{path.name} is {fallback}."] if fallback else []
    layout = Layout("table", encoding_name, delimiter, header, quoting, tuple(names), names[text_i], names[label_i],
                    tuple(notes))
    texts, labels, no_text, no_label = _two_columns(_records(path, encoding, delimiter, quoting), header, text_i,
                                                    label_i)
    if not texts:
        raise DatasetError(f"No usable text column: column {names[text_i]!r} has no row with both text and a label.")
    check_classes(labels, f"Label column {names[label_i]!r}")
    rows = survey.head[1:] if header else survey.head
    sample_rows = [tuple(row[i] if i < len(row) else "" for i in range(width)) for row in rows[:PREVIEW_ROWS]]
    return LabelledText(texts, labels, None, layout, sample_rows, no_text, no_label)


def _two_columns(records: Iterator[list[str]], header: bool, text_i: int,
                 label_i: int) -> tuple[list[str], list[str], int, int]:
    """The second pass: texts and labels of the rows that have both (each label one shared string), and how many
    rows lacked a text or a label."""
    texts: list[str] = []
    labels: list[str] = []
    names: dict[str, str] = {}
    no_text = no_label = 0
    if header:
        next(records, None)
    for row in records:
        text = row[text_i] if text_i < len(row) else ""
        label = row[label_i].strip() if label_i < len(row) else ""
        if not text.strip():
            no_text += 1
        elif not label:
            no_label += 1
        else:
            texts.append(newlines(text))
            labels.append(names.setdefault(label, label))
    return texts, labels, no_text, no_label

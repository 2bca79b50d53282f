"""Reading labelled text: a CSV/TSV file (see `core.data.text_table`), or a folder or .tar.gz archive laid out as
train/<label>/*.txt (+ test/<label>/*.txt, kept as the test split), and the preview shown before importing.

Nothing here encodes or stores; it turns a user's file into texts and label names, or one specific DatasetError.
Archives are read member by member in memory and never extracted, so their paths cannot reach the disk.
"""
from __future__ import annotations

import os
import tarfile
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator

import numpy as np

from core import config
from core.errors import DatasetError
from core.data.text_source import (PREVIEW_CHARS, PREVIEW_ROWS, SAMPLE_CHARS, Layout, LabelledText, Preview, ReadOptions,
                              check_classes, check_size, check_texts, kind_of_bytes, newlines, wide_text)
from core.data.text_table import read_table

SPLITS = ("train", "test")
UNLABELLED = "unsup"  # Stanford's unlabelled reviews: not a class
LATIN_1 = "latin-1"


def _decode_bytes(data: bytes) -> tuple[str, str]:
    """One small file's text and its encoding: UTF-16/32 by its byte-order mark, else UTF-8, else Latin-1."""
    wide = wide_text(data)
    codec, name = (wide.codec, wide.name) if wide else ("utf-8-sig", "utf-8")
    try:
        return data.decode(codec), name
    except UnicodeDecodeError:
        return data.decode("latin-1"), LATIN_1


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
    check_size(sum(p.stat().st_size for p in files), f"The text files under {root.name}")
    for p in files:
        yield p.relative_to(root).as_posix(), p.read_bytes()


def _archive_files(path: Path) -> Iterator[tuple[str, bytes]]:
    limit, total = config.max_upload_bytes(), 0
    try:
        with tarfile.open(path, mode="r:*") as archive:  # not "r|*": its stream reads cost twice the CPU
            for member in archive:
                if not member.isfile() or _place(member.name) is None:
                    continue
                total += member.size
                if total > limit:
                    check_size(total, f"The text inside {path.name}")
                with archive.extractfile(member) as member_file:  # closed here: a close left to the garbage
                    data = member_file.read()  # collector would swallow a Ctrl-C that lands in it
                yield member.name, data
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{path.name} is not a readable .tar.gz archive ({exc}).") from None


def _read_tree(name: str, files: Iterable[tuple[str, bytes]], kind: str) -> LabelledText:
    rows: list[tuple[str, str, str, str]] = []  # (member, split, label, text)
    encodings: Counter[str] = Counter()
    skipped = empty = 0
    for count, (member, data) in enumerate(files, start=1):
        check_texts(count, name)
        split, label = _place(member)
        if label == UNLABELLED:
            skipped += 1
            continue
        if (what := kind_of_bytes(data[:SAMPLE_CHARS])) is not None:
            raise DatasetError(f"{member} in {name} is not a text file: it looks like {what}.")
        text, encoding = _decode_bytes(data)
        encodings[encoding] += 1
        if not text.strip():
            empty += 1
            continue
        rows.append((member, split, label, newlines(text)))
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
    if encodings[LATIN_1]:
        notes.append(f"{encodings[LATIN_1]:,} files were not valid UTF-8; read as Latin-1.")
    if skipped:
        notes.append(f"{skipped:,} files under {UNLABELLED}/ (unlabelled reviews) were skipped.")
    layout = Layout(kind, " and ".join(sorted(encodings, key=lambda e: (-encodings[e], e.lower()))) or "utf-8",
                    columns=("split", "label", "text"),
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
    check_size(size, path.name)
    if size == 0:
        raise DatasetError(f"{path.name} is empty: it holds no text.")
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")) or head[257:262] == b"ustar":
        if head.startswith(b"\x1f\x8b") and not _is_tar_gz(path):
            raise DatasetError(f"{path.name} is gzip-compressed but not a .tar.gz archive: unpack it first.")
        _no_table_options(path, options)
        return _read_tree(path.name, _archive_files(path), "archive")
    return read_table(path, options)


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

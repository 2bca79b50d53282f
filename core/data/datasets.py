"""Data sets: the built-in IMDB and the labelled text a user imports, behind one description and one loader.

An imported data set lives in SENTIMENT_LAB_HOME/datasets/<name>/ as `meta.json` (its description and import report),
`words.json` (word -> frequency rank, like Keras's `imdb_word_index.json`) and `data.npz` (flat int32 ids, int64
offsets and int8 labels per split: no object arrays, loaded without pickle). It is written into a hidden temporary
folder and renamed into place, so a failed or interrupted import leaves nothing behind and other data sets are never
touched. A data set belongs to whoever imported it (the command line's and older ones to the teacher); who may
import, replace, rename or remove one is the classroom's rule, which a change is given from above (`Importer`,
built by `core.classroom.guarded.importer`). Loading gives the lab's own `Corpus` and `Vocabulary`, so
featurisers and Explore read it like IMDB.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
import uuid
import zipfile
import unicodedata
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from core import atomic_file, config, registry
from core.data import text_import, text_source, word_index
from core.data.import_report import HeldOut, ImportReport
from core.data.imdb import INDEX_FROM, LABELS as IMDB_LABELS, SEED, Corpus, DataSource, Ragged, Split
from core.errors import DatasetError
from core.data.vocab import Vocabulary

DEFAULT = "imdb"
FORMAT = 1
META, WORDS, DATA = "meta.json", "words.json", "data.npz"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
TEMP_PREFIX = ".importing-"
TEST_SIZE = 0.2
# Training examples a class needs before the models learn more than the majority class. Measured with the TF-IDF
# baseline trained on k examples per class of the UCI sentences and the airline tweets (8 draws each): at 50 per
# class the imdb sentences reach 0.61 +- 0.04 and the tweets stay below their majority class (0.62 vs 0.63); at
# 100 every set is clearly above (0.65 +- 0.03, 0.74 +- 0.03, 0.66 +- 0.02). README: "Too little to learn".
MIN_PER_CLASS = 100
ARRAYS = ("ids", "offsets", "y")
MAX_CLASS_NAME = 40  # characters of a class's name
MAX_CLASS_NAMES_TEXT = 4_000  # characters of a whole `--label-names` text


@dataclass(frozen=True)
class DatasetInfo:
    """What every page, the run store and the hyperparameter ranges need to know about a data set."""

    name: str
    source: str  # where it came from, in words
    labels: tuple[str, ...]  # class names in label-id order
    train_size: int
    test_size: int
    vocab_size: int  # words in the word index
    max_id: int  # highest word id (vocab_size + 3)
    fingerprint: str  # sha256 of labels, ids and words: equal content, equal fingerprint
    label_names: tuple[str, ...] = ()  # the names a user gave the classes (label-id order); () for none
    words_p95: int = 0  # ids per training text at the 95th percentile (start id included); 0: not yet measured

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def class_names(self) -> tuple[str, ...]:
        """What every page calls the classes: the names given, else the labels as the file had them. Naming the
        classes never changes `labels` or the fingerprint, so runs trained before still match their data set."""
        return self.label_names or self.labels

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["labels"] = list(self.labels)
        out["label_names"] = list(self.label_names)
        return out


@dataclass(frozen=True)
class Dataset:
    """A loaded data set: its description, the reviews as ids, and the word index to decode them."""

    info: DatasetInfo
    corpus: Corpus
    vocabulary: Vocabulary


@dataclass(frozen=True)
class ImportedSource(DataSource):
    """Where an imported data set's reviews came from, in the form the pages already show for IMDB."""

    def describe(self) -> str:
        return f"imported data set {self.location}"


@dataclass(frozen=True)
class Ownership:
    """Who imported a data set: their owner token (None or "cli": the teacher) and their name at the time."""

    owner: str | None = None
    owner_name: str | None = None


def _allowed(*_: Any) -> None:
    """No rule: the teacher at the command line may do anything."""


@dataclass(frozen=True)
class Importer:
    """Who imports or changes data sets, and the checks the classroom puts on them: `may_change(owner, name,
    action)` and `may_store(owned_bytes, new_bytes)` raise to refuse; `counts_space` when their imports count
    against a space of their own. The default is the teacher at the command line, whom nothing limits."""

    owner: Ownership = Ownership()
    may_change: Callable[[Ownership, str, str], None] = _allowed
    may_store: Callable[[int, int], None] = _allowed
    counts_space: bool = False


@dataclass(frozen=True)
class Imported:
    """The outcome of `add`: the new data set, and what the import did (layout, split, dropped rows, notes)."""

    info: DatasetInfo
    report: ImportReport


# --- the seam ---------------------------------------------------------------------------------------------------------
def fingerprint(corpus: Corpus, word_to_rank: dict[str, int], labels: tuple[str, ...]) -> str:
    """A hash of what a model learns from: labels, both splits' ids and labels, and the words in rank order."""
    h = hashlib.sha256(json.dumps(list(labels)).encode())
    for split in (corpus.train, corpus.test):
        for array, dtype in ((split.x.ids, np.int32), (split.x.offsets, np.int64), (split.y, np.int8)):
            h.update(memoryview(np.ascontiguousarray(array, dtype=dtype)).cast("B"))
    h.update(json.dumps(sorted(word_to_rank, key=word_to_rank.__getitem__), ensure_ascii=False).encode())
    return h.hexdigest()


def _imdb() -> Dataset:
    from core.data.imdb import load_corpus
    from core.data.vocab import load_vocabulary

    corpus, vocabulary = load_corpus(), load_vocabulary()
    info = DatasetInfo(DEFAULT, corpus.source.describe(), IMDB_LABELS, len(corpus.train), len(corpus.test),
                       vocabulary.size, vocabulary.size + INDEX_FROM,
                       fingerprint(corpus, vocabulary.word_to_rank, IMDB_LABELS))
    return Dataset(info, corpus, vocabulary)


def load(name: str = DEFAULT) -> Dataset:
    """A data set by name (IMDB by default), read once per process and content."""
    if name == DEFAULT:
        return registry.shared(_imdb_key(), _imdb)
    folder = _folder(name)
    info = _read_info(folder)
    found = registry.shared(_imported_key(folder, info.fingerprint), lambda: _read_dataset(folder, info))
    return found if found.info == info else replace(found, info=info)  # its classes were named since it was read


def _imdb_key() -> tuple[str, str, str]:
    return "dataset", DEFAULT, str(config.data_dir())


def _imported_key(folder: Path, fingerprint: str) -> tuple[str, str, str]:
    return "dataset", str(folder), fingerprint


def loaded(info: DatasetInfo) -> bool:
    """Whether `load(info.name)` answers from memory (pages show a spinner only while a data set is read)."""
    key = _imdb_key() if info.name == DEFAULT else _imported_key(datasets_dir() / info.name, info.fingerprint)
    return registry.has(key)


def info(name: str = DEFAULT) -> DatasetInfo:
    """A data set's description; for an imported one only its small metadata file is read."""
    return load(DEFAULT).info if name == DEFAULT else _read_info(_folder(name))


def names() -> list[str]:
    """IMDB first, then the imported data sets by name."""
    root = datasets_dir()
    if not root.is_dir():
        return [DEFAULT]
    stored = sorted(p.name for p in root.iterdir() if NAME.fullmatch(p.name) and (p / META).is_file())
    return [DEFAULT] + stored


# --- the store --------------------------------------------------------------------------------------------------------
def datasets_dir() -> Path:
    return config.lab_home() / "datasets"


def check_name(name: str) -> str:
    """A name is 1-64 letters, digits, - and _ (starting with a letter or digit): never a path."""
    if not NAME.fullmatch(name or ""):
        raise DatasetError(f"Data set name {name!r} is not allowed: use 1 to 64 letters, digits, - and _, starting "
                           "with a letter or digit.")
    if name.lower() == DEFAULT:
        raise DatasetError(f"{DEFAULT!r} is the built-in IMDB data set; choose another name.")
    return name


def default_name(path: Path) -> str:
    """A file's name without its extensions, made safe: `IMDB Dataset.csv` -> `IMDB-Dataset`."""
    stem = path.name.split(".")[0] if not path.is_dir() else path.name
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:64]
    if not safe:
        return "dataset"
    return f"{safe}-imported" if safe.lower() == DEFAULT else safe


def _folder(name: str) -> Path:
    folder = datasets_dir() / check_name(name)
    if not (folder / META).is_file():
        raise DatasetError(f"No data set named {name!r}; the data sets are: {', '.join(names())}.")
    return folder


def _damaged(folder: Path, why: str) -> DatasetError:
    return DatasetError(f"Data set {folder.name!r} is damaged ({why}); remove it and import it again.")


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise _damaged(path.parent, f"{path.name} is unreadable: {exc}") from None


def _read_info(folder: Path) -> DatasetInfo:
    meta = _read_json(folder / META)
    try:
        if meta["format"] != FORMAT:
            raise _damaged(folder, f"format {meta['format']!r}, this lab reads format {FORMAT}")
        info = DatasetInfo(**{**meta["info"], "labels": tuple(meta["info"]["labels"]),
                              "label_names": tuple(meta["info"].get("label_names") or ())})
    except (KeyError, TypeError) as exc:
        raise _damaged(folder, f"{META} does not describe a data set: {exc}") from None
    return info if info.words_p95 else replace(info, words_p95=_stored_words_p95(folder))


def words_p95(x: Ragged) -> int:
    """Ids per text at the 95th percentile: what a sequence model's length is fitted to (`hparams.for_dataset`)."""
    return int(np.ceil(np.quantile(x.lengths, 0.95))) if len(x) else 1


def _stored_words_p95(folder: Path) -> int:
    """`words_p95` of a data set imported before it was recorded, from its stored training offsets."""
    try:
        with np.load(folder / DATA, allow_pickle=False) as f:
            offsets = f["train_offsets"].astype(np.int64, copy=False)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise _damaged(folder, f"{DATA} is unreadable: {exc}") from None
    return words_p95(Ragged(np.zeros(0, np.int32), offsets))


def report(name: str) -> ImportReport:
    """What the import of a stored data set did: its layout, split, class counts, dropped rows and notes."""
    found = _read_json(_folder(name) / META)
    return ImportReport.from_dict(found.get("report") if isinstance(found, dict) else None)


def _ownership(meta: Any) -> Ownership:
    """The owner a meta file records; none (or one that is not text) is the teacher's."""
    meta = meta if isinstance(meta, dict) else {}
    owner, owner_name = meta.get("owner"), meta.get("owner_name")
    return Ownership(owner if isinstance(owner, str) else None, owner_name if isinstance(owner_name, str) else None)


def ownership(name: str) -> Ownership:
    """Who imported the data set `name` (IMDB, and data sets imported before owners were kept, are the teacher's)."""
    if name == DEFAULT:
        return Ownership()
    folder = _folder(name)
    try:
        return _ownership(_read_json(folder / META))
    except DatasetError:
        return Ownership()  # a damaged data set is the teacher's to remove


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def owned_bytes(token: str) -> int:
    """The stored size of the data sets a student imported (their per-student space counts against it)."""
    total = 0
    for name in names()[1:]:
        folder = datasets_dir() / name
        try:
            if _ownership(json.loads((folder / META).read_text(encoding="utf-8"))).owner == token:
                total += _bytes(folder)
        except (OSError, ValueError):
            continue  # a damaged data set is the teacher's to remove
    return total


def _read_dataset(folder: Path, info: DatasetInfo) -> Dataset:
    words = _read_json(folder / WORDS)
    try:
        with np.load(folder / DATA, allow_pickle=False) as f:
            arrays = {key: f[key] for key in f.files}
        splits = [Split(Ragged(arrays[f"{s}_ids"].astype(np.int32, copy=False),
                               arrays[f"{s}_offsets"].astype(np.int64, copy=False)),
                        arrays[f"{s}_y"].astype(np.int8, copy=False)) for s in ("train", "test")]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise _damaged(folder, f"{DATA} is unreadable: {exc}") from None
    if not isinstance(words, dict) or not words:
        raise _damaged(folder, f"{WORDS} is not a word index")
    corpus = Corpus(splits[0], splits[1], ImportedSource("dataset", info.name))
    if fingerprint(corpus, words, info.labels) != info.fingerprint:
        raise _damaged(folder, "its content no longer matches its fingerprint")
    return Dataset(info, corpus, Vocabulary(words))


def stratified_split(y: np.ndarray, test_size: float, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with every class in both, in the proportion `test_size` per class, each shuffled."""
    rng = np.random.RandomState(seed)
    train, test = [], []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        n_test = min(max(1, int(len(members) * test_size + 0.5)), len(members) - 1)
        test.append(members[:n_test])
        train.append(members[n_test:])
    train_idx, test_idx = np.concatenate(train), np.concatenate(test)
    rng.shuffle(train_idx)
    rng.shuffle(test_idx)
    return train_idx, test_idx


def _split(source: text_source.LabelledText, y: np.ndarray,
           test_size: float) -> tuple[np.ndarray, np.ndarray, HeldOut]:
    """Train and test indices, and how they were made: the source's own split (each side shuffled, so validation,
    the first training reviews, is a fair sample), or a stratified one."""
    if source.is_test is None:
        return (*stratified_split(y, test_size), HeldOut("stratified", test_size, SEED))
    rng = np.random.RandomState(SEED)
    train_idx, test_idx = np.flatnonzero(~source.is_test), np.flatnonzero(source.is_test)
    rng.shuffle(train_idx)
    rng.shuffle(test_idx)
    return train_idx, test_idx, HeldOut("source", seed=SEED)


def check_test_size(test_size: float) -> float:
    if not 0 < test_size < 1:
        raise DatasetError(f"Test size {test_size:g} must be a fraction between 0 and 1 (0.2 keeps a fifth for testing).")
    return test_size


def _counts(y: np.ndarray, labels: tuple[str, ...]) -> dict[str, int]:
    return dict(zip(labels, np.bincount(y, minlength=len(labels)).tolist()))


def _write(folder: Path, meta: dict, words: dict[str, int], corpus: Corpus) -> None:
    arrays = {f"{s}_{k}": v for s, split in (("train", corpus.train), ("test", corpus.test))
              for k, v in zip(ARRAYS, (split.x.ids, split.x.offsets, split.y))}
    for name, write in ((DATA, lambda f: np.savez(f, **arrays)),
                        (WORDS, lambda f: f.write(json.dumps(words, ensure_ascii=False).encode())),
                        (META, lambda f: f.write(json.dumps(meta, indent=1, ensure_ascii=False).encode()))):
        with open(folder / name, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())


def _sweep(root: Path) -> None:
    """Remove temporary folders left by imports whose process died (a kill -9 cannot clean up after itself)."""
    for p in root.glob(TEMP_PREFIX + "*"):
        pid = p.name.rsplit("-", 2)[-2]
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(p, ignore_errors=True)


def parse_class_names(text: str) -> dict[str, str]:
    """`0=negative,1=positive` as {"0": "negative", "1": "positive"}; a comma or `=` inside a name is not possible
    on the command line (the Data sets page takes one name per class)."""
    if len(text) > MAX_CLASS_NAMES_TEXT:
        raise DatasetError(f"The class names are too long: at most {MAX_CLASS_NAMES_TEXT:,} characters in all.")
    pairs = {}
    for part in filter(str.strip, text.split(",")):
        label, sep, given = part.partition("=")
        if not sep or not label.strip():
            raise DatasetError(f"Class names are LABEL=NAME pairs separated by commas (0=negative,1=positive); "
                               f"{part.strip()[:40]!r} is not one.")
        if label.strip() in pairs:
            raise DatasetError(f"Label {label.strip()[:40]!r} is named twice.")
        pairs[label.strip()] = given
    return pairs


def check_class_names(given: dict[str, str], labels: tuple[str, ...]) -> tuple[str, ...]:
    """The classes' names in label-id order: a class not in `given` keeps its label. Each name is stripped, 1 to
    MAX_CLASS_NAME characters without control characters, and names differ (ignoring case): a verdict must name
    one class only."""
    unknown = [label for label in given if label not in labels]
    if unknown:
        raise DatasetError(f"This data set has no class {unknown[0][:40]!r}; its classes are: "
                           f"{', '.join(labels)}.")
    names = []
    for label in labels:
        name = " ".join(str(given.get(label, label)).split())
        if not name:
            raise DatasetError(f"The name of class {label[:40]!r} is empty.")
        if len(name) > MAX_CLASS_NAME:
            raise DatasetError(f"The name of class {label[:40]!r} is {len(name)} characters long; at most "
                               f"{MAX_CLASS_NAME} are allowed.")
        if any(unicodedata.category(c).startswith("C") for c in name):
            raise DatasetError(f"The name of class {label[:40]!r} holds control or invisible characters.")
        names.append(name)
    folded = [n.casefold() for n in names]
    twice = next((n for n, f in zip(names, folded) if folded.count(f) > 1), None)
    if twice is not None:
        raise DatasetError(f"Two classes would be called {twice!r}: give every class its own name.")
    return () if tuple(names) == labels else tuple(names)


def name_classes(name: str, given: dict[str, str], *, by: Importer = Importer()) -> DatasetInfo:
    """Give an imported data set's classes names every page shows (as `by` may: its importer or the teacher). Its
    labels, content and fingerprint stay as they are, so runs trained before still match it (and keep the
    description saved with their model)."""
    if name == DEFAULT:
        raise DatasetError(f"{DEFAULT!r} is the built-in IMDB data set; its classes are named already.")
    folder = _folder(name)
    by.may_change(ownership(name), name, "rename the classes of")
    meta = _read_json(folder / META)
    info = _read_info(folder)
    named = replace(info, label_names=check_class_names(given, info.labels))
    atomic_file.write_json(folder / META, {**meta, "info": named.to_dict()})
    return named


def class_names_of(name: str) -> tuple[str, ...]:
    """A data set's class names as pages show them, without loading its reviews; IMDB's for IMDB or a data set
    that is gone (or unreadable)."""
    if name == DEFAULT:
        return IMDB_LABELS
    try:
        return info(name).class_names
    except DatasetError:
        return IMDB_LABELS


def current_class_names(saved: dict[str, Any]) -> tuple[str, ...] | None:
    """The class names the data set a run trained on has now (`saved`: the description kept with the run's model),
    while it still holds the same content; None for IMDB, or a data set removed or imported again since."""
    name = saved.get("name")
    if not isinstance(name, str) or name == DEFAULT:
        return None
    try:
        found = info(name)
    except DatasetError:
        return None
    return found.class_names if found.fingerprint == saved.get("fingerprint") else None


def _check_replace(by: Importer, name: str, replace: bool) -> int:
    """When `name` is taken: refused unless `replace` and `by` may replace it. Returns the bytes of the data set
    it replaces that count against the importer's own space (0 when there is none, or it is someone else's)."""
    folder = datasets_dir() / name
    if not folder.exists():
        return 0
    if not replace:
        raise DatasetError(f"A data set named {name!r} already exists; choose another name (or replace it).")
    owner = ownership(name)
    by.may_change(owner, name, "replace")
    return _bytes(folder) if owner.owner == by.owner.owner else 0


def add(path: str | os.PathLike, name: str | None = None,
        options: text_source.ReadOptions = text_source.ReadOptions(), test_size: float = TEST_SIZE, *,
        by: Importer = Importer(), replace: bool = False, class_names: dict[str, str] | None = None) -> Imported:
    """Import labelled text as a new data set owned by `by` (the default: the teacher at the command line), its
    classes named by `class_names` (label -> name) when given, or raise one DatasetError (or what `by`'s checks
    raise when the class settings or the data set's owner forbid it) and leave the store as it was. `replace`
    swaps a data set of that name for the new one, when `by` may change it."""
    started = time.perf_counter()
    path = Path(path)
    name = check_name(name) if name is not None else default_name(path)
    check_test_size(test_size)
    root = datasets_dir()
    owned = (owned_bytes(str(by.owner.owner)) if by.counts_space else 0) - _check_replace(by, name, replace)
    by.may_store(owned, 0)
    source = text_import.read(path, options)
    labels = tuple(text_source.label_order(source.labels))
    label_ids = {label: i for i, label in enumerate(labels)}
    y = np.fromiter((label_ids[label] for label in source.labels), dtype=np.int8, count=len(source.labels))
    train_idx, test_idx, split = _split(source, y, test_size)
    encoded = word_index.encode((source.texts[i] for i in train_idx), (source.texts[i] for i in test_idx))
    if not encoded.word_to_rank:
        raise DatasetError(f"No usable text column: the text in {source.layout.text_column!r} has no words.")
    corpus = Corpus(Split(encoded.train, y[train_idx]), Split(encoded.test, y[test_idx]),
                    ImportedSource("dataset", name))
    vocab_size = len(encoded.word_to_rank)
    info = DatasetInfo(name, f"{path.name} ({source.layout.describe()})", labels, len(train_idx), len(test_idx),
                       vocab_size, vocab_size + INDEX_FROM, fingerprint(corpus, encoded.word_to_rank, labels),
                       check_class_names(class_names or {}, labels), words_p95(corpus.train.x))
    train_counts = _counts(corpus.train.y, labels)
    report = ImportReport(
        file=path.name, layout=source.layout.to_dict(), split=split,
        class_counts={"train": train_counts, "test": _counts(corpus.test.y, labels)},
        dropped_empty_text=source.dropped_empty_text, dropped_empty_label=source.dropped_empty_label,
        test_words_unknown=encoded.test_unknown, too_little=too_little(_named(info, train_counts)),
        imported_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    meta = {"format": FORMAT, "owner": by.owner.owner, "owner_name": by.owner.owner_name, "info": info.to_dict(),
            "report": report.to_dict()}
    temp = _temp(root, name)
    try:
        try:
            root.mkdir(parents=True, exist_ok=True)
            _sweep(root)
            temp.mkdir()
            _write(temp, meta, encoded.word_to_rank, corpus)
        except OSError as exc:
            raise _unwritable(exc) from None
        by.may_store(owned, _bytes(temp))
        _put_in_place(temp, root / name, replace)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return Imported(info, dataclasses.replace(report, seconds=round(time.perf_counter() - started, 3)))


def too_little(train_counts: dict[str, int]) -> str | None:
    """A warning naming the classes with fewer than MIN_PER_CLASS training examples, with their numbers; None when
    every class has enough."""
    scarce = {label: n for label, n in train_counts.items() if n < MIN_PER_CLASS}
    if not scarce:
        return None
    listed = ", ".join(f"{label!r}: {n:,}" for label, n in scarce.items())
    which = "this class has" if len(scarce) == 1 else "these classes have"
    return (f"Too little to learn from: {which} fewer than {MIN_PER_CLASS} training examples ({listed}). Below "
            f"{MIN_PER_CLASS} per class, models (and the TF-IDF baseline) learn little beyond always answering the "
            "most common class; add examples of the classes named.")


def too_little_for(name: str) -> str | None:
    """`too_little` for a stored data set, from its import report (the built-in IMDB has 12,500 per class)."""
    if name == DEFAULT:
        return None
    return too_little(_named(info(name), report(name).class_counts.get("train", {})))


def _named(described: DatasetInfo, counts: dict[str, int]) -> dict[str, int]:
    """Counts keyed by label, keyed by the classes' names instead (as the pages call them)."""
    return {shown: counts.get(label, 0) for label, shown in zip(described.labels, described.class_names)}


def _temp(root: Path, name: str) -> Path:
    """A hidden folder beside the data sets for one import or removal; `_sweep` clears it if its process dies."""
    return root / f"{TEMP_PREFIX}{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _unwritable(exc: OSError) -> DatasetError:
    return DatasetError(f"The data set could not be stored: the lab's folder is not writable ({exc.strerror or exc}). "
                        f"Point {config.HOME_ENV} at a writable folder, or free some space.")


def _put_in_place(temp: Path, target: Path, replace: bool) -> None:
    """Rename the finished import into place; when replacing, the old data set is moved aside first and deleted
    only once the new one is in place (put back if that fails)."""
    old = _temp(target.parent, target.name) if replace and target.exists() else None
    try:
        if old is not None:
            _forget(target)
            target.rename(old)
        temp.rename(target)
    except OSError:
        if old is not None and old.exists() and not target.exists():
            old.rename(target)
        elif old is not None:  # another import took the name meanwhile: the old one goes as asked
            shutil.rmtree(old, ignore_errors=True)
        raise DatasetError(f"A data set named {target.name!r} already exists; choose another name.") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _forget(folder: Path) -> None:
    """Drop a data set's loaded copy from this process's memory."""
    try:
        registry.forget(_imported_key(folder, _read_info(folder).fingerprint))
    except DatasetError:
        pass  # a damaged data set was never loaded; removing it is the remedy its message gives


def remove(name: str, *, by: Importer = Importer(), active_runs: Sequence[int] = ()) -> None:
    """Delete an imported data set (as `by` may: its importer or the teacher; its check names the owner otherwise),
    unless runs are queued or training on it (`active_runs`, from the run store): they would fail for want of it.
    Renamed out of sight first, so it is never seen half-deleted."""
    if name == DEFAULT:
        raise DatasetError(f"{DEFAULT!r} is the built-in IMDB data set; it cannot be removed.")
    folder = _folder(name)
    by.may_change(ownership(name), name, "remove")
    if active_runs:
        runs = ", ".join(f"#{run_id}" for run_id in sorted(active_runs))
        raise DatasetError(f"The data set {name!r} cannot be removed now: run{'s' if len(active_runs) > 1 else ''} "
                           f"{runs} {'are' if len(active_runs) > 1 else 'is'} queued or training on it. Remove it "
                           "once they have ended (or cancel them).")
    _forget(folder)
    trash = _temp(folder.parent, name)
    try:
        folder.rename(trash)
    except OSError as exc:
        raise _unwritable(exc) from None
    shutil.rmtree(trash, ignore_errors=True)

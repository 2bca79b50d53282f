"""The run history as tables and files: rows for the Runs page, filtering and sorting, history as CSV, and a
cheap check of a run's saved model file. Streamlit-free, so the CLI and tests can use it too."""
from __future__ import annotations

import csv
import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from core import architectures, bundle, registry
from core.errors import RunNotFoundError, quoted
from core.run_record import RunRecord
from core.store import EPOCH_FIELDS

# Sort orders the Runs page offers: label -> (key on a record, newest/biggest first?)
SORTS = ("Newest first", "Oldest first", "Best validation accuracy", "Test accuracy", "Longest", "Shortest")
# Short column names for the settings the table shows.
SHORT = {
    "num_words": "words", "maxlen": "maxlen", "embedding_dim": "embed", "hidden_layers": "layers", "units": "units",
    "dropout": "dropout", "ngrams": "ngrams", "max_features": "features",
}


def key_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The settings a run's architecture reads (its registry entry's), in the order the Train form shows them."""
    names = architectures.uses(config.get("architecture", ""))
    return {name: config.get(name) for name in names}


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def settings_text(config: dict[str, Any]) -> str:
    """`words 10,000 · layers 2 · units 16 · dropout 0`: the architecture's settings in one short line."""
    return " · ".join(f"{SHORT.get(k, k)} {_number(v)}" for k, v in key_settings(config).items())


def run_row(record: RunRecord) -> dict[str, Any]:
    """One line of the runs table: plain values (numbers stay numbers so the table can sort them)."""
    config = record.config
    planned = config.get("epochs")
    done = len(record.history)
    return {
        "Run": record.id,
        "Name": record.name,
        "Preset": record.preset,
        "Status": record.status,
        "Best val. acc.": record.best_val_accuracy,
        "Test acc.": record.test_accuracy,
        "Majority class": record.baseline.majority_accuracy if record.baseline else None,
        "TF-IDF + LR": record.baseline.tfidf_accuracy if record.baseline else None,
        "Epochs": f"{done} of {planned}" if planned else str(done),
        "Duration (s)": round(record.duration, 1) if record.duration is not None else None,
        "Date": time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_at)),
        "Batch": config.get("batch_size"),
        "Learning rate": config.get("learning_rate"),
        "Model settings": settings_text(config),
        "Note": record.note,
    }


def run_rows(records: Iterable[RunRecord]) -> list[dict[str, Any]]:
    return [run_row(r) for r in records]


def filter_runs(records: Iterable[RunRecord], *, presets: Sequence[str] = (), statuses: Sequence[str] = (),
                text: str = "") -> list[RunRecord]:
    """Runs matching every given filter; empty filters match everything. `text` is looked for, case-insensitively,
    in the name, the note and the `#id preset` title."""
    needle = text.strip().lower()
    out = []
    for r in records:
        if presets and r.preset not in presets:
            continue
        if statuses and r.status not in statuses:
            continue
        if needle and needle not in f"{r.name}\n{r.note}\n#{r.id} {r.preset}".lower():
            continue
        out.append(r)
    return out


def sort_runs(records: Iterable[RunRecord], order: str = SORTS[0]) -> list[RunRecord]:
    """Runs in one of the SORTS orders; runs without the value sorted on go last."""
    records = list(records)
    if order == "Oldest first":
        return sorted(records, key=lambda r: r.id)
    value = {
        "Best validation accuracy": lambda r: r.best_val_accuracy,
        "Test accuracy": lambda r: r.test_accuracy,
        "Longest": lambda r: r.duration,
        "Shortest": lambda r: None if r.duration is None else -r.duration,
    }.get(order)
    if value is None:  # newest first
        return sorted(records, key=lambda r: r.id, reverse=True)
    known = sorted((r for r in records if value(r) is not None), key=lambda r: (value(r), r.id), reverse=True)
    return known + sorted((r for r in records if value(r) is None), key=lambda r: r.id, reverse=True)


def history_csv(history: Sequence[dict[str, Any]]) -> bytes:
    """A run's per-epoch metrics as CSV (one header line, then one line per finished epoch)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EPOCH_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for epoch in history:
        writer.writerow({k: "" if epoch.get(k) is None else epoch.get(k) for k in EPOCH_FIELDS})
    return buffer.getvalue().encode("utf-8")


@dataclass(frozen=True)
class ModelFile:
    """Where a run's saved model is, and why it cannot be used when it cannot (`problem` is None when fine)."""

    path: Path | None
    size: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def model_file(record: RunRecord) -> ModelFile:
    """A cheap check of the run's `model.keras` (it exists and is a readable zip archive), without loading Keras."""
    if record.status in ("queued", "running"):
        return ModelFile(None, None, "The model is saved when training ends.")
    if not record.model_dir:
        return ModelFile(None, None, "This run has no model folder.")
    path = Path(record.model_dir) / bundle.MODEL
    if not path.is_file():
        if record.status in ("failed", "interrupted") or (record.status == "stopped" and record.test_accuracy is None):
            return ModelFile(path, None, "No model was saved: the run ended before training finished.")
        return ModelFile(path, None, f"The model file {bundle.MODEL} of run #{record.id} is missing: it was moved or "
                                     "deleted. "
                                     "The run's record and curves are kept, but it cannot be downloaded or used to score.")
    try:
        found = path.stat()
        size = found.st_size
        complete = registry.shared(("keras archive", str(path), found.st_ino, size, found.st_mtime_ns),
                                   lambda: _holds_config(path))
    except (OSError, zipfile.BadZipFile) as exc:
        return ModelFile(path, None, f"The model file {bundle.MODEL} of run #{record.id} is corrupt "
                                     f"({type(exc).__name__}): it cannot be "
                                     "downloaded or used to score. The run's record and curves are kept.")
    if not complete:
        return ModelFile(path, size, f"The model file {bundle.MODEL} of run #{record.id} is not a complete Keras model "
                                     "(no config.json inside).")
    return ModelFile(path, size, None)


def _holds_config(path: Path) -> bool:
    """Whether a zip archive holds a Keras config.json: read once per file and version, because Predict and Runs
    check every listed run's model on each view."""
    with zipfile.ZipFile(path) as archive:
        return "config.json" in archive.namelist()


def scorable(records: Iterable[RunRecord]) -> list[RunRecord]:
    """The runs whose saved model file is there and readable, so they can score text (in the order given)."""
    return [r for r in records if model_file(r).ok]


def linked_run(value: str, records: Sequence[RunRecord], missing: str) -> RunRecord:
    """The run a `?run=ID` link names among `records` ("12" or "#12"), or a RunNotFoundError saying why not.

    `missing` finishes the sentence for a run number that is not among them ("has no saved model to score with").
    """
    text = value.strip().removeprefix("#")
    if not text.isdecimal() or len(text) > 18:
        raise RunNotFoundError(f"The link's run={quoted(value)} is not a run number.")
    found = next((r for r in records if r.id == int(text)), None)
    if found is None:
        raise RunNotFoundError(f"The link names run #{int(text)}, which {missing}.")
    return found


def download_name(record: RunRecord, suffix: str) -> str:
    """`run-12-dlwp.keras`: a file name that says which run it came from."""
    return f"run-{record.id}-{record.preset}{suffix}"

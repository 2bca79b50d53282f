"""The class board: every run of the current lesson in one table, ranked, grouped by the idea it tried.

Rows come from the run store (what is kept) overlaid with the runner's live snapshots (queue place, progress),
so a training shows its progress between epochs. The board's own state (when the lesson started, which runs the
teacher hid) is a small JSON file in the lab home: clearing the board for a new lesson moves the lesson start,
it never deletes a run, so earlier lessons stay on the Runs page and on disk. Who may do what is the classroom's
rule (core/classroom/permissions.py): only the teacher hides, clears and exports, and a student sees only their own runs
when the teacher has turned sharing off.
"""
from __future__ import annotations

import csv
import fcntl
import io
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from core import architectures, atomic_file, config, hparams, run_record
from core.classroom import assignments, permissions
from core.errors import LabError, StoreError
from core.classroom.people import Actor
from core.run_record import ACTIVE, RunRecord

STATE_FILE = "board.json"
SORTS = ("Newest first", "Leaderboard (test accuracy)", "Best validation accuracy")
LEADERBOARD = SORTS[1]
NOT_IN_GROUP_KEY = ("seed",)  # the same settings with another seed is the same idea, tried again
_NOT_SETTINGS = ("preset", "architecture", "dataset")  # the data set has its own column
CSV_COLUMNS = ("Rank", "Run", "Student", "Name", "Assignment", "Data set", "Preset", "Changed settings",
               "Best val. acc.", "Test acc.", "Epochs", "Seconds", "Status", "Tried by")
REMOVED_ASSIGNMENT = "(removed)"  # a run's assignment that is no longer on this server
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads these as the start of a formula


@dataclass(frozen=True)
class BoardState:
    """What the teacher set: runs created before `lesson_start` are archived (off the board), `hidden` are hidden."""

    lesson_start: float = 0.0
    hidden: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Row:
    """One run on the board (its live state merged in, `run_record.overlay`) and what the board makes of it."""

    run: RunRecord
    student: str
    changes: dict[str, Any]  # settings that differ from the preset, in the Train form's order
    group: str = ""  # the same text for runs that tried the same settings
    group_size: int = 1
    group_best: bool = True  # the best test accuracy among its group (or the only one)
    rank: int | None = None  # leaderboard place; equal test accuracies share it
    assignment: str | None = None  # the title of the assignment the run answered
    result_seconds: float | None = None  # a queued run: seconds until its results are expected (the forecast)

    @property
    def epochs_planned(self) -> int | None:
        return self.run.config.get("epochs")

    @property
    def seconds(self) -> float | None:
        return self.run.train_seconds if self.run.train_seconds is not None else self.run.duration

    @property
    def progress(self) -> float | None:
        """The share of the planned batches done (1 while testing and saving); None when not training here."""
        live = self.run.live
        if self.run.status != "running" or live is None:
            return None
        if live.phase in ("evaluating", "saving"):
            return 1.0
        if live.phase != "training" or not live.batches:
            return 0.0
        return min((live.epoch * live.batches + live.batch) / max(live.hp.epochs * live.batches, 1), 1.0)

    @property
    def changes_text(self) -> str:
        return ", ".join(f"{k}={_text(v)}" for k, v in self.changes.items()) or "preset as it is"

    @property
    def status_text(self) -> str:
        status = self.run.status
        if status == "queued":
            place = self.run.live.queue_position if self.run.live else None
            return f"queued ({_ordinal(place)} in line)" if place else "queued"
        if status == "running":
            return f"training {self.progress:.0%}" if self.progress is not None else "training"
        return status


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- state file -------------------------------------------------------------------------------------------
def _path(home: Path | None) -> Path:
    return Path(home if home is not None else config.lab_home()) / STATE_FILE


def load_state(home: Path | None = None) -> BoardState:
    """The board's state; a lab that never cleared or hid anything has the default (every run, none hidden)."""
    path = _path(home)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return BoardState(float(raw.get("lesson_start", 0.0)), frozenset(int(i) for i in raw.get("hidden", [])))
    except FileNotFoundError:
        return BoardState()
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise StoreError(f"The class board's file {path} cannot be read ({exc}); delete it to start a fresh board "
                         "(no run is lost: the board only lists runs).") from exc


def _save_state(path: Path, state: BoardState) -> None:
    atomic_file.write_json(path, {"lesson_start": state.lesson_start, "hidden": sorted(state.hidden)})


@contextmanager
def _changing(home: Path | None) -> Iterator[Path]:
    """One change at a time (across processes), so two quick clicks cannot lose each other's change."""
    path = _path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield path


def set_hidden(run_id: int, hidden: bool, *, actor: Actor, home: Path | None = None) -> BoardState:
    """Hide a run from the board (or show it again); the run itself is untouched."""
    permissions.require_teacher(actor, "hide runs on the class board")
    with _changing(home) as path:
        state = load_state(home)
        ids = state.hidden | {run_id} if hidden else state.hidden - {run_id}
        state = replace(state, hidden=frozenset(ids))
        _save_state(path, state)
    return state


def clear_lesson(*, actor: Actor, home: Path | None = None, now: float | None = None) -> BoardState:
    """Start a new lesson: the board shows only runs created from now on. Earlier runs stay kept (Runs page)."""
    permissions.require_teacher(actor, "clear the class board")
    with _changing(home) as path:
        state = BoardState(lesson_start=time.time() if now is None else now)
        _save_state(path, state)
    return state


# --- rows -------------------------------------------------------------------------------------------------
def fitted_preset(preset: str, dataset: str) -> hparams.HParams | None:
    """The preset's values as a run on `dataset` started from them (`hparams.for_dataset`); the preset as it is
    when the data set has been removed; None for an unknown preset (from an older lab)."""
    base = hparams.PRESETS.get(preset)
    if base is None or dataset == hparams.DEFAULT_DATASET:
        return base
    try:
        return hparams.for_dataset(base, hparams.sizes_of(dataset))
    except LabError:
        return base


def differences(preset: str, values: Mapping[str, Any], base: hparams.HParams | None = None) -> dict[str, Any]:
    """The settings of a run that differ from its preset's (fitted to the run's data set, or `base` when given),
    counting only those its architecture reads.

    A run of an unknown preset (from an older lab) is compared with nothing and shows no difference.
    """
    if base is None:
        base = fitted_preset(preset, values.get("dataset") or hparams.DEFAULT_DATASET)
    if base is None:
        return {}
    uses = set(architectures.uses(values.get("architecture", base.architecture)))
    # settings some architecture reads count only when the run's own one reads them
    some = {name for entry in architectures.ARCHITECTURES.values() for name in entry.uses}
    names = [f.name for f in fields(hparams.HParams)
             if f.name not in _NOT_SETTINGS and (f.name not in some or f.name in uses)]
    return {name: values[name] for name in names if name in values and values[name] != getattr(base, name)}


def group_key(preset: str, changes: Mapping[str, Any], dataset: str = hparams.DEFAULT_DATASET) -> str:
    """The same text for two runs that tried the same idea: data set (when not IMDB), preset and changed settings,
    the seed left out."""
    tried = ", ".join(f"{k}={_text(v)}" for k, v in sorted(changes.items()) if k not in NOT_IN_GROUP_KEY)
    on = "" if dataset == hparams.DEFAULT_DATASET else f"{dataset} · "
    return f"{on}{preset}: {tried or 'preset as it is'}"


def student(record: RunRecord) -> str:
    """Whose the run is, as the lab names owners everywhere (never the browser's owner token)."""
    return permissions.owner_label(record)


def assignment_title(assignment_id: str | None, home: Path | None = None) -> str | None:
    """The title of the assignment a run answered; a short placeholder once it is gone; None for a free run."""
    if not assignment_id:
        return None
    try:
        return assignments.load(assignment_id, home).title
    except LabError:
        return REMOVED_ASSIGNMENT


def row(record: RunRecord, snap: RunRecord | None = None, *, base: hparams.HParams | None = None,
        assignment: str | None = None, result_seconds: float | None = None) -> Row:
    """A run on the board; its live snapshot, when this server runs it, is newer than the store for what it has.

    `base` is the preset fitted to the run's data set and `assignment` the title of its assignment, when the
    caller has them already (`rows` looks each up once for the whole board)."""
    changes = differences(record.preset, record.config, base)
    run = run_record.overlay(record, snap)
    return Row(run=run, student=student(record), changes=changes,
               group=group_key(record.preset, changes, record.dataset),
               assignment=assignment if assignment is not None else assignment_title(record.assignment),
               result_seconds=result_seconds if run.status == "queued" else None)


def _grouped(rows: list[Row]) -> list[Row]:
    """Each row learns how many runs tried its settings, and whether it is the best of them; ranks by test accuracy."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    best = {key: max((r.run.test_accuracy for r in members if r.run.test_accuracy is not None), default=None)
            for key, members in groups.items()}
    tested = [r.run.test_accuracy for r in rows if r.run.test_accuracy is not None]
    places = {}
    for score in sorted({_rounded(a) for a in tested}, reverse=True):  # competition ranking: 1, 2, 2, 4
        places[score] = 1 + sum(1 for a in tested if _rounded(a) > score)
    return [replace(r, group_size=len(groups[r.group]),
                    group_best=r.run.test_accuracy is None or r.run.test_accuracy == best[r.group],
                    rank=places.get(_rounded(r.run.test_accuracy)) if r.run.test_accuracy is not None else None)
            for r in rows]


def _rounded(value: float | None) -> float | None:
    """Accuracies equal as the board shows them (0.1 %) are a tie."""
    return None if value is None else round(value, 3)


def rows(records: Iterable[RunRecord], snapshots: Mapping[int, RunRecord], state: BoardState, actor: Actor, *,
         show_hidden: bool = False, home: Path | None = None,
         forecasts: Mapping[int, tuple[float, float]] | None = None) -> list[Row]:
    """The board as `actor` may see it: runs of the current lesson (created since `state.lesson_start`) that the
    class settings let them see, hidden ones left out unless `show_hidden` (the teacher only), newest first, each
    with its group and leaderboard place among the rows shown; `forecasts` (the runner's: seconds until each
    waiting run starts and until its results) gives each queued row its expected time to results."""
    forecasts = forecasts or {}
    if show_hidden:
        permissions.require_teacher(actor, "show the hidden runs of the class board")
    shown = [r for r in permissions.visible(actor, records, permissions.class_settings(home))
             if r.created_at >= state.lesson_start and (show_hidden or r.id not in state.hidden)]
    bases = {(r.preset, r.dataset): fitted_preset(r.preset, r.dataset) for r in shown}
    titles = {r.assignment: assignment_title(r.assignment, home) for r in shown if r.assignment}
    return _grouped([row(r, snapshots.get(r.id), base=bases[r.preset, r.dataset], assignment=titles.get(r.assignment),
                         result_seconds=forecasts[r.id][1] if r.id in forecasts else None)
                     for r in sorted(shown, key=lambda r: r.id, reverse=True)])


def sort_rows(board: Sequence[Row], order: str) -> list[Row]:
    """`SORTS`: newest first, the leaderboard (test accuracy, then validation accuracy; untested runs last), or
    best validation accuracy."""
    if order not in SORTS:
        raise LabError(f"Unknown board order {order!r}: choose one of {', '.join(SORTS)}.")
    if order == SORTS[0]:
        return sorted(board, key=lambda r: r.run.id, reverse=True)
    first, second = (("test_accuracy", "best_val_accuracy") if order == LEADERBOARD
                     else ("best_val_accuracy", "test_accuracy"))

    def key(r: Row) -> tuple:
        a, b = getattr(r.run, first), getattr(r.run, second)
        return (a is None, -(a or 0.0), b is None, -(b or 0.0), -r.run.id)

    return sorted(board, key=key)


def groups(board: Sequence[Row]) -> list[tuple[str, int, float | None]]:
    """(settings tried, how many runs tried them, best test accuracy) for each idea tried twice or more, the
    most tried first."""
    seen: dict[str, list[Row]] = {}
    for r in board:
        seen.setdefault(r.group, []).append(r)
    found = [(key, len(members),
              max((m.run.test_accuracy for m in members if m.run.test_accuracy is not None), default=None))
             for key, members in seen.items() if len(members) > 1]
    return sorted(found, key=lambda g: (-g[1], -(g[2] or 0.0), g[0]))


def active_count(board: Sequence[Row]) -> int:
    return sum(r.run.status in ACTIVE for r in board)


# --- CSV --------------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    """Every value as text; text a spreadsheet would run as a formula (=, +, -, @ first) starts with a quote."""
    text = "" if value is None else _text(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(board: Sequence[Row], *, actor: Actor) -> str:
    """The board as CSV for the teacher's records, one line per run in the order given."""
    permissions.require_teacher(actor, "export the class board")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in board:
        writer.writerow(_cell(v) for v in (
            r.rank, r.run.id, r.student, r.run.name, r.assignment, r.run.dataset, r.run.preset, r.changes_text,
            None if r.run.best_val_accuracy is None else f"{r.run.best_val_accuracy:.4f}",
            None if r.run.test_accuracy is None else f"{r.run.test_accuracy:.4f}",
            f"{len(r.run.history)} of {r.epochs_planned}" if r.epochs_planned else len(r.run.history),
            None if r.seconds is None else f"{r.seconds:.1f}", r.status_text, r.group_size))
    return out.getvalue()

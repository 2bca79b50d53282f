"""The class board's engine (core/board.py): rows from a real run store, differences from the preset, groups of the
same idea, the leaderboard, hiding, clearing for a new lesson (runs kept) and the CSV export."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from core import board, hparams
from core.errors import StoreError
from core.runner import Snapshot
from core.store import RunStore


def _record(store: RunStore, preset: str = "dlwp", *, owner: str = "owner-token-abcdef", test: float | None = None,
            vals: tuple[float, ...] = (), name: str = "", status: str = "finished", **overrides) -> int:
    hp = hparams.make(preset, **overrides)
    run_id = store.create(preset, hp.to_dict(), owner)
    for n, val in enumerate(vals, start=1):
        store.add_epoch(run_id, {"epoch": n, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.4, "val_accuracy": val})
    if status != "queued":
        store.mark_running(run_id)
    if status not in ("queued", "running"):
        store.finish(run_id, status, train_seconds=12.5, test_accuracy=test)
    if name:
        store.update_text(run_id, name=name)
    return run_id


@pytest.fixture()
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "lab")


def _snapshot(store: RunStore, run_id: int, **live) -> Snapshot:
    record = store.get(run_id)
    values = dict(id=run_id, hp=hparams.from_dict(record.config), owner=record.owner, status="running",
                  phase="training", epoch=0, batch=0, batches=10, history=(), probes=(), probe_scores=(),
                  queue_position=None, started_at=None, finished_at=None, train_seconds=None, test_accuracy=None,
                  test_loss=None, model_dir=None, error=None, stop_requested=False, phase_seconds={},
                  phase_started_at=None)
    values.update(live)
    return Snapshot(**values)


def test_differences_count_only_settings_the_architecture_reads():
    base = hparams.PRESETS["dlwp"].to_dict()
    assert board.differences("dlwp", base) == {}
    changed = hparams.make("dlwp", dropout=0.3, learning_rate=0.01, maxlen=100).to_dict()  # dlwp reads no maxlen
    assert board.differences("dlwp", changed) == {"dropout": 0.3, "learning_rate": 0.01}
    assert board.differences("no-such-preset", changed) == {}


def test_rows_show_settings_scores_and_student(store):
    first = _record(store, test=0.85, vals=(0.80, 0.86), dropout=0.2)
    second = _record(store, "fast", test=0.91, vals=(0.9,), owner="x" * 20, name="my fast one")
    rows = board.rows(store.list(with_history=True), {}, board.BoardState())
    assert [r.run_id for r in rows] == [second, first]  # newest first
    r = rows[1]
    assert (r.preset, r.changes, r.best_val_accuracy, r.test_accuracy) == ("dlwp", {"dropout": 0.2}, 0.86, 0.85)
    assert (r.epochs_done, r.epochs_planned, r.seconds, r.status) == (2, 4, 12.5, "finished")
    assert r.student == "guest owner-" and r.changes_text == "dropout=0.2"
    assert rows[0].changes_text == "preset as it is" and rows[0].name == "my fast one"


def test_live_snapshot_gives_queue_place_and_progress(store):
    running = _record(store, status="running")
    queued = _record(store, status="queued")
    snaps = {running: _snapshot(store, running, epoch=1, batch=5, batches=10),
             queued: _snapshot(store, queued, status="queued", phase="queued", queue_position=2)}
    rows = {r.run_id: r for r in board.rows(store.list(with_history=True), snaps, board.BoardState())}
    assert rows[running].progress == pytest.approx(15 / 40) and rows[running].status_text == "training 38%"
    assert rows[queued].status_text == "queued (2nd in line)"
    assert board.active_count(list(rows.values())) == 2


def test_same_settings_are_grouped_and_ties_share_a_rank(store):
    a = _record(store, test=0.80, dropout=0.2)
    b = _record(store, test=0.86, dropout=0.2, seed=7)  # another seed: the same idea tried again
    c = _record(store, test=0.86)
    d = _record(store, test=0.70, dropout=0.5)
    rows = {r.run_id: r for r in board.rows(store.list(with_history=True), {}, board.BoardState())}
    assert rows[a].group == rows[b].group == "dlwp: dropout=0.2"
    assert rows[a].group_size == rows[b].group_size == 2 and rows[c].group_size == 1
    assert rows[b].group_best and not rows[a].group_best
    assert (rows[b].rank, rows[c].rank, rows[a].rank, rows[d].rank) == (1, 1, 3, 4)
    assert board.groups(list(rows.values())) == [("dlwp: dropout=0.2", 2, 0.86)]


def test_leaderboard_sort_puts_untested_runs_last(store):
    low = _record(store, test=0.7, vals=(0.9,))
    high = _record(store, test=0.9, vals=(0.7,))
    untested = _record(store, status="running", vals=(0.95,))
    rows = board.rows(store.list(with_history=True), {}, board.BoardState())
    assert [r.run_id for r in board.sort_rows(rows, board.LEADERBOARD)] == [high, low, untested]
    assert [r.run_id for r in board.sort_rows(rows, "Best validation accuracy")] == [untested, low, high]
    assert [r.run_id for r in board.sort_rows(rows, "Newest first")] == [untested, high, low]


def test_hide_is_for_the_teacher_and_keeps_the_run(store):
    hidden = _record(store, test=0.8)
    kept = _record(store, test=0.9)
    with pytest.raises(board.TeacherOnlyError, match="Only the teacher"):
        board.set_hidden(hidden, True, is_teacher=False, home=store.home)
    state = board.set_hidden(hidden, True, is_teacher=True, home=store.home)
    assert board.load_state(store.home) == state and state.hidden == {hidden}
    records = store.list(with_history=True)
    assert [r.run_id for r in board.rows(records, {}, state)] == [kept]
    assert {r.run_id for r in board.rows(records, {}, state, show_hidden=True)} == {hidden, kept}
    assert board.set_hidden(hidden, False, is_teacher=True, home=store.home).hidden == frozenset()
    assert store.get(hidden).test_accuracy == 0.8


def test_clear_for_a_new_lesson_archives_without_deleting(store):
    old = _record(store, test=0.8)
    with pytest.raises(board.TeacherOnlyError):
        board.clear_lesson(is_teacher=False, home=store.home)
    start = store.get(old).created_at + 0.001
    state = board.clear_lesson(is_teacher=True, home=store.home, now=start)
    new = _record(store, test=0.9)
    assert [r.run_id for r in board.rows(store.list(with_history=True), {}, board.load_state(store.home))] == [new]
    assert {r.id for r in store.list()} == {old, new}  # the earlier lesson's run is still kept
    saved = json.loads((store.home / board.STATE_FILE).read_text())
    assert saved == {"lesson_start": state.lesson_start, "hidden": []}
    assert not list(store.home.glob(".board-*"))  # no temporary file left behind


def test_a_broken_state_file_is_named_in_the_message(store):
    store.home.mkdir(parents=True, exist_ok=True)
    (store.home / board.STATE_FILE).write_text("{not json")
    with pytest.raises(StoreError, match="board.json cannot be read.*delete it"):
        board.load_state(store.home)


def test_csv_is_text_for_the_teacher_with_formulas_defused(store):
    _record(store, test=0.85, vals=(0.8,), name="=HYPERLINK(\"http://x\",\"y\")")
    _record(store, test=0.9, name="@SUM(A1)")
    _record(store, test=0.7, name="+1 and -2 plain")
    rows = board.sort_rows(board.rows(store.list(with_history=True), {}, board.BoardState()), board.LEADERBOARD)
    with pytest.raises(board.TeacherOnlyError):
        board.csv_text(rows, is_teacher=False)
    table = list(csv.reader(io.StringIO(board.csv_text(rows, is_teacher=True))))
    assert table[0] == list(board.CSV_COLUMNS)
    names = [line[3] for line in table[1:]]
    assert names == ["'@SUM(A1)", "'=HYPERLINK(\"http://x\",\"y\")", "'+1 and -2 plain"]
    assert table[1][0] == "1" and table[1][7] == "0.9000" and table[2][6] == "0.8000"


def test_student_prefers_the_display_name(store):
    run_id = _record(store, test=0.8)
    record = store.get(run_id)
    assert board.student(record) == "guest owner-"
    record.owner_name = "Ada"  # the display name recorded by the class identities
    assert board.student(record) == "Ada"
    assert board.student(replace(store.get(run_id), owner=None)) == "unknown"

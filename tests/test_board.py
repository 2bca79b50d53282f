"""The class board's engine (core/classroom/board.py): rows from a real run store, differences from the preset, groups of the
same idea, the leaderboard, hiding, clearing for a new lesson (runs kept) and the CSV export, each with the
classroom's rules: only the teacher hides, clears and exports, and sharing turned off keeps others' runs off a
student's board."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from core import hparams
from core.classroom import assignments, board, permissions
from core.errors import StoreError
from core.classroom.people import CLI_OWNER, Actor, PermissionDenied
from core.run_record import Live, RunRecord
from core.store import RunStore

STUDENT = Actor("owner-token-abcdef", "Ada")
TEACHER = Actor("teacher-browser", "Ms Teacher", is_teacher=True)
REFUSED = "Only the teacher can .*unlock the Teacher page with the teacher key"


def _record(store: RunStore, preset: str = "dlwp", *, owner: str | None = STUDENT.token, test: float | None = None,
            vals: tuple[float, ...] = (), name: str = "", status: str = "finished", owner_name: str | None = "Ada",
            assignment: str | None = None, **overrides) -> int:
    hp = hparams.make(preset, **overrides)
    run_id = store.create(preset, hp.to_dict(), owner, owner_name=owner_name, assignment=assignment)
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


def _snapshot(store: RunStore, run_id: int, status: str = "running", **live) -> RunRecord:
    """The run as its runner would publish it while it trains (or waits)."""
    record = store.get(run_id)
    state = Live(**{"hp": hparams.from_dict(record.config), "phase": "training", "batches": 10, **live})
    return replace(record, status=status, live=state)


def _rows(store: RunStore, actor: Actor = STUDENT, state: board.BoardState | None = None, **options) -> list[board.Row]:
    return board.rows(store.list(with_history=True), {}, state or board.BoardState(), actor, home=store.home, **options)


def test_differences_count_only_settings_the_architecture_reads():
    base = hparams.PRESETS["dlwp"].to_dict()
    assert board.differences("dlwp", base) == {}
    changed = hparams.make("dlwp", dropout=0.3, learning_rate=0.01, maxlen=100).to_dict()  # dlwp reads no maxlen
    assert board.differences("dlwp", changed) == {"dropout": 0.3, "learning_rate": 0.01}
    assert board.differences("no-such-preset", changed) == {}


def test_rows_show_settings_scores_and_student(store):
    first = _record(store, test=0.85, vals=(0.80, 0.86), dropout=0.2)
    second = _record(store, "fast", test=0.91, vals=(0.9,), owner="x" * 20, owner_name="Bo", name="my fast one")
    rows = _rows(store)
    assert [r.run.id for r in rows] == [second, first]  # newest first
    r = rows[1]
    assert (r.run.preset, r.changes, r.run.best_val_accuracy, r.run.test_accuracy) == ("dlwp", {"dropout": 0.2}, 0.86, 0.85)
    assert (len(r.run.history), r.epochs_planned, r.seconds, r.run.status) == (2, 4, 12.5, "finished")
    assert (r.student, rows[0].student) == ("Ada", "Bo") and r.changes_text == "dropout=0.2"
    assert rows[0].changes_text == "preset as it is" and rows[0].run.name == "my fast one"


def test_live_snapshot_gives_queue_place_and_progress(store):
    running = _record(store, status="running")
    queued = _record(store, status="queued")
    snaps = {running: _snapshot(store, running, epoch=1, batch=5, batches=10),
             queued: _snapshot(store, queued, status="queued", phase="queued", queue_position=2)}
    rows = {r.run.id: r for r in board.rows(store.list(with_history=True), snaps, board.BoardState(), STUDENT)}
    assert rows[running].progress == pytest.approx(15 / 40) and rows[running].status_text == "training 38%"
    assert rows[queued].status_text == "queued (2nd in line)"
    assert board.active_count(list(rows.values())) == 2


def test_same_settings_are_grouped_and_ties_share_a_rank(store):
    a = _record(store, test=0.80, dropout=0.2)
    b = _record(store, test=0.86, dropout=0.2, seed=7)  # another seed: the same idea tried again
    c = _record(store, test=0.86)
    d = _record(store, test=0.70, dropout=0.5)
    rows = {r.run.id: r for r in _rows(store)}
    assert rows[a].group == rows[b].group == "dlwp: dropout=0.2"
    assert rows[a].group_size == rows[b].group_size == 2 and rows[c].group_size == 1
    assert rows[b].group_best and not rows[a].group_best
    assert (rows[b].rank, rows[c].rank, rows[a].rank, rows[d].rank) == (1, 1, 3, 4)
    assert board.groups(list(rows.values())) == [("dlwp: dropout=0.2", 2, 0.86)]


def test_leaderboard_sort_puts_untested_runs_last(store):
    low = _record(store, test=0.7, vals=(0.9,))
    high = _record(store, test=0.9, vals=(0.7,))
    untested = _record(store, status="running", vals=(0.95,))
    rows = _rows(store)
    assert [r.run.id for r in board.sort_rows(rows, board.LEADERBOARD)] == [high, low, untested]
    assert [r.run.id for r in board.sort_rows(rows, "Best validation accuracy")] == [untested, low, high]
    assert [r.run.id for r in board.sort_rows(rows, "Newest first")] == [untested, high, low]


def test_hide_is_for_the_teacher_and_keeps_the_run(store):
    hidden = _record(store, test=0.8)
    kept = _record(store, test=0.9)
    with pytest.raises(PermissionDenied, match=REFUSED):  # not even the run's own student
        board.set_hidden(hidden, True, actor=STUDENT, home=store.home)
    assert board.load_state(store.home) == board.BoardState()
    state = board.set_hidden(hidden, True, actor=TEACHER, home=store.home)
    assert board.load_state(store.home) == state and state.hidden == {hidden}
    assert [r.run.id for r in _rows(store, state=state)] == [kept]
    assert {r.run.id for r in _rows(store, TEACHER, state, show_hidden=True)} == {hidden, kept}
    with pytest.raises(PermissionDenied, match=REFUSED):
        _rows(store, STUDENT, state, show_hidden=True)
    assert board.set_hidden(hidden, False, actor=TEACHER, home=store.home).hidden == frozenset()
    assert store.get(hidden).test_accuracy == 0.8


def test_clear_for_a_new_lesson_archives_without_deleting(store):
    old = _record(store, test=0.8)
    with pytest.raises(PermissionDenied, match=REFUSED):
        board.clear_lesson(actor=STUDENT, home=store.home)
    assert not (store.home / board.STATE_FILE).exists()
    start = store.get(old).created_at + 0.001
    state = board.clear_lesson(actor=TEACHER, home=store.home, now=start)
    new = _record(store, test=0.9)
    assert [r.run.id for r in _rows(store, state=board.load_state(store.home))] == [new]
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
    rows = board.sort_rows(_rows(store, TEACHER), board.LEADERBOARD)
    with pytest.raises(PermissionDenied, match=REFUSED):
        board.csv_text(rows, actor=STUDENT)
    table = list(csv.reader(io.StringIO(board.csv_text(rows, actor=TEACHER))))
    assert table[0] == list(board.CSV_COLUMNS)
    column = {name: n for n, name in enumerate(board.CSV_COLUMNS)}
    names = [line[column["Name"]] for line in table[1:]]
    assert names == ["'@SUM(A1)", "'=HYPERLINK(\"http://x\",\"y\")", "'+1 and -2 plain"]
    assert table[1][0] == "1" and table[1][column["Test acc."]] == "0.9000"
    assert table[2][column["Best val. acc."]] == "0.8000" and table[1][column["Data set"]] == "imdb"


def test_students_are_named_as_the_lab_names_owners_never_by_token(store):
    named = _record(store, test=0.8)
    unnamed = _record(store, owner="y" * 20, owner_name=None)
    cli = _record(store, owner=CLI_OWNER, owner_name=None)
    ownerless = _record(store, owner=None, owner_name=None)
    students = {r.run.id: r.student for r in _rows(store)}
    assert students == {named: "Ada", unnamed: "another student", cli: "the teacher", ownerless: "the teacher"}
    assert board.student(store.get(named)) == permissions.owner_label(store.get(named))


def test_sharing_turned_off_leaves_a_student_only_their_own_runs(store):
    mine = _record(store, test=0.8)
    theirs = _record(store, test=0.9, owner="z" * 20, owner_name="Bo")
    teachers = _record(store, test=0.7, owner=CLI_OWNER, owner_name=None)
    assert {r.run.id for r in _rows(store)} == {mine, theirs, teachers}  # shared by default
    permissions.save_class_settings(TEACHER, store.home, share_runs=False)
    only_mine = _rows(store)
    assert [(r.run.id, r.rank) for r in only_mine] == [(mine, 1)]  # ranked among what the student sees
    assert {r.run.id for r in _rows(store, TEACHER)} == {mine, theirs, teachers}


def test_the_assignment_column_names_each_runs_assignment(store):
    task = assignments.create(TEACHER, hparams.make("dlwp"), {"dropout": [0.2, 0.5]}, "Dropout <b>hunt</b>",
                              home=store.home)
    answered = _record(store, test=0.8, assignment=task.id, dropout=0.2)
    gone = _record(store, test=0.7, assignment="a" * len(task.id))
    free = _record(store, test=0.9)
    titles = {r.run.id: r.assignment for r in _rows(store)}
    assert titles == {answered: "Dropout <b>hunt</b>", gone: board.REMOVED_ASSIGNMENT, free: None}
    table = list(csv.DictReader(io.StringIO(board.csv_text(_rows(store, TEACHER), actor=TEACHER))))
    assert [line["Assignment"] for line in table] == ["", board.REMOVED_ASSIGNMENT, "Dropout <b>hunt</b>"]


def test_runs_on_another_data_set_compare_with_the_preset_fitted_to_it(store, lab_home, amazon_dataset, monkeypatch):
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(lab_home))  # where the session imported amazon's sentences
    preset, fitted = hparams.PRESETS["dlwp"], hparams.make("dlwp", dataset="amazon")
    refit = {k: getattr(fitted, k) for k in hparams.used(fitted) if getattr(fitted, k) != getattr(preset, k)}
    assert "val_size" in refit  # amazon's few sentences get a smaller validation set than IMDB's
    as_is = _record(store, dataset="amazon")
    changed = _record(store, dataset="amazon", dropout=0.3)
    imdb = _record(store)
    rows = {r.run.id: r for r in _rows(store)}
    assert (rows[as_is].changes, rows[as_is].changes_text, rows[as_is].run.dataset) == ({}, "preset as it is", "amazon")
    assert rows[changed].changes == {"dropout": 0.3} and rows[changed].group == "amazon · dlwp: dropout=0.3"
    assert rows[imdb].run.dataset == "imdb" and rows[imdb].group == "dlwp: preset as it is" != rows[as_is].group
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(store.home))  # a home without it: as if removed
    assert {r.run.id: r.changes for r in _rows(store)}[as_is] == refit  # compared with the preset, no error

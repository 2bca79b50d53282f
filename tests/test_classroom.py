"""Classroom rules on real (tiny) runs: only a run's owner or the teacher changes it (checked in core, so a direct
call is refused too), the teacher key, the round-robin queue with its per-student limit, and assignment links."""
from __future__ import annotations

import pytest

from core import hparams
from core.classroom import assignments, guarded, people, permissions
from core.errors import ConfigError, LabError
from core.classroom.people import Actor, PermissionDenied
from core.runner import QueueFull, Runner
from core.store import RunStore
from conftest import short_test_split
from gate import GateExecutor
from test_runner import _wait_for

TEACHER = Actor("teacher-browser", "Ms Teacher", is_teacher=True)
ADA = Actor("token-ada", "Ada")
BO = Actor("token-bo", "Bo")
TINY = dict(limit=200, val_size=100, epochs=1)
LONG = dict(limit=4000, val_size=500, epochs=60, batch_size=16)  # holds the trainer until it is stopped
SHORT_TEST = short_test_split()  # these runs' tests read no test scores: the first 1,000 test reviews will do


@pytest.fixture(scope="module")
def ada_run(run_store):
    """A finished tiny run of student Ada, submitted as she would from the Train page."""
    run = Runner(run_store, dataset=SHORT_TEST).submit(hparams.make("dlwp", **TINY), owner=ADA, probes=())
    snap = run.wait(timeout=600)
    assert snap.status == "finished", snap.error
    return snap


# --- who may change a run ----------------------------------------------------------------------------------
def test_a_run_records_its_owner_and_name(ada_run, run_store):
    record = run_store.get(ada_run.id)
    assert (record.owner, record.owner_name, record.assignment) == ("token-ada", "Ada", None)
    assert ada_run.owner_name == "Ada"


def test_another_student_cannot_rename_annotate_or_delete_a_run_through_core(ada_run, run_store):
    for action in (lambda: guarded.update_text(run_store, ada_run.id, BO, name="mine now"),
                   lambda: guarded.update_text(run_store, ada_run.id, BO, note="ha"),
                   lambda: guarded.delete(run_store, ada_run.id, BO)):
        with pytest.raises(PermissionDenied, match=r"belongs to Ada: only its owner or the teacher can"):
            action()
    record = run_store.get(ada_run.id)
    assert (record.name, record.note, record.model_dir) == ("", "", ada_run.model_dir)


def test_the_owner_and_the_teacher_can_change_a_run(ada_run, run_store):
    guarded.update_text(run_store, ada_run.id, ADA, name="first try", note="my note")
    guarded.update_text(run_store, ada_run.id, TEACHER, note="good start")
    record = run_store.get(ada_run.id)
    assert (record.name, record.note) == ("first try", "good start")


def test_the_teacher_deletes_a_students_run_and_cli_runs_belong_to_the_teacher(run_store):
    run = Runner(run_store, dataset=SHORT_TEST).submit(hparams.make("dlwp", **TINY), owner="cli", probes=())
    snap = run.wait(timeout=600)
    record = run_store.get(snap.id)
    assert record.owner == "cli" and record.owner_name == "teacher"
    with pytest.raises(PermissionDenied, match="belongs to the teacher"):
        guarded.delete(run_store, snap.id, ADA)
    assert permissions.can_change(people.CLI, record) and permissions.can_change(TEACHER, record)
    guarded.delete(run_store, snap.id, TEACHER)
    with pytest.raises(LabError):
        run_store.get(snap.id)


def test_another_student_cannot_stop_a_run_but_its_owner_can(run_store):
    gate = GateExecutor()
    run = Runner(run_store, executor=gate).submit(hparams.make("dlwp", **LONG), owner=ADA, probes=())
    assert gate.holding.wait(60), "the run did not start training"
    with pytest.raises(PermissionDenied, match="belongs to Ada"):
        run.stop(BO)
    assert not run.snapshot().live.stop_requested
    run.stop(ADA)
    assert run.wait(timeout=120).status == "stopped"


def test_viewing_others_runs_follows_the_class_setting(ada_run, run_store, tmp_path):
    records = run_store.list()
    assert ada_run.id in [r.id for r in permissions.visible(BO, records, permissions.ClassSettings())]
    closed = permissions.ClassSettings(share_runs=False)
    assert ada_run.id not in [r.id for r in permissions.visible(BO, records, closed)]
    assert ada_run.id in [r.id for r in permissions.visible(ADA, records, closed)]
    assert ada_run.id in [r.id for r in permissions.visible(TEACHER, records, closed)]
    with pytest.raises(PermissionDenied, match="Only the teacher"):
        permissions.save_class_settings(BO, tmp_path, share_runs=False)
    permissions.save_class_settings(TEACHER, tmp_path, share_runs=False)
    assert permissions.class_settings(tmp_path) == closed


# --- names and the teacher key ------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, kept", [("  Ada  Lovelace ", "Ada Lovelace"), ("<b>Bo</b>", "<b>Bo</b>"),
                                         ("x" * 40, "x" * 40)])
def test_display_names_are_trimmed(typed, kept):
    assert people.display_name(typed) == kept


@pytest.mark.parametrize("typed, message", [("   ", "1 to 40"), ("x" * 41, "at most 40"),
                                            ("Ada\x00", "printable")])
def test_bad_display_names_are_refused(typed, message):
    with pytest.raises(ConfigError, match=message):
        people.display_name(typed)


def test_the_teacher_key_is_made_once_per_lab_home_and_unlocks_only_its_browser(tmp_path, monkeypatch):
    monkeypatch.delenv(people.TEACHER_KEY_ENV, raising=False)
    key = people.teacher_key(tmp_path)
    assert people.teacher_key(tmp_path) == key and len(key) >= 16
    assert (tmp_path / people.KEY_FILE).stat().st_mode & 0o077 == 0
    assert key in people.startup_line(tmp_path)
    with pytest.raises(PermissionDenied, match="not the teacher key"):
        people.unlock("guess", "browser-1", tmp_path)
    token = people.unlock(f" {key} ", "browser-1", tmp_path)
    assert key not in token
    assert people.actor("browser-1", "Ms T", token, tmp_path).is_teacher
    assert not people.actor("browser-2", "Bo", token, tmp_path).is_teacher  # a copied token is worth nothing
    assert not people.actor("browser-1", None, "", tmp_path).is_teacher
    assert people.actor("browser-1", None, None, tmp_path).name.startswith("guest ")
    monkeypatch.setenv(people.TEACHER_KEY_ENV, "class-key-2026")
    assert people.teacher_key(tmp_path) == "class-key-2026"
    assert "class-key-2026" not in people.startup_line(tmp_path)
    people.unlock("class-key-2026", "browser-1", tmp_path)


# --- the queue ----------------------------------------------------------------------------------------------
def test_the_queue_takes_turns_by_student_and_limits_each_one(run_store, monkeypatch):
    monkeypatch.setenv("SENTIMENT_LAB_MAX_QUEUED_PER_USER", "2")
    runner = Runner(run_store, max_concurrent=1, dataset=SHORT_TEST, executor=GateExecutor())
    holder = runner.submit(hparams.make("dlwp", **LONG), owner=TEACHER, probes=())
    _wait_for(lambda: holder.snapshot().status == "running", 60, "the first run to start")
    tiny = hparams.make("dlwp", **TINY)
    a1, a2 = runner.submit(tiny, owner=ADA, probes=()), runner.submit(tiny, owner=ADA, probes=())
    b1, b2 = runner.submit(tiny, owner=BO, probes=()), runner.submit(tiny, owner=BO, probes=())
    with pytest.raises(QueueFull, match=r"the most one student may have on this server \(2\)"):
        runner.submit(tiny, owner=ADA, probes=())
    assert [r.id for r in runner.queued()] == [a1.id, b1.id, a2.id, b2.id]  # not a1, a2, b1, b2
    assert [r.snapshot().live.queue_position for r in (a1, b1, a2, b2)] == [1, 2, 3, 4]
    info = runner.queue_info(a2, run_store.list(with_history=True))
    assert (info.position, info.ahead, info.students) == (3, 3, 3)  # a1, b1 and the teacher's training and info.wait_seconds > 0

    with pytest.raises(PermissionDenied, match="Only the teacher"):
        runner.move_to_front(b2.id, BO)
    runner.move_to_front(b2.id, TEACHER)
    assert [r.id for r in runner.queued()] == [b2.id, a1.id, b1.id, a2.id]
    with pytest.raises(PermissionDenied, match="belongs to Bo"):
        b1.stop(ADA)
    b1.stop(TEACHER)  # the teacher cancels any queued run
    assert b1.wait(timeout=5).status == "stopped"

    holder.stop(TEACHER)
    done = [r.wait(timeout=600) for r in (b2, a1, a2)]
    assert [s.status for s in done] == ["finished"] * 3
    assert done[0].started_at < done[1].started_at < done[2].started_at  # b2, then a1, then a2


def test_one_queued_run_per_student_by_default_and_the_teacher_is_exempt(run_store, monkeypatch):
    monkeypatch.delenv("SENTIMENT_LAB_MAX_QUEUED_PER_USER", raising=False)
    runner = Runner(run_store, max_concurrent=1, executor=GateExecutor())
    holder = runner.submit(hparams.make("dlwp", **LONG), owner=BO, probes=())
    tiny = hparams.make("dlwp", **TINY)
    waiting = runner.submit(tiny, owner=ADA, probes=())
    with pytest.raises(QueueFull, match="1 run waiting"):
        runner.submit(tiny, owner=ADA, probes=())
    extra = [runner.submit(tiny, owner=TEACHER, probes=()) for _ in range(2)]
    for run in [waiting, *extra]:
        run.stop(TEACHER)
    holder.stop(BO)
    assert holder.wait(timeout=300).status == "stopped"


# --- assignment links ---------------------------------------------------------------------------------------
@pytest.fixture()
def assignment(tmp_path):
    hp = hparams.make("dlwp", **TINY, units=16)
    return assignments.create(TEACHER, hp, {"epochs": (1, 2), "units": (4, 64), "optimizer": ["adam", "rmsprop"]},
                              "Units and epochs", tmp_path)


def test_only_the_teacher_makes_assignments_and_links_are_unguessable(assignment, tmp_path):
    with pytest.raises(PermissionDenied, match="Only the teacher"):
        assignments.create(ADA, hparams.make("dlwp"), {"epochs": (1, 2)}, "mine", tmp_path)
    assert assignment.link == f"/train?assignment={assignment.id}" and len(assignment.id) >= 16
    assert assignments.load(assignment.id, tmp_path) == assignment
    assert [a.id for a in assignments.all_assignments(tmp_path)] == [assignment.id]
    for bad in ("../classroom", "nope-nope-nope", ""):
        with pytest.raises(ConfigError, match="no assignment"):
            assignments.load(bad, tmp_path)


@pytest.mark.parametrize("ranges, message", [({"epochs": (5, 2)}, "empty"), ({"epochs": (0, 2)}, "out of range"),
                                             ({"ngrams": (1, 2)}, "not a setting of the dlwp"),
                                             ({"optimizer": ["adam", "lbfgs"]}, "not allowed")])
def test_bad_assignment_ranges_are_refused(ranges, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        assignments.create(TEACHER, hparams.make("dlwp"), ranges, "x", tmp_path)


@pytest.mark.parametrize("crafted, message", [
    (dict(epochs=3), r"epochs=3 is out of range: 1 to 2"),
    (dict(units=128), r"units=128 is out of range: 4 to 64"),
    (dict(optimizer="sgd"), r"optimizer='sgd' is not allowed: one of adam, rmsprop"),
    (dict(learning_rate=0.01), r"keeps learning_rate at 0.001; it lets you change only epochs, units, optimizer"),
    (dict(limit=5000), r"keeps limit at 200"),
])
def test_a_crafted_request_beyond_the_assignment_is_refused_before_anything_is_recorded(assignment, run_store,
                                                                                        crafted, message):
    hp = hparams.make("dlwp", **{**TINY, **crafted})
    before = len(run_store.list())
    with pytest.raises(PermissionDenied, match=message):
        Runner(run_store, dataset=SHORT_TEST).submit(hp, owner=BO, probes=(), assignment=assignment)
    with pytest.raises(PermissionDenied, match="trains the dlwp preset, not fast"):
        assignment.check(hparams.make("fast"))
    assert len(run_store.list()) == before


def test_an_assignment_keeps_its_data_set(assignment, amazon_dataset):
    """A crafted request for another data set is refused, although `dataset` is not one of the form's settings."""
    with pytest.raises(PermissionDenied, match="trains on the data set imdb, not amazon"):
        assignment.check(hparams.make("dlwp", dataset=amazon_dataset.name, epochs=1))


def test_a_run_within_the_assignment_records_it(assignment, run_store):
    hp = hparams.make("dlwp", **TINY, units=8, optimizer="adam")
    snap = Runner(run_store, dataset=SHORT_TEST).submit(hp, owner=BO, probes=(), assignment=assignment).wait(600)
    assert snap.status == "finished" and snap.assignment == assignment.id
    assert run_store.get(snap.id).assignment == assignment.id


def test_students_train_only_through_assignments_when_the_teacher_says_so(tmp_path):
    store = RunStore(tmp_path)
    permissions.save_class_settings(TEACHER, tmp_path, free_training=False)
    with pytest.raises(PermissionDenied, match="assignment links"):
        Runner(store).submit(hparams.make("dlwp", **TINY), owner=ADA, probes=())
    assert store.list() == []

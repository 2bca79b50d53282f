"""The classroom on the pages (AppTest): the name picker, the Teacher page, an assignment link's restricted Train
page, and the Runs page offering changes only to a run's owner and the teacher."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from streamlit.testing.v1 import AppTest  # noqa: E402

from core import hparams, registry  # noqa: E402
from core.classroom import assignments
from core.classroom.people import TEACHER_KEY_ENV, Actor  # noqa: E402
from core.runner import Runner  # noqa: E402
from core.store import RunStore  # noqa: E402
from gate import GateExecutor  # noqa: E402
from pagetest import ok, open_page  # noqa: E402

KEY = "class-key-for-tests"
TEACHER = Actor("teacher-browser", "Ms Teacher", is_teacher=True)


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lab = tmp_path / "lab"
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(lab))
    monkeypatch.setenv(TEACHER_KEY_ENV, KEY)
    return lab


def texts(at: AppTest) -> str:
    kinds = ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def gated_queue(home: Path) -> Runner:
    """The server's training queue for `home` (the one the pages share, made here before any page makes it), whose
    first run holds the trainer until it is stopped without training (gate.py)."""
    from pages import ui

    return registry.shared(("training queue", str(home)),
                           lambda: Runner(ui._store(str(home)), max_concurrent=1, executor=GateExecutor()))


def as_teacher(at: AppTest) -> AppTest:
    """Unlock teacher actions in this session on the Teacher page, then come back to the page it was on."""
    ok(at.switch_page("pages/teacher.py").run())
    at.text_input(key="teacher_key_input").input(KEY)
    ok(at.button[0].click().run())
    assert "Class settings" in [s.value for s in at.subheader], texts(at)
    return at


def test_a_visitor_picks_a_name_and_their_run_records_it(home):
    queue = gated_queue(home)  # the run is recorded as it is queued; it need not train
    at = open_page("pages/train.py", preset="dlwp", limit="200", val_size="100", epochs="1")
    assert "until you pick a name" in " ".join(c.value for c in at.sidebar.caption)
    ok(at.sidebar.text_input(key="ui_name").input("   ").run())
    assert "1 to 40 characters" in at.sidebar.error[0].value
    ok(at.sidebar.text_input(key="ui_name").input("  Ada   <b>L</b> ").run())
    assert not at.sidebar.error
    assert "You are **Ada   \\<b\\>L\\</b\\>**" not in texts(at.sidebar)  # one space, and escaped
    assert "Ada \\<b\\>L\\</b\\>" in " ".join(c.value for c in at.sidebar.caption)
    ok([b for b in at.button if b.label == "▶ Start training"][0].click().run())
    run = queue.get(at.session_state["train_run_id"])
    record = RunStore(home).get(run.id)
    assert (record.owner_name, record.owner) == ("Ada <b>L</b>", at.session_state["owner"])
    run.stop(TEACHER)
    assert run.wait(timeout=60).status == "stopped"


def test_the_teacher_page_needs_the_key_and_then_changes_the_class_settings(home):
    at = open_page("pages/teacher.py")
    assert not at.subheader and not at.toggle
    at.text_input(key="teacher_key_input").input("a guess")
    ok(at.button[0].click().run())
    assert "not the teacher key" in at.error[0].value and not at.toggle
    assert at.text_input(key="teacher_key_input").value == "", "a wrong key leaves the field too"
    at.text_input(key="teacher_key_input").input(KEY)
    ok(at.button[0].click().run())
    # At once: a confirmation, the key out of sight, no Unlock button, and the sidebar says so.
    assert "Unlocked: this browser now has the teacher's rights" in at.success[0].value
    assert not [t for t in at.text_input if t.key == "teacher_key_input"]
    assert [b.label for b in at.button if "Unlock" in b.label] == []
    assert "· teacher" in " ".join(c.value for c in at.sidebar.caption)
    assert [s.value for s in at.subheader] == ["Class settings", "The training queue", "Assignment links"]
    assert "Nobody is waiting" in texts(at)
    ok(at.toggle(key="teacher_share_runs").set_value(False).run())
    assert json.loads((home / "classroom.json").read_text())["share_runs"] is False
    assert "teacher" in " ".join(c.value for c in at.sidebar.caption)
    student = open_page("pages/teacher.py")  # another browser: no teacher token
    assert not student.toggle


def test_an_assignment_link_shows_only_its_settings_within_its_ranges(home):
    made = assignments.create(TEACHER, hparams.make("dlwp", limit=200, val_size=100),
                              {"epochs": (1, 3), "units": (4, 64)}, "How many units?")
    at = open_page("pages/train.py", assignment=made.id, epochs="50", learning_rate="0.5")
    shown = {w.key: w for w in at.number_input}
    assert set(shown) == {"hp_epochs", "hp_units"}, list(shown)
    assert not [s for s in at.selectbox if s.key == "train_preset"], "the preset is the teacher's"
    assert "Epochs (1 to 3)" in shown["hp_epochs"].label and "(4 to 64)" in shown["hp_units"].label
    assert shown["hp_epochs"].value == 3  # the link's 50 gives way to the teacher's 4, moved into the range
    assert "Assignment: How many units?" in texts(at)
    assert any("epochs=50 is out of range: 1 to 3" in w.value for w in at.warning), texts(at)
    assert at.query_params["assignment"] == made.id and "learning_rate" not in at.query_params
    assert not any(e.label.startswith("🎓") for e in at.expander), "students get no assignment maker"


def test_a_typed_value_outside_an_assignment_range_stops_start_and_says_why(home):
    made = assignments.create(TEACHER, hparams.make("dlwp", limit=200, val_size=100),
                              {"epochs": (1, 3)}, "Few epochs")
    at = open_page("pages/train.py", assignment=made.id)
    start = lambda: next(b for b in at.button if b.label == "▶ Start training")  # noqa: E731
    assert not start().disabled
    ok(at.number_input(key="hp_epochs").set_value(9).run())  # the box keeps what was typed, applied
    assert at.number_input(key="hp_epochs").value == 9
    assert any("epochs=9 is out of range: 1 to 3" in e.value for e in at.error), texts(at)
    assert start().disabled, "Start never trains with the previous value"
    ok(at.number_input(key="hp_epochs").set_value(2).run())
    assert not at.error and not start().disabled


def test_the_teacher_makes_an_assignment_link_on_the_train_page(home):
    at = as_teacher(open_page("pages/home.py"))
    ok(at.switch_page("pages/train.py").run())
    ok(at.multiselect(key="assign_allowed").set_value(["epochs"]).run())
    at.number_input(key="assign_epochs_high").set_value(10)
    at.text_input(key="assign_title").input("Epochs only")
    ok(at.button(key="assign_make").click().run())
    (made,) = assignments.all_assignments(home)
    assert (made.title, made.allowed, made.preset) == ("Epochs only", {"epochs": [4, 10]}, "dlwp")
    assert any(made.link in c.value for c in at.code)


def _stopped_run(home: Path, owner: str, name: str) -> int:
    store = RunStore(home)
    run_id = store.create("dlwp", hparams.make("dlwp").to_dict(), owner, owner_name=name)
    store.claim_folder(run_id)
    store.finish(run_id, "stopped", error="Cancelled before it started.")
    return run_id


def test_the_runs_page_offers_changes_only_to_the_owner_and_the_teacher(home):
    run_id = _stopped_run(home, "token-of-ada", "Ada")
    student = open_page("pages/runs.py", run=str(run_id))
    assert "Ada" in [row for row in student.dataframe[0].value["Student"]]
    assert not [b for b in student.button if b.key == f"runs_del_{run_id}"]
    assert not [t for t in student.text_input if t.key == f"runs_name_{run_id}"]
    assert "belongs to Ada: only its owner or the teacher" in texts(student)

    teacher = as_teacher(open_page("pages/home.py"))
    ok(teacher.switch_page("pages/runs.py").run())
    teacher.text_input(key=f"runs_name_{run_id}").input("renamed by the teacher")
    ok(teacher.button(key=f"FormSubmitter:runs_text_{run_id}-💾 Save name and note").click().run())
    assert RunStore(home).get(run_id).name == "renamed by the teacher"
    ok(teacher.button(key=f"runs_del_{run_id}").click().run())
    ok(teacher.button(key=f"runs_del_yes_{run_id}").click().run())
    assert RunStore(home).list() == []


def test_the_teacher_moves_a_queued_run_to_the_front_and_cancels_another(home):
    runner = gated_queue(home)
    holder = runner.submit(hparams.make("dlwp", limit=4000, val_size=500, epochs=60, batch_size=16),
                           owner=TEACHER, probes=())
    tiny = hparams.make("dlwp", limit=200, val_size=100, epochs=1)
    ada = runner.submit(tiny, owner=Actor("token-ada", "Ada"), probes=())
    bo = runner.submit(tiny, owner=Actor("token-bo", "Bo <i>"), probes=())
    try:
        at = as_teacher(open_page("pages/home.py"))
        lines = [m.value for m in at.markdown if m.value.startswith(("1.", "2."))]
        assert lines == [f"1. **#{ada.id}** dlwp · Ada", f"2. **#{bo.id}** dlwp · Bo \\<i\\>"], texts(at)
        ok(at.button(key=f"teacher_front_{bo.id}").click().run())
        assert [r.id for r in runner.queued()] == [bo.id, ada.id]
        assert [m.value for m in at.success] == [f"Moved run #{bo.id} to the front of the queue: it starts next."]
        ok(at.button(key=f"teacher_cancel_{ada.id}").click().run())
        assert ada.wait(timeout=5).status == "stopped" and [r.id for r in runner.queued()] == [bo.id]
        assert [m.value for m in at.success] == [f"Cancelled run #{ada.id}: it has left the queue."]
    finally:
        for run in (bo, ada, holder):
            run.stop(TEACHER)
        holder.wait(timeout=300)


def test_a_student_cancels_each_of_their_queued_runs_on_the_runs_page(home, monkeypatch):
    monkeypatch.setenv("SENTIMENT_LAB_MAX_QUEUED_PER_USER", "3")
    runner = gated_queue(home)
    holder = runner.submit(hparams.make("dlwp", limit=4000, val_size=500, epochs=60, batch_size=16),
                           owner=TEACHER, probes=())
    tiny = hparams.make("dlwp", limit=200, val_size=100, epochs=1)
    ada = Actor("token-ada-0000000000", "Ada")
    first, second = (runner.submit(tiny, owner=ada, probes=()) for _ in range(2))
    try:
        at = open_page("pages/runs.py", session={"owner": ada.token}, run=str(first.id))  # the older one
        cancel = at.button(key=f"runs_stop_{first.id}")
        assert cancel.label == "✕ Cancel this run"
        ok(cancel.click().run())
        assert first.wait(timeout=5).status == "stopped"
        assert f"Cancelled run #{first.id}" in texts(at)
        assert [r.id for r in runner.queued()] == [second.id]
        other = open_page("pages/runs.py", session={"owner": "token-bo-00000000000"}, run=str(second.id))
        assert not [b for b in other.button if b.key == f"runs_stop_{second.id}"], "not for another student"
    finally:
        for run in (second, first, holder):
            run.stop(TEACHER)
        holder.wait(timeout=300)


def test_with_free_training_off_a_student_sees_why_before_pressing_start(home):
    from core.classroom import permissions

    home.mkdir(parents=True)
    permissions.save_class_settings(TEACHER, home, free_training=False)
    at = open_page("pages/train.py", preset="dlwp", limit="200", val_size="100", epochs="1")
    start = next(b for b in at.button if b.label == "▶ Start training")
    assert start.disabled and any("start from the teacher's assignment links" in i.value for i in at.info)
    made = assignments.create(TEACHER, hparams.make("dlwp", limit=200, val_size=100), {"epochs": (1, 3)}, "Link")
    linked = open_page("pages/train.py", assignment=made.id)
    assert not next(b for b in linked.button if b.label == "▶ Start training").disabled

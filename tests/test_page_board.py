"""The Class board page in Streamlit's AppTest over runs recorded in a real run store: the lesson's table and
leaderboard, the teacher's tools (only once the teacher key is typed on the Teacher page), hiding and clearing (runs
kept), the assignment and data set columns, sharing turned off, and the projector view."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from streamlit.testing.v1 import AppTest  # noqa: E402

from conftest import DATA_DIR  # noqa: E402
from pagetest import ok  # noqa: E402

from core import hparams  # noqa: E402
from core.classroom import assignments, permissions
from core.data import datasets
from core.classroom.people import CLI, TEACHER_KEY_ENV  # noqa: E402
from core.store import RunStore  # noqa: E402

TEACHER_KEYS = ("board_hide", "board_clear")
KEY = "board-key-for-tests"


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lab home of three finished runs: two tried the same dropout, one the preset as it is."""
    home = tmp_path / "lab"
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(home))
    monkeypatch.setenv(TEACHER_KEY_ENV, KEY)
    store = RunStore(home)
    task = assignments.create(CLI, hparams.make("dlwp"), {"dropout": [0.2, 0.5]}, "*Dropout* hunt", home=home)
    for test, overrides, name in ((0.81, {"dropout": 0.2}, "=cmd|' /C calc'!A0"), (0.86, {"dropout": 0.2, "seed": 3}, ""),
                                  (0.84, {}, "plain")):
        run_id = store.create("dlwp", hparams.make("dlwp", **overrides).to_dict(), owner="student-token-1234",
                              owner_name="Ada", assignment=task.id if overrides else None)
        store.add_epoch(run_id, {"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.4, "val_accuracy": test - 0.01})
        store.mark_running(run_id)
        store.finish(run_id, "finished", train_seconds=3.0, test_accuracy=test)
        if name:
            store.update_text(run_id, name=name)
    return home


def open_board(teacher: bool = False, **query: str) -> AppTest:
    """The board in a fresh browser session; as the teacher: after typing the key on the Teacher page."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    for name, value in query.items():
        at.query_params[name] = value
    at.session_state["is_teacher"] = True  # what the board once trusted: it must not unlock anything now
    if teacher:
        ok(at.switch_page("pages/teacher.py").run())
        at.text_input(key="teacher_key_input").input(KEY)
        ok(at.button[0].click().run())
        assert "Class settings" in [s.value for s in at.subheader]
    return ok(at.switch_page("pages/board.py").run())


def _button_keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button}


def test_students_see_the_leaderboard_without_teacher_tools(home):
    at = open_board()
    table = at.dataframe[0].value
    assert list(table["Run"]) == [2, 3, 1]  # the leaderboard is the first order shown
    assert list(table["Rank"]) == [1, 2, 3]
    assert list(table["Changed settings"]) == ["dropout=0.2, seed=3", "preset as it is", "dropout=0.2"]
    assert list(table["Tried by"]) == ["2 runs · best", "1 run", "2 runs"]
    assert set(table["Student"]) == {"Ada"}
    assert list(table["Assignment"].fillna("–")) == ["*Dropout* hunt", "–", "*Dropout* hunt"]  # shown as text
    assert "Data set" not in table.columns  # every run is on IMDB
    assert any("dlwp: dropout=0.2**: 2 runs, best test accuracy 86.0%" in m.value for m in at.markdown)
    assert not _button_keys(at) & set(TEACHER_KEYS)
    assert not at.get("download_button")


def test_a_data_set_column_once_a_run_is_on_another_data_set(home):
    datasets.add(DATA_DIR / "text" / "amazon_cells_labelled.txt", "amazon")
    store = RunStore(home)
    run_id = store.create("dlwp", hparams.make("dlwp", dataset="amazon").to_dict(), owner="student-token-1234")
    table = open_board().dataframe[0].value.set_index("Run")
    assert table.loc[run_id, "Data set"] == "amazon" and table.loc[1, "Data set"] == "imdb"
    assert table.loc[run_id, "Changed settings"] == "preset as it is"  # its preset fitted to amazon's size


def test_sharing_turned_off_leaves_a_student_only_their_own_runs(home):
    permissions.save_class_settings(CLI, home, share_runs=False)
    assert not open_board().dataframe  # the three runs belong to another browser
    assert len(open_board(teacher=True).dataframe[0].value) == 3


def test_the_teacher_hides_runs_and_clears_the_board_keeping_every_run(home):
    at = open_board(teacher=True)
    assert set(TEACHER_KEYS) <= _button_keys(at) and at.get("download_button")
    at.multiselect(key="board_pick").set_value([1]).run()
    ok(at.button(key="board_hide").click().run())
    assert list(at.dataframe[0].value["Run"]) == [2, 3]
    assert "Hid #1" in at.success[0].value
    ok(at.button(key="board_clear").click().run())
    ok(at.button(key="board_clear_yes").click().run())
    assert not at.dataframe and "No runs in this lesson yet" in at.info[0].value
    assert len(RunStore(home).list()) == 3  # archived, not deleted


def test_the_projector_board_says_what_guessing_and_the_classical_baseline_score(home):
    """Under the projector's table: the majority class and TF-IDF + logistic regression on the same test texts (one
    figure when the runs share it, else the range); nothing for runs recorded before baselines."""
    from core.baseline import Baseline

    assert not any("TF-IDF" in m.value for m in open_board(view="present").markdown), "no run has the figures"
    store = RunStore(home)
    for test, tfidf in ((0.87, 0.884), (0.85, 0.886)):
        run_id = store.create("dlwp", hparams.make("dlwp").to_dict(), owner="student-token-1234", owner_name="Bo")
        store.mark_running(run_id)
        store.finish(run_id, "finished", train_seconds=3.0, test_accuracy=test,
                     baseline=Baseline(0.5, 0, tfidf, 15_000, 25_000, 100_000, 10.0, 4.0))
    said = " ".join(m.value for m in open_board(view="present").markdown)
    assert "always answering the most common class scores 50.0%, TF-IDF + logistic regression 88.4% to 88.6%" in said


def test_projector_view_from_the_address(home):
    at = open_board(view="present")
    assert at.toggle(key="present_toggle").value is True
    assert any("font-size: 26px" in h.proto.body for h in at.get("html"))
    assert not at.dataframe and not _button_keys(at) & set(TEACHER_KEYS)
    board = next(h.proto.body for h in at.get("html") if "lab-board" in h.proto.body)  # rank, student, accuracy, status
    assert all(f"<th{c}" in board for c in (" class='num'>Rank", ">Student", " class='num'>Test accuracy", ">Status"))
    assert not at.radio, "the rows get the screen, not the order control"
    ok(at.toggle(key="present_toggle").set_value(False).run())
    assert at.dataframe
    assert "view" not in at.query_params
    assert not any("font-size: 26px" in h.proto.body for h in at.get("html"))

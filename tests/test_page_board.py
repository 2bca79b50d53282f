"""The Class board page in Streamlit's AppTest over runs recorded in a real run store: the lesson's table and
leaderboard, the teacher's tools (only for the teacher), hiding and clearing (runs kept), and the projector view."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from streamlit.testing.v1 import AppTest  # noqa: E402

from pagetest import ok, open_page  # noqa: E402

from core import hparams  # noqa: E402
from core.store import RunStore  # noqa: E402

TEACHER_KEYS = ("board_hide", "board_clear")


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lab home of three finished runs: two tried the same dropout, one the preset as it is."""
    home = tmp_path / "lab"
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(home))
    store = RunStore(home)
    for test, overrides, name in ((0.81, {"dropout": 0.2}, "=cmd|' /C calc'!A0"), (0.86, {"dropout": 0.2, "seed": 3}, ""),
                                  (0.84, {}, "plain")):
        run_id = store.create("dlwp", hparams.make("dlwp", **overrides).to_dict(), owner="student-token-1234")
        store.add_epoch(run_id, {"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.4, "val_accuracy": test - 0.01})
        store.mark_running(run_id)
        store.finish(run_id, "finished", train_seconds=3.0, test_accuracy=test)
        if name:
            store.update_text(run_id, name=name)
    return home


def open_board(teacher: bool = False, **query: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    for name, value in query.items():
        at.query_params[name] = value
    if teacher:
        at.session_state["is_teacher"] = True
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
    assert set(table["Student"]) == {"guest studen"}
    assert any("dlwp: dropout=0.2**: 2 runs, best test accuracy 86.0%" in m.value for m in at.markdown)
    assert not _button_keys(at) & set(TEACHER_KEYS)
    assert not at.get("download_button")


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


def test_projector_view_from_the_address(home):
    at = open_board(view="present")
    assert at.toggle(key="present_toggle").value is True
    assert any("font-size: 26px" in h.proto.body for h in at.get("html"))
    assert at.dataframe and not _button_keys(at) & set(TEACHER_KEYS)
    ok(at.toggle(key="present_toggle").set_value(False).run())
    assert "view" not in at.query_params
    assert not any("font-size: 26px" in h.proto.body for h in at.get("html"))

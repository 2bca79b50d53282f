"""The Train, Runs and Pretrained pages over one tiny finished run of every preset (the session's
`every_preset_home`; Predict's own test of every preset uses the same runs): each page draws each run's results,
curves and details without an exception."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import PAGE_OWNER
from core import hparams
from pagetest import REPO, ok, open_page, specs

PRESETS = list(hparams.PRESETS)


@pytest.fixture()
def home(every_preset_home: tuple[Path, dict[str, int]], monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The every-preset lab home as this test's SENTIMENT_LAB_HOME (these tests only read it); each preset's run id."""
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(every_preset_home[0]))
    return every_preset_home[1]


def texts(at: AppTest) -> str:
    kinds = ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


@pytest.mark.parametrize("preset", PRESETS)
def test_train_shows_the_results_of_a_finished_run_of_every_preset(preset: str, home: dict[str, int]) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.session_state["owner"] = PAGE_OWNER  # the browser that started these runs
    at.session_state["train_run_id"] = home[preset]
    ok(at.switch_page("pages/train.py").run())
    page = texts(at)
    assert f"Run #{home[preset]} · {preset} · finished" in page
    assert not at.error, [e.value for e in at.error]
    accuracy = next(m for m in at.metric if m.label == "Test accuracy").value
    assert accuracy.endswith("%") and 0 <= float(accuracy.rstrip("%")) <= 100
    drawn = specs(at)
    names = {t.get("name") for spec in drawn for t in spec["data"]}
    assert {f"#{home[preset]} {preset} · train", f"#{home[preset]} {preset} · validation"} <= names
    heatmaps = [t for spec in drawn for t in spec["data"] if t.get("type") == "heatmap"]
    assert len(heatmaps) == 1 and sum(sum(row) for row in heatmaps[0]["z"]) == 25_000
    assert "Where it goes wrong" in page
    assert len([e for e in at.expander if e.label.startswith("Test review ")]) == 8


@pytest.mark.parametrize("preset", PRESETS)
def test_runs_shows_the_details_of_a_run_of_every_preset(preset: str, home: dict[str, int]) -> None:
    at = open_page("pages/runs.py", run=str(home[preset]))
    assert at.multiselect(key="runs_pick").value[0] == home[preset]
    # a tiny run may fall short of the baseline, which the page says (⚖️); nothing else warns
    assert not at.error and not [w for w in at.warning if w.icon != "⚖️"], texts(at)
    assert f"Run #{home[preset]} · preset **{preset}**" in texts(at)
    assert any(m.label == "Test accuracy" and m.value.endswith("%") for m in at.metric)


def test_runs_compares_a_run_of_every_preset(home: dict[str, int]) -> None:
    at = open_page("pages/runs.py")
    ok(at.multiselect(key="runs_pick").set_value(list(home.values())).run())
    at.session_state["runs_curves_open"] = True  # the curves are drawn while their expander is open
    (curves,) = specs(ok(at.run()))
    assert {t["name"].split(" · ")[0] for t in curves["data"]} == {f"#{i} {p}" for p, i in home.items()}
    assert len(at.tabs) == len(home), "one details tab per picked run"
    assert len(at.get("download_button")) == 3 * len(home), "each run's model, its raw-text model and history"
    assert not at.error


def test_pretrained_offers_only_the_run_that_starts_from_vectors(home: dict[str, int]) -> None:
    at = open_page("pages/pretrained.py")
    box = at.selectbox(key="neighbours_run")
    assert box.options and box.value == home["transfer"]
    assert len(box.options) == 2, "none, and the transfer run: no other preset has word vectors to compare"
    assert len(at.dataframe) == 2 and not at.error

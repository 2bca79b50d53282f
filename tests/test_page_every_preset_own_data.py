"""Every page with a model of every preset trained on a teacher's own small data sets: 600 airline tweets (three
classes) and the UCI amazon sentences (two classes named "0" and "1"). On such sets the presets are fitted
(`hparams.for_dataset`: max-pooled mslearn, an LSTM that skips the padding, single-word fast, mean-and-max
transfer), models that IMDB's page tests never build, so each page is opened with each of them here."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import DATA_DIR, PAGE_OWNER
from core import hparams
from core.data import datasets
from pagetest import ok, open_page, specs, texts

PRESETS = list(hparams.PRESETS)
SETS = {"tweets600": ("negative", "neutral", "positive"), "amazon": ("0", "1")}
SAMPLES = {"tweets600": "@united the flight was late and the crew were rude", "amazon": "great phone, the battery lasts"}
SEARCH = {"tweets600": "flight", "amazon": "phone"}  # a frequent word of each set


@pytest.fixture(scope="module")
def own_home(tmp_path_factory: pytest.TempPathFactory):
    """A function: the lab home, with `name` imported and one run of every preset on it (one epoch) trained by the
    pages' own runner under PAGE_OWNER (once per set and module), and each (set, preset)'s run id so far."""
    home = tmp_path_factory.mktemp("own-data")
    ids: dict[tuple[str, str], int] = {}

    def trained(name: str) -> tuple[Path, dict[tuple[str, str], int]]:
        if (name, PRESETS[0]) in ids:
            return home, ids
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SENTIMENT_LAB_HOME", str(home))
            datasets.add(_source(name, home.parent), name)
            open_page("pages/home.py")  # imports pages.ui the way the server does, inside a script run
            from pages import ui

            for preset in PRESETS:
                run = ui.runner().submit(hparams.make(preset, dataset=name, epochs=1), owner=PAGE_OWNER)
                snap = run.wait(timeout=600)
                assert snap.status == "finished", (name, preset, snap.error)
                ids[name, preset] = snap.id
        return home, ids

    return trained


def _source(name: str, folder: Path) -> Path:
    if name == "amazon":
        return DATA_DIR / "text" / "amazon_cells_labelled.txt"
    rows = list(csv.reader((DATA_DIR / "text" / "Tweets.csv").open(encoding="utf-8", newline="")))
    tweets = folder / "tweets600.csv"
    with tweets.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows[:601])
    return tweets


@pytest.fixture(params=[pytest.param("tweets600"), pytest.param("amazon", marks=pytest.mark.slow)])
def name(request: pytest.FixtureRequest) -> str:
    """The quick tier has the three-class set; the full run adds the two-class one."""
    return request.param


@pytest.fixture()
def ids(own_home, name: str, monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], int]:
    home, ids = own_home(name)
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(home))
    return ids


@pytest.mark.parametrize("preset", PRESETS)
def test_every_page_with_a_model_of_every_preset_on_own_data(name: str, preset: str, ids) -> None:
    run_id, labels = ids[name, preset], SETS[name]

    train = open_page("pages/train.py", session={"owner": PAGE_OWNER, "train_run_id": run_id})
    assert f"Run #{run_id} · {preset} · finished" in texts(train) and not train.error, texts(train)
    assert any(m.label == "Test accuracy" for m in train.metric)
    (matrix,) = [t for spec in specs(train) for t in spec["data"] if t.get("type") == "heatmap"]
    assert matrix["x"] == [f"predicted {label}" for label in labels]
    assert "TF-IDF + logistic regression" in texts(train)

    predict = open_page("pages/predict.py", dataset=name, run=str(run_id))
    assert predict.selectbox(key="predict_run").value == run_id
    predict.text_area(key="predict_text").input(SAMPLES[name])
    ok(next(b for b in predict.button if b.label == "Score review").click().run())
    page = "\n".join(h.value for h in predict.html)
    assert not predict.error and any(label in page for label in labels), page

    runs = open_page("pages/runs.py", run=str(run_id))
    assert runs.multiselect(key="runs_pick").value[0] == run_id and not runs.error
    assert f"Run #{run_id} · preset **{preset}**" in texts(runs)

    word_map = open_page("pages/word_map.py")
    word_map.selectbox(key="map_run").set_value(run_id).run()
    ok(word_map.text_input(key="map_search").input(SEARCH[name]).run())
    (spec,) = specs(word_map)
    assert any(SEARCH[name] in t["text"] for t in spec["data"])
    assert not word_map.error


@pytest.mark.parametrize("preset", ["transfer", "lstm"])
def test_pretrained_neighbours_of_a_glove_run_use_its_own_words(name: str, ids, preset: str) -> None:
    """The after-training neighbours of a run that started from GloVe (transfer, and a small set's lstm) are read
    with the run's own vocabulary (not IMDB's ids)."""
    at = open_page("pages/pretrained.py")
    ok(at.selectbox(key="neighbours_run").set_value(ids[name, preset]).run())
    ok(at.text_input(key="neighbours_word").input(SEARCH[name]).run())
    assert not at.error and not at.warning, texts(at)
    glove, trained = (d.value for d in at.dataframe)
    vocabulary = datasets.load(name).vocabulary.word_to_rank
    assert set(trained["word"]) <= set(vocabulary) and set(glove["word"]) <= set(vocabulary)
    assert f"most frequent words of {name}" in texts(at)


def test_runs_compares_every_preset_of_a_set(name: str, ids) -> None:
    at = open_page("pages/runs.py", dataset=name)
    ok(at.multiselect(key="runs_pick").set_value([ids[name, preset] for preset in PRESETS]).run())
    at.session_state["runs_curves_open"] = True  # the curves are drawn while their expander is open
    (curves,) = specs(ok(at.run()))
    assert {t["name"].split(" · ")[0] for t in curves["data"]} == {f"#{ids[name, p]} {p}" for p in PRESETS}
    assert len(at.tabs) == len(PRESETS) and not at.error

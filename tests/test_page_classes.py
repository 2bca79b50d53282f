"""Pages on an imported data set of three classes: Train's ranges from the data set and a tiny run started from the
page with its N x N confusion matrix, per-class table, named mistakes and per-class probe chart; Predict's class
probabilities and verdict; Runs' data-set filter.

The data set is the first rows of the airline tweets (three classes, emoji, quoted newlines), built in tmp_path.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import DATA_DIR
from core.data import datasets
from pagetest import ok, open_page, specs, texts, train_from_page

TWEETS = DATA_DIR / "text" / "Tweets.csv"
NAME = "tweets3"
TRAIN_TIMEOUT = 240
LABELS = ("negative", "neutral", "positive")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lab home with the first 600 tweets imported (480 to train on, 120 to test), shared by this module's tests."""
    import csv

    home = tmp_path_factory.mktemp("classes-lab")
    rows = list(csv.reader(TWEETS.open(encoding="utf-8", newline="")))
    small = tmp_path_factory.mktemp("classes-data") / "tweets-small.csv"
    with small.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows[:601])
    mp = pytest.MonkeyPatch()
    mp.setenv("SENTIMENT_LAB_HOME", str(home))
    info = datasets.add(small, NAME).info
    assert info.labels == LABELS
    yield home
    mp.undo()


@pytest.fixture
def home(lab: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(lab))
    return lab


def test_train_ranges_come_from_the_chosen_data_set(home: Path) -> None:
    at = open_page("pages/train.py", dataset=NAME)
    assert at.selectbox(key="train_dataset").value == NAME
    info = datasets.info(NAME)
    assert at.number_input(key="hp_num_words").label.endswith(f" to {info.max_id + 1:,})")
    assert at.number_input(key="hp_val_size").label.endswith(f" to {info.train_size - 100:,})")
    assert at.number_input(key="hp_val_size").value < info.train_size - 100, "the preset's share, fitted"
    assert at.query_params["dataset"] == NAME and at.query_params["preset"] == "dlwp"
    assert "None yet: type one below" in texts(at), "no movie sentences pinned on tweets"

    ok(at.selectbox(key="train_dataset").set_value("imdb").run())
    assert at.number_input(key="hp_val_size").value == 10_000, "IMDB's preset as it is"
    assert "dataset" not in at.query_params


def test_train_a_three_class_run_and_see_every_class(home: Path) -> None:
    at = open_page("pages/train.py", dataset=NAME, epochs="1", val_size="100")
    at.text_input[0].input("the flight was late and the crew rude")
    ok(at.button(key="FormSubmitter:pin_form-📌 Pin").click().run())
    train_from_page(at, TRAIN_TIMEOUT)
    assert "· finished" in texts(at), texts(at)

    heatmaps = [t for spec in specs(at) for t in spec["data"] if t.get("type") == "heatmap"]
    assert len(heatmaps) == 1
    matrix = heatmaps[0]
    assert len(matrix["z"]) == 3 and all(len(row) == 3 for row in matrix["z"])
    assert matrix["x"] == [f"predicted {label}" for label in LABELS]
    assert sum(map(sum, matrix["z"])) == datasets.info(NAME).test_size

    table = next(d.value for d in at.dataframe if "precision" in d.value.columns)
    assert table["class"].tolist() == list(LABELS)
    assert table["test reviews"].sum() == datasets.info(NAME).test_size

    mistakes = [e.label for e in at.expander if e.label.startswith("Test review ")]
    assert mistakes and all(" actually " in m and " predicted " in m for m in mistakes)

    probe_panels = [spec for spec in specs(at) if "each class" in json.dumps(spec.get("layout", {}).get("title", ""))]
    assert probe_panels, "the pinned review's chart shows each class"
    assert {t["name"] for t in probe_panels[0]["data"]} == set(LABELS)

    # Predict: the run of this data set, every class's probability, the verdict naming a class
    predict = open_page("pages/predict.py", dataset=NAME)
    assert predict.selectbox(key="predict_dataset").value == NAME
    assert not [b for b in predict.button if b.key and b.key.startswith("example_")], "movie examples are IMDB's"
    predict.text_area(key="predict_text").input("the flight was late and the crew rude")
    ok(next(b for b in predict.button if b.label == "Score review").click().run())
    page = "\n".join(h.value for h in predict.html)
    assert "Probability of each class" in page
    assert all(label in page for label in LABELS)
    assert "ahead of the next class" in page
    assert "pushes towards" in page and "pushes away from" in page

    # Runs: the data set is a filter and a column
    runs = open_page("pages/runs.py", dataset=NAME)
    table = runs.dataframe[0].value
    assert table["Data set"].tolist() == [NAME]
    ok(runs.selectbox(key="runs_dataset").set_value("imdb").run())
    said = " ".join(i.value for i in runs.info)
    assert "No run has been trained on imdb yet. There is a run on another data set: " in said, said
    ok(runs.button(key=f"runs_switch_{NAME}").click().run())
    assert runs.selectbox(key="runs_dataset").value == NAME and runs.dataframe[0].value["Data set"].tolist() == [NAME]

    # Predict opened afresh holds IMDB, which has no model here: it names where the models are and switches there
    fresh = open_page("pages/predict.py")
    assert fresh.selectbox(key="predict_dataset").value == "imdb"
    said = " ".join(i.value for i in fresh.info)
    assert "No model has been trained on imdb yet. There is a model on another data set: " in said, said
    assert f"{NAME} (1 model)" in said, said
    assert "There is no trained model yet" not in said
    ok(fresh.button(key=f"predict_switch_{NAME}").click().run())
    assert fresh.selectbox(key="predict_dataset").value == NAME
    assert fresh.selectbox(key="predict_run").value is not None and fresh.query_params["dataset"] == NAME

    # Word map: each word in the colour of the class it pushes towards, with a legend of the classes
    word_map = ok(open_page("pages/word_map.py").slider(key="map_words").set_value(300).run())
    (spec,) = specs(word_map)
    assert spec["layout"]["showlegend"] and len(spec["data"]) >= 2
    assert {t["name"] for t in spec["data"]} <= {f"towards {label}" for label in LABELS}
    assert sum(len(t["text"]) for t in spec["data"]) == 300


@pytest.mark.parametrize("page, key", [("pages/train.py", "train_dataset"), ("pages/predict.py", "predict_dataset"),
                                       ("pages/runs.py", "runs_dataset"), ("pages/explore.py", "explore_dataset")])
def test_an_unknown_data_set_in_the_link_warns_and_shows_imdb(home: Path, page: str, key: str) -> None:
    from core.store import RunStore

    store = RunStore(home)
    if not store.list():  # Runs draws its filters once a run exists (an IMDB one here: the other tests filter)
        store.create("dlwp", {"preset": "dlwp"})
    at = open_page(page, dataset="no-such-set")
    assert any("'no-such-set'" in w.value and "showing imdb instead" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    assert at.selectbox(key=key).value == "imdb"
    assert at.selectbox(key=key).options[:2] == ["imdb", NAME]
    assert "dataset" not in at.query_params

"""The Word map page (AppTest) over a real tiny run of every preset: the projection of the most frequent words,
coloured by effect, search, neighbours and the statement of what a projection can and cannot show."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from conftest import TINY  # noqa: E402
from pagetest import copy_home, ok, open_page, preset_home  # noqa: E402

from core import word_map  # noqa: E402
from pages import charts  # noqa: E402
from core.errors import ConfigError  # noqa: E402
from core.store import RunStore  # noqa: E402


@pytest.fixture(scope="module")
def template_home(tmp_path_factory: pytest.TempPathFactory, every_preset_home) -> Path:
    return preset_home(tmp_path_factory.mktemp("word-map-template"), TINY, every_preset_home)


@pytest.fixture()
def home(template_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_home(template_home, tmp_path, monkeypatch)


@pytest.mark.parametrize("preset", list(TINY))
def test_every_preset_maps_its_words(home: Path, preset: str) -> None:
    run = next(r for r in RunStore(home).list() if r.preset == preset)
    at = open_page("pages/word_map.py")
    at.selectbox(key="map_run").set_value(run.id).run()
    at = ok(at.text_input(key="map_search").input("awful").run())
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    points = spec["data"][0]
    assert len(points["text"]) == 2_000 and "awful" in points["text"]  # (coordinates come binary-encoded)
    assert len(spec["data"]) == 2 and spec["data"][1]["text"][0] == "awful"  # the searched word ringed and named
    neighbours = next(d.value for d in at.dataframe if "Similarity" in d.value.columns)
    assert len(neighbours) == 10 and "awful" not in set(neighbours["Word"])
    assert any("cannot show" in i.value for i in at.info)


def test_word_not_on_the_map_is_said_plainly(home: Path) -> None:
    at = open_page("pages/word_map.py")
    at = ok(at.text_input(key="map_search").input("zzzqqq").run())
    assert any("not among the 2,000 words" in w.value for w in at.warning)


@pytest.mark.slow  # the page's other projection; PCA's map is drawn for every preset in the quick tier
def test_tsne_on_request(home: Path) -> None:
    at = open_page("pages/word_map.py")
    at.radio(key="map_method").set_value("t-SNE").run()
    at = ok(at.slider(key="map_words").set_value(200).run())
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(spec["data"][0]["text"]) == 200 and spec["layout"]["xaxis"]["title"]["text"] == "t-SNE 1"


def test_map_core(home: Path) -> None:
    run = next(r for r in RunStore(home).list() if r.preset == "transfer")
    found = word_map.build(run.model_dir, 500)
    assert found.xy.shape == (500, 2) and 0 < found.kept <= 1
    assert found.words[0] == "the" and found.neighbours("nope-not-a-word") is None
    assert np.isfinite(found.effects).all() and set(found.towards) <= {"negative", "positive"}
    with pytest.raises(ConfigError):
        word_map.build(run.model_dir, 5_000, "t-SNE")
    with pytest.raises(ConfigError):
        word_map.build(run.model_dir, 100, "UMAP")


def test_three_classes_say_which_class_a_word_pushes_towards(tweets_run) -> None:
    found = word_map.build(tweets_run("dlwp").model_dir, 300)
    assert set(found.towards) <= {"negative", "neutral", "positive"} and len(set(found.towards)) >= 2
    assert np.isfinite(found.effects).all() and found.effects.max() > 0  # the largest rise of any class's probability
    assert found.classes == ("negative", "neutral", "positive")
    fig = charts.word_map(found, None, [])  # the page's figure: one colour per class it pushes towards, in a legend
    assert {t.name for t in fig.data} == {f"towards {c}" for c in set(found.towards)} and fig.layout.showlegend
    assert sum(len(t.x) for t in fig.data) == len(found.words)

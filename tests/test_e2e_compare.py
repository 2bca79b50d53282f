"""Issue 24's views in a real browser (`streamlit run app.py`, headless Chromium): comparing models on Predict,
a what-if edit, the raw-text model download on Runs, and the Word map. Run with `pytest -m e2e`."""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from conftest import DATA_DIR  # noqa: E402
from e2e_server import StreamlitServer  # noqa: E402
from pagetest import preset_home  # noqa: E402
from test_e2e import VIEWPORT, assert_no_exception, settle  # noqa: E402

pytestmark = pytest.mark.e2e
REVIEW = "This movie was not bad at all, and the ending was wonderful."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, every_preset_home):
    home = preset_home(tmp_path_factory.mktemp("e2e-compare-home"), ("dlwp", "mslearn"), every_preset_home)
    logs = tmp_path_factory.mktemp("e2e-compare-logs")
    with StreamlitServer(DATA_DIR, home, logs / "streamlit.log") as srv:
        yield srv


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(90_000)
    tab = context.new_page()
    yield tab
    context.close()


def visit(page, server, path: str, heading: str) -> None:
    page.goto(server.url + path)
    page.locator("h1").filter(has_text=heading).first.wait_for()
    settle(page)
    assert_no_exception(page, path)


def test_compare_two_models_then_remove_a_word(page, server) -> None:
    visit(page, server, "/predict", "Score a review")
    page.get_by_role("textbox", name="Review", exact=True).fill(REVIEW)
    page.get_by_role("button", name="Compare on this review").click()
    settle(page)
    assert_no_exception(page, "/predict compare")
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)  # the scores' bars and the word effects' small
    # multiples: Plotly's code may still be loading when the script has finished
    page.get_by_role("tab", name="What if…").click()
    page.get_by_role("radio", name="not", exact=True).click()  # the review's words are pills
    settle(page)
    page.get_by_role("button", name="Remove it").click()
    settle(page)
    edited = page.get_by_label("Edited review (or type your own edit)")
    assert edited.input_value() == "This movie was bad at all, and the ending was wonderful."
    assert page.get_by_text("removed “not”").count() >= 1
    assert_no_exception(page, "/predict what-if")


def test_runs_downloads_a_model_plain_keras_scores(page, server, tmp_path) -> None:
    visit(page, server, "/runs", "Runs")
    with page.expect_download() as download:
        page.get_by_role("button", name="Model for plain Keras").first.click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name.endswith("-raw-text.keras")
    assert "config.json" in zipfile.ZipFile(path).namelist()
    import keras
    import tensorflow as tf

    from core import predict
    from core.store import RunStore

    run = RunStore(server.lab_home).get(int(path.name.split("-")[1]))
    texts = [REVIEW, "dull, boring and far too long"]
    got = np.asarray(keras.saving.load_model(path).predict(tf.constant(texts), verbose=0)).reshape(-1)
    assert np.abs(got - predict.Scorer(run.model_dir).outputs(texts)).max() < 1e-5


def test_word_map_search_shows_neighbours(page, server) -> None:
    visit(page, server, "/word_map", "Word map")
    assert page.locator(".js-plotly-plot").count() == 1
    page.get_by_label("Search a word").fill("awful")
    page.get_by_label("Search a word").press("Enter")
    settle(page)
    assert page.get_by_text("Nearest words to “awful”").count() == 1
    assert page.get_by_text("What a projection can show").count() == 1
    assert_no_exception(page, "/word_map search")

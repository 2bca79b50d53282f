"""The whole app in a real browser: `streamlit run app.py` on a free port, driven by Playwright with Debian's
Chromium. Opens every page, trains a tiny model from the Train page, scores a typed review on Predict, and takes
a screenshot of each page into the test's temporary folder (`docs/screenshots.py` retakes docs/ with models
trained by the default presets, so the tests' tiny models never replace them and a test run leaves the checkout as
it was).

Run only these with `pytest -m e2e`, skip them with `pytest -m "not e2e"`.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from e2e_server import StreamlitServer, serving  # noqa: E402

pytestmark = pytest.mark.e2e

MAX_PNG_BYTES = 300_000
VIEWPORT = {"width": 1400, "height": 1000}
SHOT_WIDTH, SHOT_MAX_HEIGHT = 1400, 2600
TRAIN_SECONDS = 240  # a 2,000-review, 2-epoch dlwp run takes well under a minute on an idle 2-core machine
PAGES = {
    "/": "IMDB Sentiment Lab",
    "/explore": "Explore the reviews",
    "/train": "Train a model",
    "/predict": "Score a review",
    "/runs": "Runs",
    "/board": "Class board",
    "/pretrained": "Pretrained word vectors",
    "/datasets": "Data sets",
}
REVIEW = "A wonderful film with a brilliant cast and a moving story. I loved every minute of it."


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    with serving(tmp_path_factory, "e2e") as srv:
        yield srv


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    tab = context.new_page()
    yield tab
    context.close()


# --- helpers -----------------------------------------------------------------------------------------------
def settle(page, quiet_ms: int = 800, timeout: float = 90_000) -> None:
    """Wait until the script is not running (twice, `quiet_ms` apart, so a rerun has no gap to hide in)."""
    idle = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    for _ in range(2):
        page.wait_for_selector(idle, timeout=timeout)
        page.wait_for_timeout(quiet_ms)
    page.wait_for_selector(idle, timeout=timeout)


def open_page(page, server: StreamlitServer, path: str) -> None:
    page.goto(server.url + path)
    heading = page.locator("h1").filter(has_text=PAGES[path.split("?")[0]])
    heading.first.wait_for(timeout=90_000)
    settle(page)
    assert_no_exception(page, path)


def assert_no_exception(page, where: str) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{where} shows an exception: {errors.first.inner_text()[:2000]}"


def score_review(page, server: StreamlitServer, path: str) -> str:
    """Type the README's review on Predict (at `path`), press Score review, and return the score line shown."""
    open_page(page, server, path)
    review = page.get_by_label("Review", exact=True)
    review.fill(REVIEW)
    review.press("Control+Enter")  # commit the text area's value before pressing the button
    page.get_by_role("button", name="Score review").click()
    shown = page.get_by_text(re.compile(r"score \d\.\d{3}")).first
    shown.wait_for(timeout=90_000)
    settle(page)
    return shown.inner_text()


def screenshot(page, name: str, folder: Path) -> Path:
    """A full-page PNG in `folder`: the viewport is made as tall as the app's content (Streamlit scrolls its main
    area, not the document), capped, and the image reduced to 256 colours so the file stays small."""
    height = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]');
            const content = document.querySelector('[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"]');
            if (!main || !content) return document.body.scrollHeight;
            return content.getBoundingClientRect().bottom + main.scrollTop + 60;
        }"""
    )
    page.set_viewport_size({"width": SHOT_WIDTH, "height": int(min(max(height, VIEWPORT["height"]), SHOT_MAX_HEIGHT))})
    page.wait_for_timeout(1200)  # let Plotly and the layout follow the new size
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    page.set_viewport_size(VIEWPORT)
    compact_png(path)
    assert path.stat().st_size < MAX_PNG_BYTES, f"{path} is {path.stat().st_size:,} bytes"
    return path


def compact_png(path: Path) -> None:
    """The screenshot in 256 colours (a page is mostly flat colour): a third of the bytes, no visible change."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    small.save(path, optimize=True)


def loss_points(page) -> int:
    """Points on the first trace (training loss) of the learning-curve chart, 0 while there is none."""
    return page.evaluate(
        """() => {
            const plot = document.querySelector('.js-plotly-plot');
            return plot && plot.data && plot.data.length ? (plot.data[0].x || []).length : 0;
        }"""
    )


# --- the test ----------------------------------------------------------------------------------------------
def test_pages_train_and_predict_in_a_real_browser(page, server: StreamlitServer, tmp_path: Path) -> None:
    # Every page renders its heading and no exception; the fresh lab has no runs yet.
    for path in PAGES:
        open_page(page, server, path)
        if path == "/":
            screenshot(page, "home", tmp_path)
        elif path == "/explore":
            screenshot(page, "explore", tmp_path)
        elif path == "/predict":
            assert page.get_by_text("There is no trained model yet").is_visible()

    # Train a tiny model from a shared link.
    open_page(page, server, "/train?preset=dlwp&limit=2000&val_size=500&epochs=2")
    assert page.get_by_text("2,000 training reviews, 500 for validation, 2 epoch(s)").is_visible()
    page.get_by_role("button", name="▶ Start training").click()
    page.get_by_text(re.compile(r"Run #\d+ · dlwp")).first.wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => { const p = document.querySelector('.js-plotly-plot');"
        " return p && p.data && p.data.length > 0 && (p.data[0].x || []).length >= 1; }",
        timeout=TRAIN_SECONDS * 1000,
    )
    assert loss_points(page) >= 1
    page.get_by_text("Test accuracy").first.wait_for(timeout=TRAIN_SECONDS * 1000)
    settle(page)
    assert_no_exception(page, "/train after training")
    assert page.get_by_text(re.compile(r"Run #\d+ · dlwp · finished")).first.is_visible()
    assert loss_points(page) == 2, "one point per epoch"
    assert page.get_by_text("Where it goes wrong").is_visible()
    # Reloading the tab finds the same run again (this browser's cookie names its owner).
    run_title = page.get_by_text(re.compile(r"Run #\d+ · dlwp · finished")).first.inner_text()
    page.reload()
    page.get_by_text(run_title).first.wait_for(timeout=60_000)
    settle(page)
    assert_no_exception(page, "/train after a reload")
    screenshot(page, "train", tmp_path)

    # Score a typed review with the new model.
    score_review(page, server, "/predict")
    page.get_by_text(re.compile(r"^(Positive|Negative|Unsure)$")).first.wait_for(timeout=30_000)
    assert_no_exception(page, "/predict after scoring")
    assert page.get_by_text("pushes towards positive").is_visible()
    screenshot(page, "predict", tmp_path)

    # The run is listed on Runs.
    open_page(page, server, "/runs")
    screenshot(page, "runs", tmp_path)


def test_pretrained_page_shows_neighbours_and_compares_learning_curves(page, server: StreamlitServer,
                                                                       tmp_path: Path) -> None:
    open_page(page, server, "/pretrained?sizes=100,200")
    page.get_by_text("In GloVe (before training)").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stDataFrame"]').count() >= 1, "the GloVe neighbours table"
    page.get_by_role("tab", name="When does pretraining help?").click()
    page.get_by_role("button", name="▶ Compare from scratch and from GloVe").click()
    page.get_by_text("Gaps in points, GloVe minus scratch").first.wait_for(timeout=TRAIN_SECONDS * 1000 * 2)
    settle(page)
    assert_no_exception(page, "/pretrained after the comparison")
    assert page.locator(".js-plotly-plot").count() == 1
    screenshot(page, "pretrained", tmp_path)


def test_runs_page_follows_a_training_without_a_click(page, server: StreamlitServer) -> None:
    """A run trained by another process: the open Runs page notices it finish without anyone pressing Refresh."""
    import subprocess

    from core.store import RunStore

    env = dict(os.environ, IMDB_DATA_DIR=str(server.data_dir), SENTIMENT_LAB_HOME=str(server.lab_home),
               TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "core", "train", "--preset", "dlwp", "--limit", "3000", "--val-size", "500",
               "--epochs", "15", "--batch-size", "32"]
    training = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        store = RunStore(server.lab_home)
        page.wait_for_timeout(500)
        for _ in range(240):  # the CLI's run shows up as running with an epoch or two behind it
            mine = [r for r in store.list(with_history=True) if r.owner == "cli" and r.status == "running"]
            if mine and mine[0].history:
                break
            page.wait_for_timeout(250)
        else:
            pytest.fail("the command-line training did not start")
        open_page(page, server, "/runs")
        caption = page.get_by_text(re.compile(r"runs? kept on this server .* still training or queued"))
        assert caption.first.is_visible(), "the page says a run is training"
        search = page.get_by_label("Search name and note")
        search.click()
        page.keyboard.type("half-typed")  # not committed: no Enter, no click elsewhere
        caption.first.wait_for(state="detached", timeout=TRAIN_SECONDS * 1000)  # no click in between
        assert search.input_value() == "half-typed", "the redraws keep what the user was typing"
        assert training.wait(timeout=60) == 0, training.stderr.read().decode()[-2000:]
        settle(page)
        assert_no_exception(page, "/runs after the training finished")
        assert page.get_by_text(re.compile(r"\d+ runs? kept on this server")).first.is_visible()
    finally:
        training.kill()
        training.wait()


def test_upload_a_csv_import_it_and_pick_it_on_explore(page, server: StreamlitServer, tmp_path: Path) -> None:
    """The real file input: a small CSV of tweets (three classes, emoji, quoted newlines) uploaded, previewed,
    imported, then offered by Explore's data-set picker and shown there."""
    import csv

    tweets = Path(os.environ.get("IMDB_DATA_DIR") or REPO.parent / "shared" / "data") / "text" / "Tweets.csv"
    rows = list(csv.reader(tweets.open(encoding="utf-8", newline="")))
    small = tmp_path / "airline-tweets.csv"
    with small.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows[:301])

    open_page(page, server, "/datasets")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(small))
    page.get_by_text(re.compile(r"300 labelled rows")).first.wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_text(re.compile(r"label column airline_sentiment")).first.is_visible()
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text(re.compile(r"Imported airline-tweets: 3 classes")).first.wait_for(timeout=60_000)
    settle(page)
    assert_no_exception(page, "/datasets after the import")
    screenshot(page, "datasets", tmp_path)
    assert not any((server.lab_home / ".uploads").iterdir()), "the upload's temporary copy is deleted"

    open_page(page, server, "/explore")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Data set").first.click()
    page.keyboard.type("airline-tweets")
    page.keyboard.press("Enter")
    settle(page)
    assert_no_exception(page, "/explore on the imported data set")
    assert "dataset=airline-tweets" in page.url
    page.get_by_text(re.compile(r"3 classes: negative, neutral, positive")).first.wait_for(timeout=30_000)

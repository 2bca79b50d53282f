"""What a newcomer and a class meet in a real browser (Playwright with Debian's Chromium): a paste over Predict's
length limit, run links to runs of an imported data set and to a run not shared with the visitor, and the class
board on a projector at 1280×720.

The lab home is made before the server starts: an imported data set (the first 600 airline tweets), two tiny real
runs of one student (on IMDB and on the tweets), a copy of the first as another student's, and a few recorded runs
for the board.
"""
from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from conftest import DATA_DIR, clone_run, short_test_split  # noqa: E402
from e2e_server import StreamlitServer  # noqa: E402
from test_e2e import VIEWPORT, assert_no_exception, settle  # noqa: E402

pytestmark = pytest.mark.e2e

ALICE = "alice-owner-token-0001"  # the browser's owner cookie: the student whose runs these are
BOB = "bob-owner-token-00000002"
TWEETS = "tweets"
PROJECTOR = {"width": 1280, "height": 720}
LONG_NAME = "A student with a very long display name"
KEY = "teacher-key-for-the-link-tests"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The lab home (data set, runs) and the server on it; {"server", "home", "runs": {what: run id}}."""
    from core import hparams
    from core.data import datasets
    from core.classroom.people import Actor
    from core.runner import Runner
    from core.store import RunStore

    home = tmp_path_factory.mktemp("links-lab")
    rows = list(csv.reader((DATA_DIR / "text" / "Tweets.csv").open(encoding="utf-8", newline="")))
    small = tmp_path_factory.mktemp("links-data") / "tweets-small.csv"
    with small.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows[:601])
    mp = pytest.MonkeyPatch()
    mp.setenv("SENTIMENT_LAB_HOME", str(home))
    try:
        datasets.add(small, TWEETS)
        store = RunStore(home)
        runner = Runner(store, dataset=short_test_split())  # no page here reads all 25,000 test scores
        alice = Actor(ALICE, "Alice")
        runs = {}
        for what, hp in (
            ("imdb", hparams.make("dlwp", limit=1000, val_size=300, epochs=1)),
            ("tweets", hparams.make("dlwp", dataset=TWEETS, epochs=1)),
        ):
            snap = runner.submit(hp, owner=alice, probes=()).wait(timeout=600)
            assert snap.status == "finished", snap.error
            runs[what] = snap.id
        runs["bob"] = clone_run(home, runs["imdb"], store, owner=BOB, owner_name="Bob")
        for n in range(8):  # more rows for the board
            run_id = store.create("dlwp", {"preset": "dlwp", "epochs": 2}, owner=f"student-owner-token-{n:04d}",
                                  owner_name=LONG_NAME if n == 0 else f"Student {n}")
            store.finish(run_id, "finished", train_seconds=5.0, test_accuracy=0.80 + n / 100, test_loss=0.4)
    finally:
        mp.undo()
    logs = tmp_path_factory.mktemp("links-logs")
    with StreamlitServer(DATA_DIR, home, logs / "streamlit.log", env={"SENTIMENT_LAB_TEACHER_KEY": KEY}) as server:
        yield {"server": server, "home": home, "runs": runs}


def _visit(context, server: StreamlitServer, path: str):
    page = context.new_page()
    page.goto(server.url + path)
    page.locator("h1").first.wait_for(timeout=90_000)
    settle(page)
    assert_no_exception(page, path)
    return page


def _picked(page, label: str) -> str:
    return page.get_by_role("combobox", name=label, exact=True).input_value()


def _alice(browser, server: StreamlitServer, viewport: dict = VIEWPORT):
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(60_000)
    context.add_cookies([{"name": "sentiment_lab_owner", "value": ALICE, "url": server.url}])
    return context


def test_run_links_and_a_long_paste(browser, lab) -> None:
    server, runs = lab["server"], lab["runs"]
    context = _alice(browser, server)
    try:
        # A fresh browser (the picker on IMDB) opens a link to a run of the tweets, and the picker follows it.
        page = _visit(context, server, f"/predict?run={runs['tweets']}")
        assert page.get_by_text("has no saved model").count() == 0
        assert _picked(page, "Model").startswith(f"#{runs['tweets']} dlwp · Alice · {TWEETS}")
        assert _picked(page, "Data set") == TWEETS
        assert f"dataset={TWEETS}" in page.url and f"run={runs['tweets']}" in page.url
        page = _visit(context, server, f"/runs?run={runs['tweets']}")
        assert page.get_by_text("may have been deleted").count() == 0
        assert _picked(page, "Data set") == TWEETS
        assert page.get_by_role("tab", name=re.compile(rf"#{runs['tweets']} ")).count() == 1

        # Back on an IMDB run: a paste of 25,000 characters over earlier text is cut to the limit, with a note.
        page = _visit(context, server, f"/predict?run={runs['imdb']}")
        assert _picked(page, "Data set") == "imdb"
        review = page.get_by_label("Review", exact=True)
        review.fill("Boring and dull.")
        review.press("Control+Enter")
        settle(page)
        review.fill("A wonderful film with a moving story. " * 660)  # 25,080 characters
        page.get_by_role("button", name="Score review").click()
        page.get_by_text("it was cut to the first 20,000").wait_for(timeout=60_000)
        page.get_by_text(re.compile(r"score \d\.\d{3}")).first.wait_for(timeout=60_000)
        settle(page)
        assert len(review.input_value()) == 20_000
        assert page.get_by_text("25,080 characters long").is_visible()

        # With sharing off, a link to another student's run says it is not shared, not that it is gone.
        (lab["home"] / "classroom.json").write_text(json.dumps({"share_runs": False, "free_training": True}))
        try:
            for path in (f"/predict?run={runs['bob']}", f"/runs?run={runs['bob']}"):
                page = _visit(context, server, path)
                assert page.get_by_text("is not shared with you").first.is_visible(), path
                assert page.get_by_text("deleted").count() == 0, path
        finally:
            (lab["home"] / "classroom.json").unlink()
    finally:
        context.close()


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_the_class_board_fills_a_projector(browser, lab, tmp_path) -> None:
    context = _alice(browser, lab["server"], PROJECTOR)
    try:
        page = _visit(context, lab["server"], "/board?view=present")
        table = page.locator("table.lab-board")
        table.wait_for()
        page.screenshot(path=str(tmp_path / "board-present-rows.png"), animations="disabled")
        for column in ("Rank", "Student", "Test accuracy", "Status"):
            assert table.get_by_role("columnheader", name=column).is_visible()
        cell = table.locator("td").nth(1)
        size = page.evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)", cell.element_handle())
        assert size >= 28, f"cells are {size} px: too small for the back of a room"
        box = table.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PROJECTOR["width"], "the table fits the width"
        last_header = _box(page, "table.lab-board th:last-child")
        assert last_header["x"] + last_header["width"] <= PROJECTOR["width"], "Status is on screen"
        assert box["y"] <= 0.3 * PROJECTOR["height"], f"the rows start at {box['y']} px: the top takes too much"
        visible_rows = page.evaluate(
            "() => [...document.querySelectorAll('table.lab-board tbody tr')]"
            ".filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length")
        assert visible_rows >= 8, f"only {visible_rows} rows on the screen"
        assert table.get_by_text(LONG_NAME).count() == 1
    finally:
        context.close()


def test_unlocking_the_teacher_page_confirms_and_is_kept(browser, lab) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    try:
        page = _visit(context, lab["server"], "/teacher")
        page.get_by_role("textbox", name="Teacher key").fill(KEY)
        page.get_by_role("button", name="🔓 Unlock").click()
        page.get_by_text("Unlocked: this browser now has the teacher's rights").wait_for()
        settle(page)
        assert page.get_by_role("textbox", name="Teacher key").count() == 0, "the key leaves the page"
        assert page.get_by_role("button", name="🔓 Unlock").count() == 0
        assert page.locator('[data-testid="stSidebar"]').get_by_text("· teacher").is_visible()
        page.reload()  # a new session: the cookie keeps the rights
        page.get_by_role("heading", name="Class settings").wait_for(timeout=60_000)
        assert page.get_by_text("Teacher actions are unlocked in this browser").is_visible()
    finally:
        context.close()

"""The class board and the projector view in a real browser (Playwright with Debian's Chromium), on the server of
the other browser tests: the board follows a training started from the Train page without a reload, and the
projector view hides the sidebar and enlarges the type at 1280×720."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from test_e2e import DOCS, TRAIN_SECONDS, assert_no_exception, open_page, server, settle  # noqa: E402,F401

pytestmark = pytest.mark.e2e

PROJECTOR = {"width": 1280, "height": 720}


@pytest.fixture()
def tabs(browser):
    """Two students' browsers: one watches the board, the other trains."""
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    for context in contexts:
        context.set_default_timeout(60_000)
    yield [context.new_page() for context in contexts]
    for context in contexts:
        context.close()


def test_the_board_follows_a_training_without_a_reload(tabs, server) -> None:
    board, trainer = tabs
    open_page(board, server, "/board")
    open_page(trainer, server, "/train?preset=dlwp&limit=2000&val_size=500&epochs=3")
    trainer.get_by_role("button", name="▶ Start training").click()
    training = board.get_by_text(re.compile(r"runs? this lesson · [1-9]\d* training or queued"))
    training.first.wait_for(timeout=60_000)  # the board tab was not touched
    board.get_by_text(re.compile(r"runs? this lesson · 0 training or queued")).first.wait_for(
        timeout=TRAIN_SECONDS * 1000)
    settle(board)
    assert_no_exception(board, "/board after the training")
    trainer.get_by_text(re.compile(r"Run #\d+ · dlwp · finished")).first.wait_for(timeout=60_000)


def _root_font_px(page) -> float:
    return page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")


def test_projector_view_at_1280_by_720(browser, server) -> None:
    context = browser.new_context(viewport=PROJECTOR)
    try:
        page = context.new_page()
        open_page(page, server, "/board")
        normal = _root_font_px(page)
        assert page.locator('[data-testid="stSidebar"]').first.is_visible()
        open_page(page, server, "/board?view=present")
        assert not page.locator('[data-testid="stSidebar"]').first.is_visible(), "the sidebar is hidden"
        assert _root_font_px(page) >= 1.4 * normal, "the type is larger"
        assert page.get_by_role("heading", name="Class board").is_visible()
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / "board-present.png"), animations="disabled")
        page.get_by_text("Projector view").click()  # the toggle turns it off again
        settle(page)
        assert page.locator('[data-testid="stSidebar"]').first.is_visible()
        assert "view=present" not in page.url
    finally:
        context.close()

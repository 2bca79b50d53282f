"""The projector view in a real browser (Playwright with Debian's Chromium), on the server of the other browser
tests: it hides the sidebar and enlarges the type at 1280×720. (The board following a training without a reload
is tested on the class server, in test_e2e_serve.py.)"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from test_e2e import open_page, server, settle  # noqa: E402,F401

pytestmark = pytest.mark.e2e

PROJECTOR = {"width": 1280, "height": 720}


def _root_font_px(page) -> float:
    return page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")


def test_projector_view_at_1280_by_720(browser, server, tmp_path) -> None:
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
        page.screenshot(path=str(tmp_path / "board-present.png"), animations="disabled")
        page.get_by_text("Projector view").click()  # the toggle turns it off again
        settle(page)
        assert page.locator('[data-testid="stSidebar"]').first.is_visible()
        assert "view=present" not in page.url
    finally:
        context.close()

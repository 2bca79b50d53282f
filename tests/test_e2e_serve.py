"""A class served by `python -m core serve` (two web processes, one trainer service, one relay), in a real
browser: each browser stays on its own process, and a training one student starts is trained by the shared
trainer and followed live on another student's board served by the other process."""
from __future__ import annotations

import re
import sys
import urllib.request
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from e2e_server import serving  # noqa: E402
from test_e2e import TRAIN_SECONDS, assert_no_exception, open_page, settle  # noqa: E402

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    with serving(tmp_path_factory, "serve", web_processes=2) as srv:
        yield srv


def _web_cookie(context) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "lab_web")


def test_a_first_answer_pins_the_browser_to_one_process(lab) -> None:
    with urllib.request.urlopen(lab.url + "/_stcore/health", timeout=10) as reply:
        pinned = reply.headers.get_all("Set-Cookie")
    assert any(re.fullmatch(r"lab_web=[01]; Path=/; HttpOnly; SameSite=Lax", c) for c in pinned), pinned
    request = urllib.request.Request(lab.url + "/_stcore/health", headers={"Cookie": "lab_web=1"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.read() == b"ok"
        assert not any(c.startswith("lab_web=") for c in reply.headers.get_all("Set-Cookie") or []), \
            "a pinned browser is not pinned again"


def test_two_processes_share_one_trainer(browser, lab) -> None:
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    try:
        for context in contexts:
            context.set_default_timeout(60_000)
        trainer, board = (context.new_page() for context in contexts)
        open_page(trainer, lab, "/train?preset=dlwp&limit=2000&val_size=500&epochs=2")
        open_page(board, lab, "/board")
        assert {_web_cookie(c) for c in contexts} == {"0", "1"}, "the relay gave the two browsers one process each"
        trainer.get_by_role("button", name="▶ Start training").click()
        board.get_by_text(re.compile(r"runs? this lesson · [1-9]\d* training or queued")).first.wait_for(
            timeout=60_000)  # the other process sees the training at once, without a reload
        trainer.get_by_text(re.compile(r"Run #\d+ · dlwp · finished")).first.wait_for(
            timeout=TRAIN_SECONDS * 1000)
        board.get_by_text(re.compile(r"runs? this lesson · 0 training or queued")).first.wait_for(timeout=60_000)
        settle(board)
        for page, where in ((trainer, "/train"), (board, "/board")):
            assert_no_exception(page, f"{where} behind the relay")
    finally:
        for context in contexts:
            context.close()

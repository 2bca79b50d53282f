"""A class served by `python -m core serve` (two web processes, one trainer service, one relay), in real browsers
(Playwright contexts of one Chromium: the teacher and students Ada and Bo): each browser stays on its own process;
a training one student starts is trained by the shared trainer and followed live on another student's board served
by the other process; an assignment link shows only its settings and a crafted link beyond its ranges is held to
them; two students queueing two runs each take turns; names are shown, Bo gets no rename or delete for Ada's run
(the core refuses it too, see test_classroom.py) and the teacher, unlocked with the key, renames and deletes it."""
from __future__ import annotations

import re
import sys
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from core import hparams  # noqa: E402
from core.classroom import assignments
from core.classroom.people import Actor  # noqa: E402
from core.store import RunStore  # noqa: E402
from e2e_server import StreamlitServer, serving  # noqa: E402
from test_e2e import TRAIN_SECONDS, VIEWPORT, assert_no_exception, open_page, settle  # noqa: E402

pytestmark = pytest.mark.e2e
KEY = "e2e-teacher-key"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    env = {"SENTIMENT_LAB_TEACHER_KEY": KEY, "SENTIMENT_LAB_MAX_QUEUED_PER_USER": "2"}
    with serving(tmp_path_factory, "serve", env=env, web_processes=2) as srv:
        yield srv


def _person(browser, server: StreamlitServer, path: str, name: str):
    """A new browser context (a new person) on `path`, with `name` picked in the sidebar."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(server.url + path)
    box = page.get_by_label("Your name", exact=True).and_(page.get_by_role("textbox"))
    box.wait_for(timeout=90_000)
    settle(page)
    box.fill(name)
    box.press("Enter")
    page.get_by_text(f"You are {name}").first.wait_for()
    settle(page)
    return context, page


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
        open_page(trainer, lab, "/train?preset=dlwp&limit=1000&val_size=300&epochs=1")
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


def test_an_assignment_link_shows_its_settings_and_holds_a_crafted_link_to_its_ranges(browser, lab) -> None:
    teacher = Actor("e2e-teacher", "Ms Teacher", is_teacher=True)
    made = assignments.create(teacher, hparams.make("dlwp", limit=200, val_size=100),
                              {"epochs": (1, 3), "units": (4, 64)}, "How many units?", lab.lab_home)
    context, bo = _person(browser, lab, "/train", "Bo")
    try:
        bo.goto(f"{lab.url}/train?assignment={made.id}&epochs=50&learning_rate=0.5")  # the name stays: a cookie
        bo.get_by_text("Assignment: How many units?").first.wait_for()
        bo.get_by_text("epochs=50 is out of range: 1 to 3").first.wait_for()
        settle(bo)
        epochs = bo.get_by_label("Epochs (1 to 3)", exact=True)  # the assignment's ranges, not the presets'
        assert epochs.count() == 1 and bo.get_by_label("Units per layer (4 to 64)", exact=True).count() == 1
        assert bo.get_by_label(re.compile(r"^Learning rate")).count() == 0, "a fixed setting has no control"
        assert epochs.input_value() == "3"
        bo.get_by_role("button", name="▶ Start training").click()
        bo.get_by_text(re.compile(r"Run #\d+ · dlwp · finished")).first.wait_for(timeout=TRAIN_SECONDS * 1000)
        run_id = int(re.search(r"#(\d+)", bo.get_by_text(re.compile(r"Run #\d+ · dlwp · finished")).first
                               .inner_text())[1])
        record = RunStore(lab.lab_home).get(run_id)
        assert (record.assignment, record.config["epochs"], record.config["learning_rate"]) == (made.id, 3, 0.001)
    finally:
        context.close()


def _queued(page, position: int) -> None:
    try:
        page.get_by_text(re.compile(rf"your run is number {position} in the queue")).first.wait_for(timeout=90_000)
    except PlaywrightTimeout:
        shown = page.locator('[data-testid="stMain"]').inner_text()[-3000:]
        pytest.fail(f"no 'number {position} in the queue' after 90 s; the page shows:\n{shown}")


def test_students_take_turns_and_only_the_owner_or_the_teacher_changes_a_run(browser, lab) -> None:
    teacher_context, teacher = _person(browser, lab, "/teacher", "Ms Teacher")
    people = [teacher_context]
    try:
        teacher.get_by_role("textbox", name="Teacher key").fill(KEY)
        teacher.get_by_role("button", name="🔓 Unlock").click()
        teacher.get_by_role("heading", name="Class settings").wait_for()
        # minutes of training (60,000 batches), so it holds the trainer while the class queues however fast it trains
        teacher.goto(f"{lab.url}/train?preset=dlwp&limit=10000&val_size=500&epochs=100&batch_size=16")
        teacher.get_by_role("button", name="▶ Start training").click()
        teacher.get_by_text(re.compile(r"Run #\d+ · dlwp · running")).first.wait_for(timeout=120_000)
        tiny = "/train?preset=dlwp&limit=200&val_size=100&epochs=1"
        ada_context, ada = _person(browser, lab, tiny, "Ada")
        bo_context, bo = _person(browser, lab, tiny, "Bo")
        people += [ada_context, bo_context]
        for student, positions in ((ada, (1, 2)), (bo, (2, 4))):  # Ada queues two, then Bo two
            for position in positions:
                start = student.get_by_role("button", name="▶ Start training")
                if not start.is_visible():  # the settings fold away once a run exists
                    student.locator("summary").filter(has_text="Settings").first.click()
                    settle(student)  # the panel drawn, as a student sees it before pressing Start
                start.click()
                _queued(student, position)
                settle(student)
        ada_run = int(re.search(r"Run #(\d+)", ada.get_by_text(re.compile(r"Run #\d+ · dlwp")).first.inner_text())[1])

        teacher.goto(f"{lab.url}/teacher")
        teacher.get_by_role("heading", name="The training queue").wait_for(timeout=90_000)
        settle(teacher)
        queue = [line for line in teacher.locator("li").all_inner_texts()  # "1. #7 dlwp · Ada", a numbered list
                 if re.fullmatch(r"#\d+ dlwp · (Ada|Bo)", line.strip())]
        assert [line.rsplit(" ", 1)[1] for line in queue] == ["Ada", "Bo", "Ada", "Bo"], queue
        for _ in queue:  # the teacher cancels the waiting runs, then stops the one training
            teacher.get_by_role("button", name="✕ Cancel").first.click()
            settle(teacher)
        teacher.get_by_text("Nobody is waiting for the trainer.").wait_for()
        teacher.goto(f"{lab.url}/train")
        teacher.get_by_role("button", name="⏹ Stop").click()
        teacher.get_by_text(re.compile(r"Run #\d+ · dlwp · stopped")).first.wait_for(timeout=120_000)
        _only_the_owner_or_the_teacher_changes_a_run(lab, ada_run, bo, teacher)
    finally:
        for context in people:
            context.close()


def _only_the_owner_or_the_teacher_changes_a_run(lab, run_id: int, bo, teacher) -> None:
    """Bo, on another student's run, is told whose it is and gets no changes; the teacher renames and deletes it."""
    bo.goto(f"{lab.url}/runs?run={run_id}")
    bo.get_by_role("tab", name=re.compile(rf"#{run_id} · dlwp · Ada")).wait_for(timeout=90_000)
    settle(bo)
    assert bo.get_by_text("belongs to Ada: only its owner or the teacher can rename, annotate or delete it").is_visible()
    assert bo.get_by_role("button", name="🗑 Delete this run…").count() == 0
    assert bo.get_by_role("button", name="💾 Save name and note").count() == 0

    teacher.goto(f"{lab.url}/runs?run={run_id}")  # a new session of the same browser: still the teacher
    teacher.get_by_text("You are Ms Teacher · teacher").first.wait_for(timeout=90_000)
    settle(teacher)
    teacher.get_by_role("textbox", name="Name", exact=True).fill("seen by the teacher")
    teacher.get_by_role("button", name="💾 Save name and note").click()
    teacher.get_by_text(f"Saved the name and note of run #{run_id}.").first.wait_for()
    settle(teacher)
    teacher.get_by_role("button", name="🗑 Delete this run…").click()
    teacher.get_by_role("button", name="Yes, delete it").click()
    teacher.get_by_text(re.compile(rf"Deleted run #{run_id}")).first.wait_for()

"""A class in real browsers: three Playwright contexts of one Chromium (the teacher and students Ada and Bo) on one
`streamlit run app.py`. Names are shown; Bo gets no rename or delete for Ada's run (the core refuses it too, see
test_classroom.py); the teacher, unlocked with the key, renames and deletes it."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from e2e_server import StreamlitServer, serving  # noqa: E402
from test_e2e import TRAIN_SECONDS, VIEWPORT, settle  # noqa: E402

pytestmark = pytest.mark.e2e
KEY = "e2e-teacher-key"


@pytest.fixture(scope="module")
def class_server(tmp_path_factory: pytest.TempPathFactory):
    with serving(tmp_path_factory, "e2e-class", env={"SENTIMENT_LAB_TEACHER_KEY": KEY}) as srv:
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


def test_students_see_names_and_only_the_owner_or_the_teacher_changes_a_run(browser, class_server):
    ada_context, ada = _person(browser, class_server, "/train?preset=dlwp&limit=200&val_size=100&epochs=1", "Ada")
    ada.get_by_role("button", name="▶ Start training").click()
    ada.get_by_text(re.compile(r"Run #\d+ · dlwp · finished")).first.wait_for(timeout=TRAIN_SECONDS * 1000)
    run_id = re.search(r"#(\d+)", ada.get_by_text(re.compile(r"Run #\d+ · dlwp · finished")).first.inner_text())[1]
    ada.reload()  # the name is kept in the browser
    ada.get_by_text("You are Ada").first.wait_for(timeout=90_000)

    bo_context, bo = _person(browser, class_server, f"/runs?run={run_id}", "Bo")
    bo.reload()
    bo.get_by_role("tab", name=re.compile(rf"#{run_id} · dlwp · finished · Ada")).wait_for(timeout=90_000)
    settle(bo)
    assert bo.get_by_text("belongs to Ada: only its owner or the teacher can rename, annotate or delete it").is_visible()
    assert bo.get_by_role("button", name="🗑 Delete this run…").count() == 0
    assert bo.get_by_role("button", name="💾 Save name and note").count() == 0

    teacher_context, teacher = _person(browser, class_server, "/teacher", "Ms Teacher")
    teacher.get_by_role("textbox", name="Teacher key").fill(KEY)
    teacher.get_by_role("button", name="🔓 Unlock").click()
    teacher.get_by_role("heading", name="Class settings").wait_for()
    settle(teacher)
    teacher.goto(f"{class_server.url}/runs?run={run_id}")  # a new session of the same browser: still the teacher
    teacher.get_by_text("You are Ms Teacher · teacher").first.wait_for(timeout=90_000)
    settle(teacher)
    teacher.get_by_role("textbox", name="Name", exact=True).fill("seen by the teacher")
    teacher.get_by_role("button", name="💾 Save name and note").click()
    teacher.get_by_role("tab", name=re.compile(rf"#{run_id} seen by the teacher")).wait_for()
    settle(teacher)
    teacher.get_by_role("button", name="🗑 Delete this run…").click()
    teacher.get_by_role("button", name="Yes, delete it").click()
    teacher.get_by_text(re.compile(rf"Deleted run #{run_id}")).first.wait_for()
    for context in (ada_context, bo_context, teacher_context):
        context.close()

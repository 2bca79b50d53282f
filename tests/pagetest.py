"""What the AppTest page tests share: opening a page of the real app, and a private copy of a trained lab home."""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Every text a page shows, for assertions and for failure messages."""
    kinds = ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def specs(at: AppTest) -> list[dict]:
    """The Plotly figures a page drew, as the JSON the browser gets."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def train_from_page(at: AppTest, timeout: float) -> AppTest:
    """Press Start on an open Train page and rerun it, as its own refresh does, until the run's test accuracy shows."""
    ok(next(b for b in at.button if b.label == "▶ Start training").click().run())
    deadline = time.monotonic() + timeout
    while not any(m.label == "Test accuracy" for m in at.metric):
        assert time.monotonic() < deadline, f"the run did not finish in {timeout} s:\n{texts(at)}"
        time.sleep(2)
        ok(at.run())
    return at


def open_page(page: str, timeout: float = 90, session: dict | None = None, **query: str) -> AppTest:
    """app.py run through st.navigation, switched to `page` (e.g. "pages/train.py"), with URL query values and
    `session` values set before the first run (e.g. {"owner": "tests"}: the browser that owns the tests' runs)."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=timeout)
    for name, value in (session or {}).items():
        at.session_state[name] = value
    for name, value in query.items():
        at.query_params[name] = value
    return ok(at.switch_page(page).run())


def copy_home(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own copy of a lab home (runs and models), set as SENTIMENT_LAB_HOME."""
    copy = tmp_path / "lab"
    shutil.copytree(template, copy)
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(copy))
    return copy


def recorded_runs(home: Path, count: int, padding: int = 0) -> Path:
    """A lab home with `count` recorded runs (nothing trained; each config padded by `padding` characters, so the
    database spans more pages) and its database checkpointed into one file, whose path is returned."""
    from core.store import RunStore

    store = RunStore(home)
    for _ in range(count):
        store.claim_folder(store.create("dlwp", {"preset": "dlwp", "padding": "x" * padding}))
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store.path


def preset_home(home: Path, presets, every_preset_home: tuple[Path, dict[str, int]]) -> Path:
    """`home` with one finished run of each of `presets` (repeats allowed), owned by "tests": copies of the
    session's tiny run of each preset (conftest's `every_preset_home`, trained with conftest.TINY), not new
    trainings."""
    from conftest import clone_run
    from core.store import RunStore

    source, ids = every_preset_home
    store = RunStore(home)
    for preset in presets:
        clone_run(source, ids[preset], store)
    return home

"""Every page with a broken run database or an unusable lab folder: a clear message naming the file, never a
traceback, and the broken file left as it was (issue 9, item 9)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pagetest import open_page, recorded_runs

PAGES = ("pages/home.py", "pages/explore.py", "pages/train.py", "pages/predict.py", "pages/runs.py")
STORE_PAGES = ("pages/train.py", "pages/predict.py", "pages/runs.py")


@pytest.mark.parametrize("damage, words", [
    (lambda p: p.write_bytes(os.urandom(p.stat().st_size)), "not a SQLite database"),
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "cut off"),
], ids=["garbage", "cut in half"])
@pytest.mark.parametrize("page", PAGES)
def test_a_broken_database_on_every_page(page, damage, words, tmp_path, monkeypatch):
    home = tmp_path / "lab"
    path = recorded_runs(home, 30, padding=2000)
    damage(path)
    before = path.read_bytes()
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(home))
    at = open_page(page)  # fails on any exception the page lets through
    if page in STORE_PAGES:
        errors = " ".join(e.value for e in at.error)
        assert path.name in errors and str(path) not in errors, errors  # no server paths for visitors
        assert words in errors and "runs rebuild" in errors, errors
    assert path.read_bytes() == before


def test_a_database_that_breaks_while_the_server_runs(tmp_path, monkeypatch):
    home = tmp_path / "lab"
    path = recorded_runs(home, 30, padding=2000)
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(home))
    open_page("pages/runs.py")  # the server's store is open and cached
    path.write_bytes(os.urandom(path.stat().st_size))
    for page in STORE_PAGES:
        at = open_page(page)
        assert any("not a SQLite database" in e.value for e in at.error), page


@pytest.mark.parametrize("page", STORE_PAGES)
def test_a_lab_folder_under_a_regular_file(page, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep")
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(blocker / "lab"))
    at = open_page(page)
    assert any("SENTIMENT_LAB_HOME" in e.value for e in at.error)
    assert blocker.read_text() == "keep"


def test_a_bad_trainings_setting_on_the_train_page(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("SENTIMENT_LAB_MAX_TRAININGS", "999999999")
    at = open_page("pages/train.py")
    assert any("SENTIMENT_LAB_MAX_TRAININGS must be a whole number from 1 to 16" in e.value for e in at.error)


READ_ONLY = Path("/sys")  # read-only in containers, even for root


@pytest.fixture()
def read_only_home(monkeypatch) -> Path:
    try:
        (READ_ONLY / "probe").mkdir()
    except OSError:
        pass
    else:
        (READ_ONLY / "probe").rmdir()
        pytest.skip("/sys is writable here")
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(READ_ONLY))
    return READ_ONLY


@pytest.mark.parametrize("page", ("pages/pretrained.py", "pages/train.py", "pages/datasets.py"))
def test_a_read_only_lab_home_is_said_without_the_servers_path(page, read_only_home):
    at = open_page(page)  # fails on any exception the page lets through
    shown = " ".join(e.value for e in at.error)
    assert "/sys" not in shown, shown
    if page != "pages/datasets.py":
        assert "runs.sqlite3 cannot be opened for writing" in shown and "writable folder" in shown, shown


def test_importing_into_a_read_only_lab_home_says_why(read_only_home):
    from test_page_datasets import AMAZON, errors, upload

    at = upload(open_page("pages/datasets.py"), AMAZON.name, AMAZON.read_bytes())
    assert any("The upload cannot be read: the lab's folder is not writable" in e for e in errors(at)), errors(at)


# --- tampered records -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tampered_template(tmp_path_factory) -> tuple[Path, int]:
    """A lab home with one real finished run and a copy of its record whose values were tampered with (a test
    accuracy of 'abc', text for times and losses, unreadable JSON), as an older `runs rebuild` could record it."""
    import sqlite3

    from core import hparams
    from core.runner import Runner
    from core.store import RunStore

    home = tmp_path_factory.mktemp("tampered")
    store = RunStore(home)
    snap = Runner(store).submit(hparams.make("dlwp", limit=600, val_size=200, epochs=1), owner="tests",
                                probes=()).wait(timeout=600)
    assert snap.status == "finished", snap.error
    with sqlite3.connect(store.path) as db:
        db.execute("INSERT INTO runs (preset, config, status, owner, created_at, started_at, finished_at,"
                   " train_seconds, test_accuracy, test_loss, model_dir, dataset) SELECT preset, '{not json', status,"
                   " owner, 'yesterday', 'x', finished_at, 'slow', 'abc', 'lots', model_dir, dataset FROM runs")
        bad = db.execute("SELECT MAX(id) FROM runs").fetchone()[0]
        db.execute("INSERT INTO epochs (run_id, epoch, loss, accuracy, val_loss, val_accuracy, seconds, probes)"
                   " VALUES (?, 1, 'high', 'abc', NULL, 'x', 'y', '[not json')", (bad,))
    return home, snap.id


@pytest.mark.parametrize("page", ("pages/runs.py", "pages/board.py", "pages/predict.py", "pages/train.py",
                                  "pages/home.py"))
def test_a_record_with_a_test_accuracy_of_abc_breaks_no_page(page, tampered_template, tmp_path, monkeypatch):
    from pagetest import copy_home

    template, good = tampered_template
    copy_home(template, tmp_path, monkeypatch)
    at = open_page(page, session={"owner": "tests"})  # fails on any exception the page lets through
    if page == "pages/predict.py":
        assert not at.error, [e.value for e in at.error]
        at.text_area[0].input("A wonderful film with a brilliant cast.").run()
        assert not at.exception, at.exception

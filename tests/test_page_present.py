"""The projector view (`?view=present`) on Train and Predict in Streamlit's AppTest: the larger stylesheet, the
toggle on, and the view kept when the session moves to another page."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pagetest import ok, open_page  # noqa: E402

STYLE = "font-size: 26px"


def _styled(at) -> bool:
    return any(STYLE in h.proto.body for h in at.get("html"))


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    return tmp_path / "lab"


@pytest.mark.parametrize("page", ["pages/train.py", "pages/predict.py"])
def test_present_from_the_address(home, page):
    at = open_page(page, view="present")
    assert at.toggle(key="present_toggle").value is True and _styled(at)
    plain = open_page(page)
    assert plain.toggle(key="present_toggle").value is False and not _styled(plain)


def test_the_view_stays_on_across_pages(home):
    at = open_page("pages/train.py", view="present")
    assert not at.expander[0].proto.expanded, "the settings are folded away on the projector"
    at.query_params.clear()
    ok(at.switch_page("pages/board.py").run())
    assert at.toggle(key="present_toggle").value is True and _styled(at)

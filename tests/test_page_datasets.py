"""The Data sets page: uploading real labelled text through st.file_uploader, the preview and its overrides, the
import report, every kind of bad file answered with the core's own message, and removal with confirmation; and the
data-set picker on Explore (`?dataset=NAME`).

Files come from ../shared/data/text (the UCI sentences, the airline tweets) or are built in tmp_path.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import DATA_DIR
from core import datasets
from pagetest import ok, open_page

TEXT = DATA_DIR / "text"
AMAZON = TEXT / "amazon_cells_labelled.txt"
TWEETS = TEXT / "Tweets.csv"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(path))
    return path


def upload(at: AppTest, name: str, content: bytes, mime: str = "text/plain") -> AppTest:
    at.file_uploader(key="ds_upload").set_value((name, content, mime))
    return ok(at.run())


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def name_box(at: AppTest):
    return next(t for t in at.text_input if t.key.startswith("ds_name_"))


def listed(at: AppTest) -> list[str]:
    return at.dataframe[-1].value["name"].tolist()


def test_import_headerless_tsv_through_the_uploader(home: Path) -> None:
    at = upload(open_page("pages/datasets.py"), AMAZON.name, AMAZON.read_bytes())
    assert not errors(at)
    assert any("**1,000 labelled rows** read as TSV" in m.value for m in at.markdown)
    assert at.selectbox(key="ds_text_column").format_func(None) == "detected (column 1)"
    assert at.selectbox(key="ds_label_column").format_func(None) == "detected (column 2)"
    counts = at.dataframe[1].value
    assert dict(zip(counts["class"], counts["rows"])) == {"0": 500, "1": 500}
    assert name_box(at).value == "amazon_cells_labelled"

    ok(at.button(key="ds_import").click().run())
    assert not errors(at)
    assert "Imported **amazon_cells_labelled**" in at.success[0].value
    assert "800 training and 200 test texts" in at.success[0].value
    assert "20% of each class was held out for testing." in [c.value for c in at.caption]
    assert listed(at) == ["imdb", "amazon_cells_labelled"]
    info = datasets.info("amazon_cells_labelled")
    assert info.labels == ("0", "1") and info.train_size + info.test_size == 1000
    assert not any((home / ".uploads").iterdir()), "the upload's temporary copy was not deleted"


def test_import_tweets_with_an_overridden_then_restored_label_column(home: Path) -> None:
    at = upload(open_page("pages/datasets.py"), TWEETS.name, TWEETS.read_bytes(), "text/csv")
    assert at.selectbox(key="ds_label_column").format_func(None) == "detected (airline_sentiment)"
    counts = at.dataframe[1].value
    assert dict(zip(counts["class"], counts["rows"])) == {"negative": 9178, "neutral": 3099, "positive": 2363}

    ok(at.selectbox(key="ds_label_column").set_value("6").run())  # the airline column: 6 classes
    assert not errors(at)
    assert len(at.dataframe[1].value) == 6
    ok(at.selectbox(key="ds_label_column").set_value("1").run())  # tweet ids: far more than 20 values
    assert any("more than 20 classes" in e for e in errors(at))
    ok(at.selectbox(key="ds_label_column").set_value(None).run())
    assert not errors(at)

    name_box(at).set_value("tweets")
    ok(at.button(key="ds_import").click().run())
    assert not errors(at)
    assert "3 classes" in at.success[0].value
    info = datasets.info("tweets")
    assert info.labels == ("negative", "neutral", "positive")
    assert info.train_size == 11711 and info.test_size == 2929


@pytest.mark.parametrize("name, content, expected", [
    ("empty.csv", b"", "empty.csv is empty: it holds no text."),
    ("picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "it looks like a PNG image"),
    ("one.csv", b"text,label\n" + b"".join(b"review number %d,good\n" % n for n in range(30)), "one class only"),
    ("rare.csv", b"text,label\n" + b"".join(b"review number %d,%s\n" % (n, b"ab"[n % 2:n % 2 + 1])
                                            for n in range(30)) + b"a lone review,c\n", "fewer than 2 examples"),
])
def test_a_bad_file_gets_the_core_message_and_changes_nothing(home: Path, name: str, content: bytes,
                                                              expected: str) -> None:
    at = upload(open_page("pages/datasets.py"), name, content)
    assert any(expected in e for e in errors(at)), errors(at)
    assert all(b.key != "ds_import" for b in at.button)
    assert datasets.names() == ["imdb"]


def _sentences() -> list[tuple[str, str]]:
    return [tuple(line.rsplit("\t", 1)) for line in AMAZON.read_text(encoding="utf-8").splitlines()]


def test_malformed_quoting_and_no_text_column_get_the_core_message(home: Path) -> None:
    sentences = _sentences()
    body = "".join(f'"{t.replace(chr(34), "")}",{l}\n' for t, l in sentences[:30])
    quotes = ("text,label\n" + body + '"this one never closes,1\n').encode()
    at = upload(open_page("pages/datasets.py"), "quotes.csv", quotes, "text/csv")
    assert any("Malformed quoting in quotes.csv at line" in e and "unclosed quote" in e for e in errors(at)), \
        errors(at)

    numbers = "id,label,stars_given\n" + "".join(f"{1000 + i},{l},{i % 7}\n" for i, (_, l) in
                                                 enumerate(sentences[:100]))
    at = upload(open_page("pages/datasets.py"), "numbers.csv", numbers.encode(), "text/csv")
    assert any("No usable text column" in e for e in errors(at)), errors(at)
    assert datasets.names() == ["imdb"]


def test_over_the_size_limit_and_an_existing_name(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = upload(open_page("pages/datasets.py"), AMAZON.name, AMAZON.read_bytes())
    ok(at.button(key="ds_import").click().run())
    assert all(b.key != "ds_import" for b in at.button), "no second Import of the same file"
    assert any("This file is imported" in c.value for c in at.caption)
    at = upload(open_page("pages/datasets.py"), AMAZON.name, AMAZON.read_bytes())  # the same name again
    ok(at.button(key="ds_import").click().run())
    assert len(errors(at)) == 1 and "amazon_cells_labelled' already exists; choose another name" in errors(at)[0]
    assert datasets.names() == ["imdb", "amazon_cells_labelled"]

    monkeypatch.setenv("SENTIMENT_LAB_MAX_UPLOAD_MB", "1")
    at = upload(open_page("pages/datasets.py"), TWEETS.name, TWEETS.read_bytes(), "text/csv")
    assert any("is 3.0 MB, over the 1 MB limit (SENTIMENT_LAB_MAX_UPLOAD_MB raises it)" in e for e in errors(at)), errors(at)
    assert datasets.names() == ["imdb", "amazon_cells_labelled"]


def test_removal_asks_first_and_counts_the_runs_that_used_it(home: Path) -> None:
    from core.store import RunStore

    datasets.add(AMAZON, "phones")
    datasets.add(AMAZON, "spare")
    store = RunStore(home)
    for _ in range(2):
        store.create("dlwp", {"preset": "dlwp", "dataset": "phones"})
    at = open_page("pages/datasets.py")
    assert listed(at) == ["imdb", "phones", "spare"]
    ok(at.selectbox(key="ds_remove_pick").set_value("phones").run())
    ok(at.button(key="ds_remove").click().run())
    warning = at.warning[0].value
    assert "Remove the data set **phones**?" in warning and "2 runs were trained on it" in warning
    assert "keep scoring" in warning
    ok(at.button(key="ds_remove_no").click().run())
    assert datasets.names() == ["imdb", "phones", "spare"]

    ok(at.button(key="ds_remove").click().run())
    ok(at.button(key="ds_remove_yes").click().run())
    assert datasets.names() == ["imdb", "spare"]
    assert "Removed the data set phones." in at.success[0].value
    assert listed(at) == ["imdb", "spare"]
    assert len(store.list()) == 2, "the runs stay"


# --- the picker on Explore ---------------------------------------------------------------------------------------
def test_explore_shows_an_imported_data_set_from_the_url(home: Path) -> None:
    datasets.add(TWEETS, "tweets")
    at = open_page("pages/explore.py", dataset="tweets")
    assert at.selectbox(key="explore_dataset").value == "tweets"
    assert at.segmented_control(key="label").options == ["all", "negative", "neutral", "positive"]
    assert any("11,711 training and 2,929 test reviews" in c.value and "3 classes" in c.value for c in at.caption)
    badges = [m.value for m in at.markdown if m.value.startswith("#### Review #")]
    assert badges and all("-badge[" in b for b in badges)
    assert not any("positive" in b and ":green-badge" in b for b in badges)  # not IMDB's colours

    ok(at.segmented_control(key="label").set_value("neutral").run())
    cards = [m.value for m in at.markdown if m.value.startswith("#### Review #")]
    assert cards and all("[neutral]" in c for c in cards)
    assert at.query_params["dataset"] == "tweets"

    ok(at.selectbox(key="explore_dataset").set_value("imdb").run())
    assert at.segmented_control(key="label").value == "all"
    assert "dataset" not in at.query_params


def test_explore_warns_of_an_unknown_data_set_and_shows_imdb(home: Path) -> None:
    at = open_page("pages/explore.py", dataset="nope")
    assert any("'nope'" in w.value and "showing imdb instead" in w.value for w in at.warning)
    assert not [box for box in at.selectbox if box.key == "explore_dataset"], "IMDB alone needs no picker"
    assert any("25,000 training and 25,000 test reviews" in c.value for c in at.caption)


def test_the_report_says_what_was_dropped_and_that_latin1_was_used(home: Path) -> None:
    rows = [f"{text.replace(',', ' ')},{label}" for text, label in _sentences()[:60]]
    rows[3] = "café crème was lovely,"  # no label
    rows[7] = ",1"  # no text
    content = ("text,label\n" + "\n".join(rows) + "\n").encode("latin-1", errors="replace")
    at = upload(open_page("pages/datasets.py"), "latin.csv", content, "text/csv")
    assert not errors(at)
    assert any("1 row without text and 1 row without a label will be left out." in c.value for c in at.caption)
    ok(at.button(key="ds_import").click().run())
    captions = [c.value for c in at.caption]
    assert "1 row without text left out." in captions
    assert "1 row without a label left out." in captions
    assert any("not valid UTF-8" in c and "Latin-1" in c for c in captions), captions

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
from core.classroom import guarded
from core.data import datasets
from core.classroom.people import TEACHER_KEY_ENV, guest_name
from pagetest import ok, open_page
from test_page_classroom import KEY, as_teacher

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


ADA, BO = "ada-browser-token-0001", "bo-browser-token-00002"  # two students' browsers (owner tokens)


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

    datasets.add(AMAZON, "phones", by=guarded.importer(ADA))
    datasets.add(AMAZON, "spare", by=guarded.importer(ADA))
    store = RunStore(home)
    for _ in range(2):
        store.finish(store.create("dlwp", {"preset": "dlwp", "dataset": "phones"}), "finished", test_accuracy=0.7)
    at = open_page("pages/datasets.py", session={"owner": ADA})
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
    at.session_state["tab"] = "Charts"
    ok(at.run())
    p95 = datasets.info("tweets").words_p95
    assert at.slider(key="maxlen").value == -(-p95 // 10) * 10 < 500, "the length the presets read on the tweets"

    ok(at.selectbox(key="explore_dataset").set_value("imdb").run())
    assert at.segmented_control(key="label").value == "all"
    assert at.slider(key="maxlen").value == 500, "IMDB's own"
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


# --- owners ----------------------------------------------------------------------------------------------------
def test_students_remove_only_their_own_data_sets_and_the_teacher_any(home: Path, monkeypatch) -> None:
    monkeypatch.setenv(TEACHER_KEY_ENV, KEY)
    datasets.add(AMAZON, "class-set")  # from the command line: the teacher's
    ada = upload(open_page("pages/datasets.py", session={"owner": ADA}), AMAZON.name, AMAZON.read_bytes())
    name_box(ada).set_value("adas")
    ok(ada.button(key="ds_import").click().run())
    assert "Imported **adas**" in ada.success[0].value
    owners = ada.dataframe[-1].value
    assert dict(zip(owners["name"], owners["imported by"])) == {"imdb": "built in", "class-set": "the teacher",
                                                                "adas": guest_name(ADA)}
    assert ada.selectbox(key="ds_remove_pick").options == ["adas"], "only her own is offered for removal"

    bo = open_page("pages/datasets.py", session={"owner": BO})
    assert all(s.key != "ds_remove_pick" for s in bo.selectbox)
    assert "Only whoever imported a data set, or the teacher, can remove it." in [c.value for c in bo.caption]
    bo = upload(bo, AMAZON.name, AMAZON.read_bytes())  # the same name as Ada's: he may not replace it
    name_box(bo).set_value("adas")
    ok(bo.run())
    assert all(c.key != "ds_replace" for c in bo.checkbox)
    assert f"A data set named adas was imported by {guest_name(ADA)}: choose another name." in [
        c.value for c in bo.caption]
    ada = upload(open_page("pages/datasets.py", session={"owner": ADA}), AMAZON.name, AMAZON.read_bytes())
    name_box(ada).set_value("adas")
    ok(ada.run())
    ok(ada.checkbox(key="ds_replace").check().run())  # her own: she may
    ok(ada.button(key="ds_import").click().run())
    assert "Imported **adas**" in ada.success[0].value

    teacher = as_teacher(open_page("pages/datasets.py"))
    ok(teacher.switch_page("pages/datasets.py").run())
    assert teacher.selectbox(key="ds_remove_pick").options == ["adas", "class-set"]
    ok(teacher.selectbox(key="ds_remove_pick").set_value("adas").run())
    ok(teacher.button(key="ds_remove").click().run())
    ok(teacher.button(key="ds_remove_yes").click().run())
    assert datasets.names() == ["imdb", "class-set"]


def test_the_teacher_turns_student_imports_off(home: Path, monkeypatch) -> None:
    monkeypatch.setenv(TEACHER_KEY_ENV, KEY)
    teacher = as_teacher(open_page("pages/datasets.py"))
    ok(teacher.toggle(key="teacher_student_imports").set_value(False).run())
    ada = open_page("pages/datasets.py", session={"owner": ADA})
    assert "turned off importing data sets for students" in ada.info[0].value
    assert not ada.get("file_uploader")
    ok(teacher.switch_page("pages/datasets.py").run())
    assert teacher.get("file_uploader"), "the teacher still imports"


@pytest.mark.parametrize("file_name", ["é" * 134 + ".tsv", "r" * 300 + ".tsv", "sent\x00ences.tsv"])
def test_an_uploaded_file_with_an_odd_name_is_read_and_imported(home: Path, file_name: str) -> None:
    at = upload(open_page("pages/datasets.py"), file_name, AMAZON.read_bytes())
    assert not errors(at)
    assert any("**1,000 labelled rows** read as TSV" in m.value for m in at.markdown)
    ok(at.button(key="ds_import").click().run())
    assert not errors(at)
    (name,) = datasets.names()[1:]
    assert datasets.info(name).source.endswith(".tsv (TSV)")
    assert datasets.report(name).file.isprintable() and len(datasets.report(name).file.encode()) <= 120
    ok(at.run())  # the session goes on


def test_an_excel_unicode_text_file_is_imported_and_its_encoding_shown(home: Path) -> None:
    rows = [("review", "sentiment"), *_sentences()[:80]]
    content = "".join(f"{t}\t{l}\r\n" for t, l in rows).encode("utf-16")  # Excel's "Unicode Text (*.txt)"
    at = upload(open_page("pages/datasets.py"), "grades.txt", content)
    assert not errors(at)
    assert any("**80 labelled rows** read as TSV, UTF-16 LE with BOM" in m.value for m in at.markdown)
    ok(at.button(key="ds_import").click().run())
    assert "Read as UTF-16 LE with BOM." in [c.value for c in at.caption]
    assert datasets.info("grades").labels == ("0", "1")


def test_two_browsers_import_the_same_file_at_the_same_time(home: Path) -> None:
    ada = upload(open_page("pages/datasets.py", session={"owner": ADA}), AMAZON.name, AMAZON.read_bytes())
    bo = upload(open_page("pages/datasets.py", session={"owner": BO}), AMAZON.name, AMAZON.read_bytes())
    ok(ada.button(key="ds_import").click().run())
    assert "Imported **amazon_cells_labelled**" in ada.success[0].value
    ok(bo.button(key="ds_import").click().run())  # Bo's page still offered the name when he pressed Import
    assert any("'amazon_cells_labelled' already exists" in e for e in errors(bo)), errors(bo)
    assert f"A data set named amazon_cells_labelled was imported by {guest_name(ADA)}: choose another name." in [
        c.value for c in bo.caption]
    assert all(c.key != "ds_replace" for c in bo.checkbox), "he may not replace Ada's"
    name_box(bo).set_value("bos-phones")
    ok(bo.button(key="ds_import").click().run())
    assert "Imported **bos-phones**" in bo.success[0].value
    assert listed(bo) == ["imdb", "amazon_cells_labelled", "bos-phones"]
    assert datasets.ownership("bos-phones").owner == BO and datasets.ownership("amazon_cells_labelled").owner == ADA


def test_labels_that_are_numbers_on_explore_and_train(home: Path, tmp_path: Path) -> None:
    """Sentiment coded -1, 0, 1, as many teachers' spreadsheets have it: three classes everywhere, in number order,
    and the Train page's model ends in one softmax unit per class (it drew IMDB's single sigmoid unit)."""
    import csv

    with TWEETS.open(encoding="utf-8", newline="") as f:
        rows = [(r["text"], {"negative": "-1", "neutral": "0", "positive": "1"}[r["airline_sentiment"]])
                for _, r in zip(range(300), csv.DictReader(f))]
    coded = tmp_path / "coded.csv"
    with coded.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([("text", "sentiment"), *rows])
    datasets.add(coded, "coded")
    explore = open_page("pages/explore.py", dataset="coded")
    assert any("3 classes: \\-1, 0, 1." in c.value for c in explore.caption)
    train = open_page("pages/train.py", dataset="coded", preset="dlwp")
    layers = train.dataframe[0].value
    assert layers["output shape"].iloc[-1] == "(None, 3)" and layers["parameters"].iloc[-1] == 16 * 3 + 3
    assert any(f"{layers['parameters'].sum():,} parameters in all." == c.value for c in train.caption)


def test_a_data_set_with_a_queued_run_on_it_is_not_removed(home: Path) -> None:
    """Before: the teacher removed it, and the student's run queued on it failed with "No data set named ..."."""
    from core.store import RunStore

    datasets.add(AMAZON, "phones", by=guarded.importer(ADA))
    store = RunStore(home)
    queued = store.create("dlwp", {"preset": "dlwp", "dataset": "phones"}, owner=BO)
    at = open_page("pages/datasets.py", session={"owner": ADA})
    ok(at.button(key="ds_remove").click().run())
    ok(at.button(key="ds_remove_yes").click().run())
    assert f"run #{queued} is queued or training on it" in " ".join(errors(at)), errors(at)
    assert datasets.names() == ["imdb", "phones"]
    store.finish(queued, "finished", test_accuracy=0.7)
    ok(at.button(key="ds_remove").click().run())
    ok(at.button(key="ds_remove_yes").click().run())
    assert datasets.names() == ["imdb"]


def test_a_verdict_on_labels_that_are_numbers_names_the_class(home: Path) -> None:
    """The UCI sentences are labelled 0 and 1: Predict said "1" and "(0 = 0, 1 = 1)"; it says "class 1"."""
    from core import hparams
    from core.runner import Runner
    from core.store import RunStore

    datasets.add(AMAZON, "phones")
    snap = Runner(RunStore(home)).submit(hparams.make("fast", dataset="phones"), owner="tests",
                                         probes=()).wait(timeout=300)
    assert snap.status == "finished", snap.error
    at = open_page("pages/predict.py", session={"owner": "tests"}, dataset="phones", run=str(snap.id))
    at.text_area[0].input("Great phone, works very well, excellent battery.")
    ok(next(b for b in at.button if b.label == "Score review").click().run())
    verdict = at.get("html")[0].proto.body
    assert ">class 1</span>" in verdict and "(0 = class 0, 1 = class 1; " in verdict, verdict

"""The baseline beside every result and named classes, on real data: the figures on a few hundred real sentences,
on Train, Runs, the class board and in the CLI's summary line; runs recorded before baselines still shown; class
names given at import or on the Data sets page used by Predict, Train and the board, with the fingerprint kept."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import DATA_DIR
from core import baseline, hparams
from core.classroom import guarded
from core.data import datasets
from core.baseline import Baseline
from core.errors import DatasetError
from core.classroom.people import CLI, TEACHER_KEY_ENV
from core.store import RunStore
from pagetest import ok, open_page, texts, train_from_page

AMAZON = DATA_DIR / "text" / "amazon_cells_labelled.txt"
NAME = "sentences"
NAMES = {"0": "unhappy", "1": "happy"}  # not IMDB's names, so a page falling back to those would show
TRAIN_TIMEOUT = 240


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 400 Amazon sentences (labels 0 and 1): the common case, a few hundred short rows."""
    path = tmp_path_factory.mktemp("baseline-data") / "sentences.tsv"
    path.write_text("".join(AMAZON.read_text(encoding="utf-8").splitlines(keepends=True)[:400]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, small_file: Path) -> Path:
    home = tmp_path_factory.mktemp("baseline-lab")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SENTIMENT_LAB_HOME", str(home))
        datasets.add(small_file, NAME, class_names=NAMES)
    return home


@pytest.fixture
def home(lab: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(lab))
    return lab


# --- the figures --------------------------------------------------------------------------------------------------
def test_the_baseline_of_a_few_hundred_real_sentences_is_sensible(home: Path) -> None:
    dataset = datasets.load(NAME)
    hp = hparams.make("fast", dataset=NAME)
    figures = baseline.for_run(dataset.corpus.train, dataset.corpus.test, hp.val_size, hp.limit)
    assert figures.test_size == dataset.info.test_size == 80
    assert figures.train_size == dataset.info.train_size - hp.val_size
    assert abs(figures.majority_accuracy - 0.5) <= 0.05, "the sentences are about half positive"
    assert figures.tfidf_accuracy >= figures.majority_accuracy + 0.1, figures  # words tell the classes apart
    assert figures.c in baseline.C_GRID and 0 < figures.features
    assert figures.seconds < 30
    assert Baseline.from_dict(json.loads(json.dumps(figures.to_dict()))) == figures
    assert Baseline.from_dict({**figures.to_dict(), "version": -1}) is None  # another version's figures are stale


def test_a_model_no_better_than_the_majority_is_told_so() -> None:
    figures = Baseline(0.63, 0, 0.70, 400, 120, 5000, 10.0, 0.1)
    labels = ("negative", "neutral", "positive")
    assert "No better than always answering “negative”" in baseline.comparison(0.64, figures, labels)
    assert "Clearly worse than the classical baseline" in baseline.comparison(0.79, Baseline(
        0.5, 0, 0.90, 15_000, 25_000, 100_000, 30.0, 9.0), labels)
    assert "cannot tell from chance" in baseline.comparison(0.70, figures, labels)  # 7 points on 120 texts
    assert baseline.comparison(0.75, figures, labels) is None
    assert baseline.comparison(0.75, None, labels) is None
    assert "unknown" in baseline.line(None, labels)


# --- named classes ------------------------------------------------------------------------------------------------
def test_class_names_are_checked(home: Path) -> None:
    labels = ("0", "1")
    assert datasets.check_class_names(datasets.parse_class_names(" 0 = bad ,1=good"), labels) == ("bad", "good")
    assert datasets.check_class_names({}, labels) == ()
    for text, problem in (("0=same,1=SAME", "Two classes"), ("0=" + "x" * 41, "at most 40"), ("2=two", "no class"),
                          ("0=a\u202eb", "control or invisible"), ("0=  ", "empty"), ("0=1", "Two classes")):
        with pytest.raises(DatasetError, match=problem):
            datasets.check_class_names(datasets.parse_class_names(text), labels)
    for text in ("negative", "0=a,0=b", "x" * 5000):
        with pytest.raises(DatasetError):
            datasets.parse_class_names(text)


def test_naming_classes_keeps_the_fingerprint(home: Path) -> None:
    before = datasets.info(NAME)
    assert before.labels == ("0", "1") and before.class_names == ("unhappy", "happy")
    renamed = datasets.name_classes(NAME, {"0": "grumpy"}, by=guarded.importer(CLI))
    try:
        assert renamed.class_names == ("grumpy", "1") and renamed.fingerprint == before.fingerprint
        assert datasets.load(NAME).info.class_names == ("grumpy", "1")  # the loaded copy follows, content checked
        with pytest.raises(DatasetError, match="Two classes"):
            datasets.name_classes(NAME, {"0": "1"}, by=guarded.importer(CLI))
        assert datasets.info(NAME).class_names == ("grumpy", "1"), "a refused name changes nothing"
    finally:
        datasets.name_classes(NAME, NAMES, by=guarded.importer(CLI))


# --- pages --------------------------------------------------------------------------------------------------------
def test_train_predict_runs_and_board_show_the_baseline_and_the_names(home: Path) -> None:
    at = open_page("pages/train.py", session={"owner": "tests"}, dataset=NAME, preset="fast", epochs="1")
    train_from_page(at, TRAIN_TIMEOUT)
    record = RunStore(home).list()[0]
    figures = record.baseline
    assert figures is not None and figures.test_size == 80
    page = texts(at)
    assert "baseline on the same split: majority class (unhappy)" in page or \
        "baseline on the same split: majority class (happy)" in page, page
    assert f"TF-IDF + logistic regression {figures.tfidf_accuracy:.1%}" in page

    predict = open_page("pages/predict.py", session={"owner": "tests"}, dataset=NAME)
    predict.text_area(key="predict_text").input("great value, works very well")
    ok(next(b for b in predict.button if b.label == "Score review").click().run())
    verdict = "\n".join(h.value for h in predict.html)
    assert "happy" in verdict and "(0 = unhappy, 1 = happy" in verdict, verdict

    runs = open_page("pages/runs.py", session={"owner": "tests"}, dataset=NAME)
    table = runs.dataframe[0].value
    assert table["TF-IDF + LR"].tolist() == [round(100 * figures.tfidf_accuracy, 1)]
    assert table["Majority class"].tolist() == [round(100 * figures.majority_accuracy, 1)]

    board = ok(open_page("pages/board.py"))
    row = board.dataframe[0].value.iloc[0]
    assert row["TF-IDF + LR"] == round(100 * figures.tfidf_accuracy, 1)
    majority = NAMES[str(figures.majority_class)]
    assert row["Majority class"] == f"{figures.majority_accuracy:.1%} ({majority})"


def test_a_run_recorded_before_baselines_still_shows(home: Path) -> None:
    store = RunStore(home)
    run_id = store.create("dlwp", hparams.make("dlwp").to_dict(), owner="tests")
    store.add_epoch(run_id, {"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.4, "val_accuracy": 0.8})
    store.mark_running(run_id)
    store.finish(run_id, "finished", train_seconds=3.0, test_accuracy=0.81)
    try:
        assert store.get(run_id).baseline is None
        runs = open_page("pages/runs.py", session={"owner": "tests"}, run=str(run_id))
        assert "baseline unknown" in texts(runs), texts(runs)
        board = ok(open_page("pages/board.py"))
        old = board.dataframe[0].value.set_index("Run").loc[run_id]
        assert pd.isna(old["TF-IDF + LR"]) and pd.isna(old["Majority class"])  # shown as "–": unknown
    finally:
        store.delete(run_id)


def test_the_data_sets_page_names_classes(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("pages/datasets.py")
    assert "ds_names_pick" not in [s.key for s in at.selectbox], "a student may not name the teacher's classes"
    monkeypatch.setenv(TEACHER_KEY_ENV, "baseline-test-key")
    at = open_page("pages/teacher.py")
    at.text_input(key="teacher_key_input").input("baseline-test-key")
    ok(at.button[0].click().run())
    at = ok(at.switch_page("pages/datasets.py").run())
    at.selectbox(key="ds_names_pick").set_value(NAME).run()
    at.text_input(key=f"ds_class_{NAME}_0").input("<b>sad</b>")
    ok(at.button(key=f"FormSubmitter:ds_names_{NAME}-Save the class names").click().run())
    try:
        assert datasets.info(NAME).class_names == ("<b>sad</b>", "happy")
        assert any(r"\<b\>sad\</b\>" in s.value for s in at.success), [s.value for s in at.success]  # as text
        at.text_input(key=f"ds_class_{NAME}_0").input("HAPPY")
        ok(at.button(key=f"FormSubmitter:ds_names_{NAME}-Save the class names").click().run())
        assert any("Two classes would be called" in e.value for e in at.error)
    finally:
        datasets.name_classes(NAME, NAMES, by=guarded.importer(CLI))


# --- the CLI ------------------------------------------------------------------------------------------------------
@pytest.mark.slow  # an imported set through the CLI; IMDB's summary line has the baseline in test_cli
def test_the_cli_summary_line_has_the_baseline(tmp_path: Path, small_file: Path, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "SENTIMENT_LAB_HOME": str(tmp_path / "lab")}

    def core(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "core", *args], env=env, capture_output=True, text=True,
                              timeout=TRAIN_TIMEOUT)

    bad = core("datasets", "add", str(small_file), "--name", "s", "--label-names", "0=x,1=X")
    assert bad.returncode == 2 and "Two classes would be called" in bad.stderr and not bad.stdout
    added = core("datasets", "add", str(small_file), "--name", "s", "--label-names", "0=unhappy,1=happy")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["label_names"] == ["unhappy", "happy"]
    done = core("train", "--dataset", "s", "--preset", "fast", "--epochs", "1")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert 0.4 <= summary["majority_accuracy"] <= 0.6
    assert summary["baseline_accuracy"] >= summary["majority_accuracy"] + 0.1
    assert "majority class (unhappy)" in summary["baseline"] or "majority class (happy)" in summary["baseline"]
    assert "TF-IDF + logistic regression" in summary["baseline"]
    if summary["test_accuracy"] <= summary["majority_accuracy"]:
        assert "No better than always answering" in summary["warning"]

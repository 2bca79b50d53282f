"""The Predict page in Streamlit's AppTest, over a copy of the session's real tiny `dlwp` run (trained through the
real Runner). Each test that needs a model works on its own copy of that lab home, so deleting a model file in
one test never shows in another (and never hits a scorer cached for another folder)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from streamlit.testing.v1 import AppTest  # noqa: E402

from conftest import clone_run  # noqa: E402
from pagetest import copy_home, ok, open_page  # noqa: E402

from core import hparams  # noqa: E402
from core.store import RunStore  # noqa: E402


@pytest.fixture(scope="module")
def template_home(tmp_path_factory: pytest.TempPathFactory, lab_home: Path, trained_run) -> Path:
    """A lab home holding a copy of the session's tiny `dlwp` run."""
    home = tmp_path_factory.mktemp("predict-page-template")
    clone_run(lab_home, trained_run.id, RunStore(home), owner="tests")
    return home


@pytest.fixture()
def home(template_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own copy of the trained lab home, set as SENTIMENT_LAB_HOME."""
    return copy_home(template_home, tmp_path, monkeypatch)


def open_predict() -> AppTest:
    return open_page("pages/predict.py")


def html(at: AppTest) -> str:
    return "\n".join(h.value for h in at.html)


def score_button(at: AppTest):
    found = [b for b in at.button if b.label == "Score review"]
    assert len(found) == 1, [b.label for b in at.button]
    return found[0]


def test_no_runs_says_so_and_links_to_train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "empty-lab"))
    at = open_predict()
    assert at.title[0].value == "💬 Score a review"
    assert any("There is no trained model yet" in i.value for i in at.info)
    assert [link.label for link in at.page_link] == ["Go to Train"]
    assert not at.text_area and not at.selectbox


def test_model_selectbox_lists_the_finished_run(home: Path) -> None:
    at = open_predict()
    box = at.selectbox(key="predict_run")
    assert box.options and len(box.options) == 1
    assert box.value == 1
    label = box.options[0]  # what the user reads: the run's title, its test accuracy and when it ran
    assert "dlwp" in label and "test accuracy" in label and "%" in label
    assert len([b for b in at.button if b.key and b.key.startswith("example_")]) == 6
    assert not [h for h in at.html if "document.cookie" not in h.value], "no verdict before anything is scored"


def test_example_button_fills_the_text_and_shows_a_verdict_with_word_highlighting(home: Path) -> None:
    at = open_predict()
    ok(at.button(key="example_Plainly positive").click().run())
    assert at.text_area(key="predict_text").value.startswith("A wonderful film with a brilliant cast")
    body = html(at)
    assert ("Positive" in body) or ("Negative" in body) or ("Unsure" in body), "a tiny model may be unsure"
    assert "score <b>" in body
    assert "pushes towards positive" in body and "pushes towards negative" in body, "the colour legend"
    assert "rgba(43,138,62" in body or "rgba(201,42,42" in body, "words tinted by their effect"
    assert any(s.value == "Why" for s in at.subheader)
    assert "Score with the word minus score without it" in body, "the per-word effect bars"
    assert "+0." in body or "-0." in body, "each bar says its effect"
    assert any(e.label == "What the model saw" for e in at.expander)
    assert not at.error and not at.warning


def test_typed_review_is_scored_when_the_button_is_pressed(home: Path) -> None:
    at = open_predict()
    at.text_area(key="predict_text").input("Boring, badly acted and far too long. A waste of time.")
    ok(score_button(at).click().run())
    assert "score <b>" in html(at)
    assert len(at.get("progress")) == 1


def test_empty_review_warns_and_shows_no_score(home: Path) -> None:
    at = open_predict()
    ok(score_button(at).click().run())
    assert any("The review is empty" in w.value for w in at.warning)
    assert "score <b>" not in html(at)
    at.text_area(key="predict_text").input("   \n ")
    ok(score_button(at).click().run())
    assert any("The review is empty" in w.value for w in at.warning)
    assert "score <b>" not in html(at)


def test_runs_that_cannot_score_are_not_listed(home: Path) -> None:
    """Stopped before an epoch, failed, or with the model file removed: none of them is offered."""
    store = RunStore(home)
    for status in ("stopped", "failed"):
        run_id = store.create("dlwp", hparams.make("dlwp").to_dict(), owner="tests")
        store.set_model_dir(run_id, store.runs_dir / str(run_id))  # the runner names the folder first
        store.mark_running(run_id)
        store.finish(run_id, status, error="Stopped before the first epoch." if status == "stopped" else "boom")
    at = open_predict()
    box = at.selectbox(key="predict_run")
    assert len(box.options) == 1 and box.value == 1
    (home / "runs" / "1" / "model.keras").unlink()
    at = open_predict()
    assert not at.selectbox and any("There is no trained model yet" in i.value for i in at.info)


def test_unreadable_model_file_gives_a_clear_error(home: Path) -> None:
    import zipfile

    with zipfile.ZipFile(home / "runs" / "1" / "model.keras", "w") as archive:  # looks whole, cannot load
        archive.writestr("config.json", "{}")
    at = open_predict()
    at.text_area(key="predict_text").input("A wonderful film.")
    ok(score_button(at).click().run())
    errors = " ".join(e.value for e in at.error)
    assert "corrupt" in errors and "model.keras" in errors
    assert str(home) not in errors, "server paths are not shown to visitors"
    assert "score <b>" not in html(at)


# --- every preset ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", list(hparams.PRESETS))
def test_every_preset_scores_a_review_and_says_what_the_model_saw(
        preset: str, every_preset_home: tuple[Path, dict[str, int]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    copy_home(every_preset_home[0], tmp_path, monkeypatch)
    at = open_predict()
    at.selectbox(key="predict_run").set_value(every_preset_home[1][preset])
    at.text_area(key="predict_text").input("A wonderful film with a brilliant cast, but the ending was far too long.")
    ok(score_button(at).click().run())
    body = html(at)
    assert "score <b>" in body and ("Positive" in body or "Negative" in body or "Unsure" in body)
    assert not at.error
    seen = " ".join(str(e.value) for kind in ("caption", "warning") for e in getattr(at, kind))
    assert {"dlwp": "Multi-hot input", "mslearn": "maxlen 100", "lstm": "maxlen 60", "fast": "n-gram features",
            "transfer": "maxlen 100"}[preset] in seen


def test_run_link_opens_that_run_and_the_address_follows_the_choice(
        every_preset_home: tuple[Path, dict[str, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, ids = every_preset_home
    copy_home(home, tmp_path, monkeypatch)
    newest = max(ids.values())
    at = open_page("pages/predict.py", run=str(ids["dlwp"]))
    assert at.selectbox(key="predict_run").value == ids["dlwp"] != newest, "the linked run, not the newest"
    assert not at.warning
    ok(at.selectbox(key="predict_run").set_value(ids["lstm"]).run())
    assert at.query_params["run"] == str(ids["lstm"]), "the address names the chosen model"
    for bad, said in (("999", "run #999, which has no saved model"), ("<b>x</b>", "is not a run number")):
        at = open_page("pages/predict.py", run=bad)
        assert at.selectbox(key="predict_run").value == newest
        assert any(said in w.value for w in at.warning), [w.value for w in at.warning]
        assert not any("<b>" in w.value for w in at.warning), "the link's value is quoted as text"


def test_a_review_with_no_known_words_says_so_instead_of_a_verdict(home: Path) -> None:
    at = open_predict()
    at.text_area(key="predict_text").input("🙂🙂🙂 qwxzvbnm")
    ok(score_button(at).click().run())
    assert "No known words" in html(at) and "Positive<" not in html(at) and "Negative<" not in html(at)
    assert any("The model saw no known words" in w.value for w in at.warning)


def test_a_paste_over_the_length_limit_is_cut_to_it_with_a_note(home: Path) -> None:
    """The box has no `max_chars` of its own: the browser dropped a longer paste without a word (issue 19)."""
    at = open_predict()
    box = at.text_area(key="predict_text")
    assert not box.max_chars and "20,000 characters" in box.placeholder
    ok(box.input("A wonderful film. " * 1_500).run())  # 27,000 characters
    assert len(at.text_area(key="predict_text").value) == 20_000
    assert any("27,000 characters long: it was cut to the first 20,000" in w.value for w in at.warning)
    ok(score_button(at).click().run())
    assert "score <b>" in html(at), "the cut text is scored"
    ok(at.text_area(key="predict_text").input("Boring.").run())
    assert not any("cut to the first" in w.value for w in at.warning), "the note goes with the long text"


def test_why_says_when_only_the_first_words_are_measured(home: Path, corpus, vocabulary) -> None:
    from core import predict

    text = " ".join(vocabulary.decode(corpus.train.x[i][1:]) for i in range(40))[: predict.MAX_TEXT_CHARS]
    at = open_predict()
    at.text_area(key="predict_text").input(text)
    ok(score_button(at).click().run())
    assert any(f"Only the first {predict.MAX_EXPLAINED_WORDS:,} distinct words are measured" in c.value
               for c in at.caption)
    assert "not measured" in html(at), "the legend names the grey words"

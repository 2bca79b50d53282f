"""The Train page in Streamlit's AppTest: settings from presets and shared links, validation, the layer table,
pinned reviews, and one real (tiny) training started from the page and followed to its results.

Each test gets its own empty SENTIMENT_LAB_HOME, so the cached Runner/RunStore (keyed by that folder) is fresh.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from streamlit.testing.v1 import AppTest  # noqa: E402

from pagetest import ok, open_page, specs as plotly_specs  # noqa: E402

START = "▶ Start training"
TRAIN_TIMEOUT = 240  # seconds; a 1,000-review, 2-epoch run takes well under a minute on an idle 2-core machine


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lab = tmp_path / "lab"
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(lab))
    return lab


def open_train(**query: str) -> AppTest:
    return open_page("pages/train.py", **query)


def labels(at: AppTest) -> list[str]:
    return [w.label for kind in ("number_input", "selectbox", "slider") for w in getattr(at, kind)]


def value(at: AppTest, param: str):
    for kind in ("number_input", "selectbox", "slider"):
        for w in getattr(at, kind):
            if w.key == f"hp_{param}":
                return w.value
    raise AssertionError(f"no widget for {param}; widgets: {labels(at)}")


def start_button(at: AppTest):
    found = [b for b in at.button if b.label == START]
    assert len(found) == 1, [b.label for b in at.button]
    return found[0]


def texts(at: AppTest) -> str:
    kinds = ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def settings_open(at: AppTest) -> bool:
    (settings,) = [e for e in at.expander if e.label == "Settings"]
    return settings.proto.expanded


def open_settings(at: AppTest) -> AppTest:
    """Unfold the Settings panel, as a click on its title does (its content is built only while it is open)."""
    at.session_state["train_settings"] = True
    return ok(at.run())


def in_page_order(at: AppTest) -> list[str]:
    """Each metric's label and each chart as "chart", top to bottom, outside the Settings panel."""
    settings = {id(node) for e in at.expander if e.label == "Settings" for node in e}
    found = []
    for node in at.main:
        if id(node) in settings:
            continue
        if node.type == "metric":
            found.append(node.label)
        elif node.type == "plotly_chart":
            found.append("chart")
    return found


# --- settings ----------------------------------------------------------------------------------------------
def test_page_renders_with_dlwp_settings_and_a_hint(home: Path) -> None:
    at = open_train()
    assert at.title[0].value == "🏋️ Train a model"
    assert at.selectbox(key="train_preset").value == "dlwp"
    assert value(at, "epochs") == 4 and value(at, "hidden_layers") == 2 and value(at, "units") == 16
    assert not any(label.startswith("Sequence length") for label in labels(at)), "dlwp does not read maxlen"
    assert any("press **Start training**" in i.value for i in at.info)
    assert not start_button(at).disabled
    assert not at.error and not at.warning


def test_preset_selectbox_switches_the_visible_settings(home: Path) -> None:
    at = open_train()
    ok(at.selectbox(key="train_preset").set_value("lstm").run())
    shown = labels(at)
    assert any(label.startswith("Sequence length") for label in shown)
    assert any(label.startswith("Embedding size") for label in shown)
    assert not any(label.startswith("Hidden layers") for label in shown), "the lstm preset has no Dense stack"
    assert value(at, "units") == 120 and value(at, "embedding_dim") == 120 and value(at, "patience") == 5
    assert at.query_params["preset"] == "lstm"

    ok(at.selectbox(key="train_preset").set_value("fast").run())
    shown = labels(at)
    assert any(label.startswith("Longest n-gram") for label in shown)
    assert not any(label.startswith("Sequence length") for label in shown)


def test_url_query_params_preselect_the_preset_and_values(home: Path) -> None:
    at = open_train(preset="mslearn", epochs="2", batch_size="64")
    assert at.selectbox(key="train_preset").value == "mslearn"
    assert value(at, "epochs") == 2 and value(at, "batch_size") == 64
    assert value(at, "maxlen") == 500
    assert not at.warning
    # The link is kept up to date: only what differs from the preset.
    assert at.query_params["preset"] == "mslearn"
    assert at.query_params["epochs"] == "2" and at.query_params["batch_size"] == "64"
    assert "maxlen" not in at.query_params

    # Editing a widget updates the shareable link.
    ok(at.number_input(key="hp_epochs").set_value(3).run())
    assert at.query_params["epochs"] == "3"


def test_out_of_range_url_value_warns_and_uses_the_presets_value(home: Path) -> None:
    at = open_train(preset="mslearn", epochs="200", units="abc")
    warnings = " ".join(w.value for w in at.warning)
    assert "epochs=200 is out of range" in warnings and "preset's value 5" in warnings
    assert "units='abc' is not a whole number" in warnings
    assert value(at, "epochs") == 5 and value(at, "units") == 16
    assert not at.error and not start_button(at).disabled


def test_url_preset_in_any_case_and_two_decimal_dropout(home: Path) -> None:
    at = open_train(preset="DLWP", dropout="0.33")
    assert at.selectbox(key="train_preset").value == "dlwp" and not at.warning
    assert value(at, "dropout") == pytest.approx(0.33)
    assert at.slider(key="hp_dropout").step == pytest.approx(0.01), "a 0.05 step showed 0.35 in the browser"
    assert at.query_params["dropout"] == "0.33"


def test_unknown_preset_in_url_falls_back_to_dlwp(home: Path) -> None:
    at = open_train(preset="bogus")
    assert any("unknown preset 'bogus'" in w.value for w in at.warning)
    assert at.selectbox(key="train_preset").value == "dlwp"


def test_invalid_combination_shows_an_error_and_disables_start(home: Path) -> None:
    at = open_train()
    at.number_input(key="hp_val_size").set_value(20_000)
    ok(at.number_input(key="hp_limit").set_value(6_000).run())
    errors = " ".join(e.value for e in at.error)
    assert "Cannot train with these settings" in errors and "limit=6000" in errors and "val_size=20000" in errors
    assert start_button(at).disabled
    assert not at.dataframe, "no layer table for settings that cannot train"

    ok(at.number_input(key="hp_limit").set_value(4_000).run())
    assert not at.error and not start_button(at).disabled


def test_layer_table_and_estimate_follow_the_settings(home: Path) -> None:
    at = open_train()
    assert len(at.dataframe) == 1
    table = at.dataframe[0].value
    assert "parameters" in table.columns
    # multi-hot(10000) -> Dense 16 -> Dense 16 -> Dense 1
    assert list(table["parameters"]) == [0, 160_016, 272, 17]
    assert "160,305 parameters in all." in texts(at)
    assert any(m.label == "Estimated wait" for m in at.metric)
    assert "scoring the 25,000 test reviews and saving" in texts(at)
    assert "Early stopping" not in texts(at)

    ok(at.number_input(key="hp_units").set_value(8).run())
    assert list(at.dataframe[0].value["parameters"]) == [0, 80_008, 72, 9]


def test_the_estimate_says_when_early_stopping_may_end_a_run_sooner(home: Path) -> None:
    at = open_train(preset="lstm")
    (wait,) = [m for m in at.metric if m.label == "Estimated wait"]
    assert " to " in wait.value, "a range: early stopping may end it after 6 of the 20 epochs"
    assert "Early stopping (patience 5)" in texts(at) and "as few as 6 of the 20" in texts(at)


@pytest.mark.skipif(not (REPO / "pages" / "dataset_picker.py").exists(),
                    reason="the Train page takes ?dataset= once its data-set picker is there")
def test_the_estimate_counts_the_chosen_data_sets_test_reviews(amazon_dataset, lab_home: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(lab_home))
    at = open_train(preset="fast", dataset=amazon_dataset.name)
    own = f"scoring the {amazon_dataset.test_size:,} test reviews and saving"
    (wait,) = [m for m in at.metric if m.label == "Estimated wait"]
    assert own in texts(at) and own in wait.help
    assert "25,000" not in texts(at) + wait.help, "IMDB's test split is not this data set's"


def test_pinning_a_review_adds_it_and_unpinning_removes_it(home: Path) -> None:
    at = open_train()
    before = len([b for b in at.button if b.label == "✕"])
    at.text_input[0].input("a charming little film")
    ok(at.button(key="FormSubmitter:pin_form-📌 Pin").click().run())
    assert "“a charming little film”" in [m.value for m in at.markdown]
    assert len([b for b in at.button if b.label == "✕"]) == before + 1
    assert "a charming little film" in at.session_state["_pins_imdb"]
    again = open_page("pages/train.py", session={"owner": at.session_state["owner"]})  # a reload, or a new tab
    assert "“a charming little film”" in [m.value for m in again.markdown]

    # The same review again is refused with a note.
    at.text_input[0].input("a charming   little film")
    ok(at.button(key="FormSubmitter:pin_form-📌 Pin").click().run())
    assert any("not pinned yet" in w.value for w in at.warning)

    ok(at.button(key="unpin_4_a charming little fi").click().run())
    assert "“a charming little film”" not in [m.value for m in at.markdown]


def test_pinned_review_and_link_values_are_shown_as_text(home: Path) -> None:
    at = open_train(units="![x](https://example.com/x.png)")
    assert any("!\\[x\\](https\\://" in w.value for w in at.warning), "a URL value is quoted as text"
    at.text_input[0].input("**so** good ![x](https://example.com/x.png)")
    ok(at.button(key="FormSubmitter:pin_form-📌 Pin").click().run())
    assert "“\\*\\*so\\*\\* good !\\[x\\](https\\://example.com/x.png)”" in [m.value for m in at.markdown]


# --- a real run --------------------------------------------------------------------------------------------
def test_start_trains_a_tiny_run_and_shows_its_results(home: Path) -> None:
    at = open_train()
    at.number_input(key="hp_limit").set_value(1000)
    at.number_input(key="hp_val_size").set_value(300)
    ok(at.number_input(key="hp_epochs").set_value(2).run())
    assert "1,000 training reviews, 300 for validation, 2 epoch(s) of 2 batches" in texts(at)

    at.text_input[0].input("a film I will watch again")
    ok(at.button(key="FormSubmitter:pin_form-📌 Pin").click().run())

    assert settings_open(at), "no run yet: the settings are what the page is for"
    ok(start_button(at).click().run())
    assert at.session_state["train_run_id"] == 1
    assert not settings_open(at), "a run exists: settings fold away"
    assert any(s.value.startswith("Run #1 · dlwp") for s in at.subheader)

    deadline = time.monotonic() + TRAIN_TIMEOUT
    seen_live = False
    while not any(m.label == "Test accuracy" for m in at.metric):
        assert time.monotonic() < deadline, f"the run did not finish in {TRAIN_TIMEOUT} s:\n{texts(at)}"
        seen_live = seen_live or bool(at.get("progress")) or bool(at.info)
        time.sleep(2)
        ok(at.run())

    page = texts(at)
    assert "Run #1 · dlwp · finished" in page
    accuracy = next(m for m in at.metric if m.label == "Test accuracy").value
    assert accuracy.endswith("%") and 50 <= float(accuracy.rstrip("%")) <= 100
    assert next(m for m in at.metric if m.label == "Epochs").value == "2"
    # the results come first, above the curves, and the settings stay folded away once the run has ended
    assert in_page_order(at)[:4] == ["Test accuracy", "Epochs", "Training time", "Whole time"]
    assert not settings_open(at)

    specs = plotly_specs(at)
    curves = specs[0]
    assert {t["name"] for t in curves["data"]} == {"#1 dlwp · train", "#1 dlwp · validation"}
    assert all(t["x"] == [1, 2] for t in curves["data"]), "one point per epoch on every curve"
    probe_names = {t.get("name") for spec in specs for t in spec["data"]}
    assert "a film I will watch again" in probe_names, "the pinned review is scored after each epoch"
    heatmaps = [t for spec in specs for t in spec["data"] if t.get("type") == "heatmap"]
    assert len(heatmaps) == 1, "the test confusion matrix"
    assert sum(sum(row) for row in heatmaps[0]["z"]) == 25_000

    assert "Where it goes wrong" in page
    mistakes = [e for e in at.expander if e.label.startswith("Test review ")]
    assert len(mistakes) == 8 and all(" actually " in e.label for e in mistakes)
    (score,) = [link for link in at.page_link if link.label == "Score your own review with this model"]
    assert score.proto.query_string == "run=1", "the link opens this run, not the newest on the server"
    assert not [b for b in at.button if b.label == START], "the folded panel is not built"
    open_settings(at)
    assert value(at, "epochs") == 2 and value(at, "limit") == 1000, "the values outlive the views that fold them"
    assert not start_button(at).disabled, "a finished run frees the Start button"


def _stop_and_wait(at: AppTest, run_id: int) -> None:
    """Press the run's Stop and rerun until the page shows it stopped (within a batch)."""
    ok(at.button(key=f"stop_{run_id}").click().run())
    deadline = time.monotonic() + TRAIN_TIMEOUT
    while not any(s.value.startswith(f"Run #{run_id} · dlwp · stopped") for s in at.subheader):
        assert time.monotonic() < deadline, texts(at)
        time.sleep(1)
        ok(at.run())


def test_a_student_queues_another_run_while_one_trains_up_to_the_class_limit(home: Path) -> None:
    at = open_train(preset="dlwp", limit="3000", val_size="300", epochs="40", batch_size="16")
    ok(start_button(at).click().run())
    first_id = at.session_state["train_run_id"]
    open_settings(at)
    assert not start_button(at).disabled and f"Run #{first_id} keeps going" in start_button(at).help
    ok(at.number_input(key="hp_epochs").set_value(1).run())
    ok(start_button(at).click().run())
    second_id = at.session_state["train_run_id"]
    assert second_id != first_id and any("number 1 in the queue" in i.value for i in at.info), texts(at)
    open_settings(at)
    ok(start_button(at).click().run())
    assert any("have 1 run waiting for the trainer" in e.value for e in at.error), texts(at)
    assert at.session_state["train_run_id"] == second_id, "a refused run leaves the page on the queued one"
    ok(at.button(key=f"stop_{second_id}").click().run())  # its owner cancels the queued one
    at.session_state["train_run_id"] = first_id
    ok(at.run())
    _stop_and_wait(at, first_id)


def test_each_browser_session_sees_and_stops_only_its_own_run_and_waits_its_turn(home: Path) -> None:
    first = open_train(preset="dlwp", limit="3000", val_size="300", epochs="40", batch_size="16")
    ok(start_button(first).click().run())
    first_id = first.session_state["train_run_id"]
    assert any(s.value.startswith(f"Run #{first_id} · dlwp") for s in first.subheader)

    # Another browser session (its own owner token) sees none of that run and can queue its own.
    second = open_train(preset="dlwp", limit="500", val_size="300", epochs="1")
    assert not any(s.value.startswith("Run #") for s in second.subheader), "another session's run is not shown"
    assert not start_button(second).disabled
    ok(start_button(second).click().run())
    second_id = second.session_state["train_run_id"]
    assert second_id != first_id
    assert any("number 1 in the queue. Ahead of it: 0 waiting and 1 training (from 1 person)" in i.value
               for i in second.info), texts(second)
    assert not second.get("plotly_chart"), "no empty axes while the run waits in the queue"
    assert not any(b.key == f"stop_{first_id}" for b in second.button), "no Stop for someone else's run"

    # Cancelling the queued run leaves the first one training; its owner stops it within a batch.
    ok(second.button(key=f"stop_{second_id}").click().run())
    ok(first.run())
    assert any(s.value.startswith(f"Run #{first_id} · dlwp · running") for s in first.subheader), texts(first)
    _stop_and_wait(first, first_id)
    ok(second.run())
    assert any(s.value.startswith(f"Run #{second_id} · dlwp · stopped") for s in second.subheader), texts(second)


def test_stop_mid_epoch_says_what_it_does_and_draws_only_whole_epochs(home: Path) -> None:
    from pages import ui

    at = open_train(preset="dlwp", limit="3000", val_size="300", epochs="40", batch_size="16")
    ok(start_button(at).click().run())
    run_id = at.session_state["train_run_id"]
    run = ui.runner().get(run_id)
    deadline = time.monotonic() + TRAIN_TIMEOUT
    while not ((s := run.snapshot().live).epoch >= 1 and 3 <= s.batch < s.batches - 20):  # well inside epoch 2 or later
        assert time.monotonic() < deadline, s
        time.sleep(0.005)
    ok(at.run())
    ok(at.button(key=f"stop_{run_id}").click().run())
    said = texts(at) + " ".join(str(p.proto.text) for p in at.get("progress"))
    assert "Stopping after the current batch (an epoch cut short is not counted)" in said
    assert any(part in said for part in ("stopping after batch", "Stopped; testing the model as it is", "stopped")), said
    _stop_and_wait(at, run_id)
    snap = run.snapshot()
    assert f"during epoch {len(snap.history) + 1}, after {snap.live.batch} of {snap.live.batches}" in texts(at)
    (curves, *_) = plotly_specs(at)
    assert all(t["x"] == list(range(1, len(snap.history) + 1)) for t in curves["data"]), "only whole epochs drawn"
    assert curves["layout"]["xaxis"]["range"] == [0.5, len(snap.history) + 0.5], "the axis ends at its last epoch, not 40"


def test_a_link_value_out_of_range_keeps_its_warning_for_a_visitor_with_a_finished_run(home: Path) -> None:
    from pages import ui

    from core import hparams

    tiny = hparams.make("dlwp", limit=200, val_size=100, epochs=1)
    assert ui._runner(str(home)).submit(tiny, owner="tests", probes=()).wait(timeout=TRAIN_TIMEOUT).status == "finished"
    at = open_page("pages/train.py", session={"owner": "tests"}, preset="dlwp", epochs="1000")
    assert any(s.value.startswith("Run #1 · dlwp · finished") for s in at.subheader), texts(at)
    assert any("epochs=1000 is out of range" in w.value for w in at.warning), "not wiped by a rerun"
    assert settings_open(at), "a link's settings open the panel, even under a finished run"


def test_a_run_whose_data_set_was_removed_shows_no_error(home: Path, tmp_path: Path) -> None:
    import csv

    from core import hparams
    from core.data import datasets
    from conftest import DATA_DIR
    from pages import ui

    rows = list(csv.reader((DATA_DIR / "text" / "Tweets.csv").open(encoding="utf-8", newline="")))
    with (tmp_path / "reddit.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows[:401])
    datasets.add(tmp_path / "reddit.csv", "reddit")
    snap = ui._runner(str(home)).submit(hparams.make("dlwp", dataset="reddit", epochs=1), owner="tests")\
        .wait(timeout=TRAIN_TIMEOUT)
    assert snap.status == "finished", snap.error
    datasets.remove("reddit")  # the teacher, as from the command line
    at = open_page("pages/train.py", session={"owner": "tests"})
    assert any(s.value.startswith(f"Run #{snap.id} · dlwp · finished") for s in at.subheader), texts(at)
    assert not at.error, [e.value for e in at.error]
    assert "data set are not available here" in texts(at)

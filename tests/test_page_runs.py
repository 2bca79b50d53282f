"""The Runs page in Streamlit's AppTest, over real runs: two copies of the session's tiny `dlwp` run trained through
the real Runner, plus a failed run recorded through the store the way the runner records one. Each test works on its
own copy of that lab home, so renaming and deleting in one test never shows in another."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from streamlit.testing.v1 import AppTest  # noqa: E402

from conftest import clone_run  # noqa: E402
from pagetest import copy_home, ok, open_page  # noqa: E402

from core import bundle, hparams  # noqa: E402
from core.store import RunStore  # noqa: E402

FAILED_MESSAGE = "ResourceExhaustedError: out of memory while allocating the batch"


@pytest.fixture(scope="module")
def template_home(tmp_path_factory: pytest.TempPathFactory, lab_home: Path, trained_run) -> Path:
    """A lab home with two finished tiny runs (copies of the session's `trained_run`) and one failed run."""
    home = tmp_path_factory.mktemp("runs-page-template")
    store = RunStore(home)
    for _ in range(2):
        clone_run(lab_home, trained_run.id, store, owner="tests")
    failed = store.create("mslearn", hparams.make("mslearn", epochs=5).to_dict(), owner="tests")
    store.set_model_dir(failed, store.runs_dir / str(failed))
    store.mark_running(failed)
    store.add_epoch(failed, {"epoch": 1, "loss": 0.69, "accuracy": 0.52, "val_loss": 0.68, "val_accuracy": 0.55,
                             "seconds": 1.0})
    store.finish(failed, "failed", error=FAILED_MESSAGE)
    return home


@pytest.fixture()
def home(template_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own copy of the template lab home, set as SENTIMENT_LAB_HOME."""
    return copy_home(template_home, tmp_path, monkeypatch)


def open_runs() -> AppTest:
    """The Runs page in the browser that made the tests' runs (owner "tests"), which may change them."""
    return open_page("pages/runs.py", timeout=60, session={"owner": "tests"})


def pick(at: AppTest, *run_ids: int) -> AppTest:
    at.multiselect(key="runs_pick").set_value(list(run_ids)).run()
    assert not at.exception, at.exception
    return at


def open_curves(at: AppTest) -> AppTest:
    """Open the learning curves' expander, as a click on it does (they are drawn only while it is open)."""
    at.session_state["runs_curves_open"] = True
    return ok(at.run())


def table_ids(at: AppTest) -> list[int]:
    assert len(at.dataframe) == 1
    return [int(i) for i in at.dataframe[0].value["Run"]]


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def test_table_lists_every_run_with_status_scores_and_settings(home: Path) -> None:
    store = RunStore(home)
    records = store.list()
    at = open_runs()
    assert table_ids(at) == [r.id for r in records]  # newest first
    table = at.dataframe[0].value
    assert {"Preset", "Status", "Best val. acc.", "Test acc.", "Batch", "Learning rate", "Duration (s)",
            "Date"} <= set(table.columns)
    finished = [r for r in records if r.status == "finished"]
    row = table[table["Run"] == finished[0].id].iloc[0]
    assert row["Test acc."] == pytest.approx(100 * finished[0].test_accuracy, abs=0.05)  # shown in percent, one decimal
    assert row["Batch"] == 512 and row["Epochs"] == "2 of 2"
    assert "words 10,000" in row["Model settings"] and "layers 2" in row["Model settings"]
    assert "failed" in table[table["Run"] == records[0].id].iloc[0]["Status"]


def test_filters_and_sort(home: Path) -> None:
    records = RunStore(home).list()
    at = open_runs()
    at.multiselect(key="runs_f_status").set_value(["failed"]).run()
    assert table_ids(at) == [r.id for r in records if r.status == "failed"]
    at.multiselect(key="runs_f_status").set_value([]).run()
    at.multiselect(key="runs_f_preset").set_value(["dlwp"]).run()
    assert sorted(table_ids(at)) == sorted(r.id for r in records if r.preset == "dlwp")
    at.selectbox(key="runs_f_sort").set_value("Oldest first").run()
    assert table_ids(at) == sorted(r.id for r in records if r.preset == "dlwp")
    at.text_input(key="runs_f_text").input("no run is called this").run()
    assert not at.dataframe and "match these filters" in texts(at)
    assert not at.exception


def test_picking_runs_overlays_their_curves(home: Path) -> None:
    finished = [r for r in RunStore(home).list() if r.status == "finished"]
    at = open_runs()
    pick(at, *(r.id for r in finished))
    assert not at.get("plotly_chart"), "drawn only when asked: Plotly is the page's heaviest part for a browser"
    assert len(open_curves(at).get("plotly_chart")) == 1
    assert len(at.tabs) == 2  # one details tab per picked run
    buttons = at.get("download_button")
    assert len(buttons) == 6  # model, model for plain Keras, and history of each
    raw = [b for b in buttons if "plain Keras" in b.proto.label]
    assert len(raw) == 2 and all("raw text" in b.proto.label for b in raw)
    at.switch_page("pages/home.py").run()  # opened once, the curves are drawn on the next visit too
    assert len(ok(at.switch_page("pages/runs.py").run()).get("plotly_chart")) == 1


def test_rename_and_note_are_stored(home: Path) -> None:
    store = RunStore(home)
    run_id = next(r.id for r in store.list() if r.status == "finished")
    at = pick(open_runs(), run_id)
    at.text_input(key=f"runs_name_{run_id}").input("small and quick")
    at.text_area(key=f"runs_note_{run_id}").input("2 epochs on 1,000 reviews")
    next(b for b in at.button if b.label.startswith("💾")).click().run()
    assert not at.exception, at.exception
    record = store.get(run_id)
    assert record.name == "small and quick"
    assert record.note == "2 epochs on 1,000 reviews"
    assert "Saved the name and note" in texts(at)
    assert "small and quick" in at.dataframe[0].value["Name"].tolist()
    at.text_input(key="runs_f_text").input("1,000 reviews").run()  # the search looks in notes too
    assert table_ids(at) == [run_id]


def test_delete_asks_for_confirmation_then_removes_record_and_folder(home: Path) -> None:
    store = RunStore(home)
    record = next(r for r in store.list() if r.status == "finished")
    folder = Path(record.model_dir)
    assert (folder / bundle.MODEL).is_file()
    at = pick(open_runs(), record.id)
    at.button(key=f"runs_del_{record.id}").click().run()
    assert not at.exception, at.exception
    assert "for good?" in texts(at)
    assert store.get(record.id).id == record.id and folder.is_dir()  # nothing deleted yet

    at.button(key=f"runs_del_no_{record.id}").click().run()  # cancel keeps it
    assert "for good?" not in texts(at) and folder.is_dir()

    at.button(key=f"runs_del_{record.id}").click().run()
    at.button(key=f"runs_del_yes_{record.id}").click().run()
    assert not at.exception, at.exception
    assert record.id not in [r.id for r in store.list()]
    assert not folder.exists()
    assert f"Deleted run #{record.id}" in texts(at)
    assert record.id not in table_ids(at)
    assert record.id not in at.multiselect(key="runs_pick").value


def test_failed_run_shows_its_message_and_finished_epochs(home: Path) -> None:
    failed = next(r for r in RunStore(home).list() if r.status == "failed")
    at = pick(open_runs(), failed.id)
    errors = " ".join(e.value for e in at.error)
    assert FAILED_MESSAGE in errors and "1 of 5 epochs" in errors
    assert "No model was saved" in texts(at)
    assert len(open_curves(at).get("plotly_chart")) == 1  # its one finished epoch is drawn
    assert not at.exception


def test_missing_model_file_gives_a_clear_message_and_keeps_the_record(home: Path) -> None:
    store = RunStore(home)
    record = next(r for r in store.list() if r.status == "finished")
    (Path(record.model_dir) / bundle.MODEL).unlink()
    at = pick(open_runs(), record.id)
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert f"model file model.keras of run #{record.id} is missing" in warnings
    assert str(home) not in texts(at), "server paths are not shown to visitors"
    assert record.id in table_ids(at) and store.get(record.id).status == "finished"
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["⬇ History (.csv)"]  # the history can still be downloaded, the model cannot


def test_corrupt_model_file_gives_a_clear_message(home: Path) -> None:
    store = RunStore(home)
    record = next(r for r in store.list() if r.status == "finished")
    (Path(record.model_dir) / bundle.MODEL).write_bytes(b"not a keras archive")
    at = pick(open_runs(), record.id)
    assert not at.exception, at.exception
    assert "corrupt" in " ".join(w.value for w in at.warning)
    assert str(home) not in texts(at), "server paths are not shown to visitors"


def test_running_run_shows_as_running(home: Path) -> None:
    store = RunStore(home)
    run_id = store.create("dlwp", hparams.make("dlwp").to_dict(), owner="tests")  # this process: alive
    store.mark_running(run_id)
    at = open_runs()
    table = at.dataframe[0].value
    assert "running" in table[table["Run"] == run_id].iloc[0]["Status"]
    pick(at, run_id)
    assert "Still training: 0 of 4 epochs finished so far. This page updates as epochs finish." in texts(at)
    assert not [b for b in at.button if b.key == f"runs_del_{run_id}"], "no Delete while it trains"
    assert at.button(key=f"runs_stop_{run_id}").label == "⏹ Stop this run"


def test_empty_store_shows_a_friendly_message_with_a_link_to_train(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "empty-lab"))
    at = open_runs()
    assert "No runs yet" in " ".join(i.value for i in at.info)
    links = at.get("page_link")
    assert any("train" in link.proto.page.lower() for link in links)
    assert not at.dataframe and not at.exception


def test_export_history_csv_and_sorting(template_home: Path) -> None:
    """The Streamlit-free helpers behind the page: CSV download, sort orders with missing values last."""
    import csv
    import io

    from core import export

    records = RunStore(template_home).list(with_history=True)
    finished = next(r for r in records if r.status == "finished")
    rows = list(csv.DictReader(io.StringIO(export.history_csv(finished.history).decode())))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[-1]["val_accuracy"]) == pytest.approx(finished.history[-1]["val_accuracy"])
    by_test = export.sort_runs(records, "Test accuracy")
    assert by_test[-1].status == "failed"  # no test accuracy: last
    assert [r.id for r in export.sort_runs(records, "Oldest first")] == sorted(r.id for r in records)
    assert export.filter_runs(records, text=f"#{finished.id} dlwp") == [finished]
    assert export.model_file(finished).ok


def test_run_link_picks_that_run_and_the_address_follows_the_pick(home: Path) -> None:
    records = RunStore(home).list()
    oldest = min(r.id for r in records)
    at = open_page("pages/runs.py", timeout=60, run=str(oldest))
    assert at.multiselect(key="runs_pick").value[0] == oldest, "the linked run is in focus"
    assert not [w for w in at.warning if w.icon != "⚖️"], "no warning but the baseline's (a tiny run is worse)"
    finished = [r.id for r in records if r.status == "finished"]
    pick(at, finished[0])
    assert at.query_params["run"] == str(finished[0])
    at = open_page("pages/runs.py", timeout=60, run="12345")
    assert any("run #12345, which is not on this server" in w.value for w in at.warning)


EVIL_NAME = '<a href="https://example.com/">click</a> **bold**'
EVIL_NOTE = "![pixel](https://example.com/p.png) :red[red] $x^2$ [link](https://example.com/)"


def test_names_and_notes_are_shown_as_text_not_markup(home: Path) -> None:
    """A name or note is text for every viewer: no fetched image, no link, no colour, no LaTeX, no bold."""
    store = RunStore(home)
    run_id = next(r.id for r in store.list() if r.status == "finished")
    store.update_text(run_id, name=EVIL_NAME, note=EVIL_NOTE)
    at = pick(open_runs(), run_id)
    (tab,) = at.tabs
    assert tab.label.startswith(f"\\#{run_id} · dlwp · ") and "bold" not in tab.label, "named by what never changes"
    note = next(m.value for m in at.markdown if m.value.startswith("📝"))
    assert "!\\[pixel\\](https\\://" in note and ":red\\[red\\]" in note and "\\$x^2\\$" in note
    open_curves(at)
    names = [t.get("name", "") for chart in at.get("plotly_chart") for t in json.loads(chart.proto.spec)["data"]]
    assert any("&lt;a href" in n for n in names) and not any("<a" in n for n in names)
    hovers = [t.get("hovertemplate", "") for chart in at.get("plotly_chart")
              for t in json.loads(chart.proto.spec)["data"]]
    assert not any("click" in h for h in hovers), "hover text reads the escaped trace name, never the raw label"

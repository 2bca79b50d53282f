"""The one run model (core/run_record.py): every field travels to a dict and back (the trainer wire's JSON), values
of the wrong type read as unknown, and a run recorded in the store's on-disk shape from before the record moved
reads back whole."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from pathlib import Path

from core import hparams
from core.baseline import Baseline
from core.run_record import Live, RunRecord, overlay
from core.store import RunStore

FIGURES = Baseline(majority_accuracy=0.5, majority_class=1, tfidf_accuracy=0.86, train_size=800, test_size=200,
                   features=5000, c=1.0, seconds=1.5)


def _live_record() -> RunRecord:
    hp = hparams.make("dlwp", epochs=3)
    live = Live(hp, phase="training", epoch=1, batch=4, batches=9, probes=("a fine film",),
                probe_scores=((0.7,),), queue_position=None, stop_requested=True, phase_seconds={"preparing": 1.25},
                phase_started_at=12.5)
    return RunRecord(id=7, preset="dlwp", config=hp.to_dict(), status="running", name="try", note="n", owner="tok",
                     created_at=1.0, started_at=2.0, finished_at=None, train_seconds=None, test_accuracy=0.81,
                     test_loss=0.4, model_dir="/x/runs/7", error=None,
                     history=({"epoch": 1, "loss": 0.5, "val_accuracy": 0.8},), dataset="imdb",
                     dataset_fingerprint="abc123", owner_name="Ada", assignment="task", baseline=FIGURES, live=live)


def test_every_field_travels_as_json_and_back():
    record = _live_record()
    values = json.loads(json.dumps(record.to_dict()))
    assert set(values) == {f.name for f in fields(RunRecord)}
    assert set(values["live"]) == {f.name for f in fields(Live)}
    assert RunRecord.from_dict(values) == record


def test_values_of_the_wrong_type_read_as_unknown():
    record = RunRecord.from_dict({"id": 3, "preset": "dlwp", "config": "{not json", "status": "finished",
                                  "created_at": "yesterday", "started_at": "x", "train_seconds": True,
                                  "test_accuracy": "abc", "test_loss": float("nan"), "owner": 42, "dataset": None,
                                  "history": [{"epoch": 1}, "junk"], "baseline": {"version": -1},
                                  "live": {"phase": "training"}})  # live state without settings: none
    assert (record.created_at, record.started_at, record.train_seconds) == (0.0, None, None)
    assert (record.test_accuracy, record.test_loss, record.baseline, record.live) == (None, None, None, None)
    assert (record.config, record.dataset, record.owner) == ({"preset": "dlwp"}, "imdb", "42")
    assert record.history == ({"epoch": 1},)
    assert RunRecord.from_dict({"id": 3, "test_accuracy": 7}).test_accuracy is None  # a share is 0..1


def test_overlay_takes_the_live_state_and_the_newer_epochs():
    live = _live_record()
    stored = RunRecord(id=7, preset="dlwp", status="queued", history=(), test_accuracy=None)
    merged = overlay(stored, live)
    assert (merged.status, merged.history, merged.live, merged.baseline) == ("running", live.history, live.live,
                                                                               FIGURES)
    assert merged.name == "" and overlay(stored, None) is stored  # the rest is the store's


def test_a_run_recorded_in_the_earlier_on_disk_shape_reads_back_whole(tmp_path: Path):
    """A row exactly as the store wrote it before the run model had a module of its own (every column, the
    private ones included, and a relative model folder), with its epochs."""
    home = tmp_path / "lab"
    RunStore(home)  # the schema
    hp = hparams.make("dlwp", epochs=2)
    with sqlite3.connect(home / "runs.sqlite3") as db:
        db.execute("INSERT INTO runs (id, name, note, preset, config, status, owner, pid, host, created_at,"
                   " started_at, finished_at, train_seconds, test_accuracy, test_loss, model_dir, error, dataset,"
                   " dataset_fingerprint, process, heartbeat_at, owner_name, assignment, baseline) VALUES"
                   " (4, 'kept', 'a note', 'dlwp', ?, 'finished', 'tok', 99, 'host', 10.0, 11.0, 20.0, 9.0, 0.84,"
                   " 0.37, 'runs/4', NULL, 'imdb', 'fp', 'boot:1', 19.0, 'Ada', NULL, ?)",
                   (json.dumps(hp.to_dict()), json.dumps(FIGURES.to_dict())))
        db.execute("INSERT INTO epochs (run_id, epoch, loss, accuracy, val_loss, val_accuracy, seconds, probes)"
                   " VALUES (4, 1, 0.5, 0.8, 0.45, 0.82, 3.0, '[0.9, 0.1]')")
    record = RunStore(home).get(4)
    assert record == RunRecord(
        id=4, preset="dlwp", config=hp.to_dict(), status="finished", name="kept", note="a note", owner="tok",
        created_at=10.0, started_at=11.0, finished_at=20.0, train_seconds=9.0, test_accuracy=0.84, test_loss=0.37,
        model_dir=str(home / "runs" / "4"), error=None, dataset="imdb", dataset_fingerprint="fp", owner_name="Ada",
        assignment=None, baseline=FIGURES,
        history=({"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.45, "val_accuracy": 0.82, "seconds": 3.0,
                  "probes": [0.9, 0.1]},))
    assert (record.title, record.best_val_accuracy, record.duration) == ("kept", 0.82, 9.0)

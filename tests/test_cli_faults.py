"""Faults and bad input against `python -m core` (issue 9): one `error:` line and exit 2, never a traceback, nothing
of the user's destroyed, and a bad command refused before TensorFlow is even imported."""
from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core import bundle
from pagetest import recorded_runs
from test_cli import assert_one_line_error, core_cli, json_lines

REPO = Path(__file__).resolve().parents[1]
# Runs a CLI command in-process, then says whether TensorFlow was imported on the way.
PROBE = ("import sys; from core.cli import main; rc = main(sys.argv[1:]); "
         "print('tensorflow loaded:', 'tensorflow' in sys.modules); sys.exit(rc)")


def probe_cli(*args: str, env: dict[str, str], **env_overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=REPO,
                          env={**env, **env_overrides}, timeout=120)


def refused_before_tensorflow(proc: subprocess.CompletedProcess, *words: str) -> str:
    line = assert_one_line_error(proc, *words)
    assert proc.stderr.strip() == line, "nothing but the error line on stderr"
    assert "tensorflow loaded: False" in proc.stdout, proc.stdout
    return line


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "lab"


# --- the run database and the lab folder ------------------------------------------------------------------------------
def test_a_huge_run_id(cli_env, home):
    proc = core_cli("runs", "show", "1180591620717411303424", env=cli_env, SENTIMENT_LAB_HOME=str(home))
    assert_one_line_error(proc, "no run #1180591620717411303424")


@pytest.mark.parametrize("damage, words", [
    (lambda p: p.write_bytes(os.urandom(p.stat().st_size)), "not a SQLite database"),
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "cut off"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.unlink(), "missing"),
], ids=["garbage", "cut in half", "emptied", "deleted"])
def test_a_broken_database(cli_env, home, damage, words):
    path = recorded_runs(home, 2)
    damage(path)
    before = path.read_bytes() if path.exists() else None
    for args in (["runs"], ["runs", "show", "1"], ["train", "--preset", "dlwp", "--epochs", "1", "--limit", "100",
                                                    "--val-size", "100"]):
        proc = probe_cli(*args, env=cli_env, SENTIMENT_LAB_HOME=str(home))
        refused_before_tensorflow(proc, str(path), words, "runs rebuild")
    assert (path.read_bytes() if path.exists() else None) == before, "the broken file is left as it was"
    assert sorted(p.name for p in (home / "runs").iterdir()) == ["1", "2"], "no run folder was touched or added"


def test_runs_rebuild_restores_the_index(cli_env, home):
    path = recorded_runs(home, 2)
    path.write_bytes(b"")
    proc = core_cli("runs", "rebuild", env=cli_env, SENTIMENT_LAB_HOME=str(home))
    assert proc.returncode == 0, proc.stderr
    (summary,) = json_lines(proc.stdout)
    assert summary["runs_added"] == [1, 2] and summary["runs"] == 2
    assert Path(summary["broken_file_moved_to"]).read_bytes() == b""
    proc = core_cli("runs", env=cli_env, SENTIMENT_LAB_HOME=str(home))
    assert sorted(r["id"] for r in json_lines(proc.stdout)) == [1, 2]


def test_lab_home_under_a_regular_file(cli_env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep")
    proc = probe_cli("runs", env=cli_env, SENTIMENT_LAB_HOME=str(blocker / "lab"))
    refused_before_tensorflow(proc, "SENTIMENT_LAB_HOME", str(blocker / "lab"))
    assert blocker.read_text() == "keep"


def test_lab_home_on_a_read_only_file_system(cli_env):
    readonly = Path("/sys")  # read-only in containers, even for root
    if os.access(readonly, os.W_OK) and not (readonly / "runs.sqlite3").exists():
        try:
            (readonly / "runs.sqlite3").touch()
        except OSError:
            pass
        else:
            pytest.skip("/sys is writable here")
    proc = probe_cli("runs", env=cli_env, SENTIMENT_LAB_HOME=str(readonly))
    refused_before_tensorflow(proc, "SENTIMENT_LAB_HOME", "writable")
    sentences = Path(cli_env["IMDB_DATA_DIR"]) / "text" / "amazon_cells_labelled.txt"
    proc = core_cli("datasets", "add", str(sentences), env=cli_env, SENTIMENT_LAB_HOME=str(readonly))
    assert_one_line_error(proc, "could not be stored", "not writable", "SENTIMENT_LAB_HOME")


# --- --out ----------------------------------------------------------------------------------------------------------
TRAIN = ("train", "--preset", "dlwp", "--epochs", "1", "--limit", "200", "--val-size", "100")


def test_out_under_a_regular_file_is_refused_before_training(cli_env, home, tmp_path):
    """Before: the whole training ran, then saving failed."""
    blocker = tmp_path / "a-file"
    blocker.write_text("keep")
    proc = probe_cli(*TRAIN, "--out", str(blocker / "run"), env=cli_env, SENTIMENT_LAB_HOME=str(home))
    refused_before_tensorflow(proc, str(blocker), "is a file")


def test_out_into_a_folder_with_other_files_is_refused(cli_env, home, tmp_path):
    """Before: the run wrote into the folder, and deleting the run deleted the folder and everything in it."""
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("my work")
    proc = probe_cli(*TRAIN, "--out", str(thesis), env=cli_env, SENTIMENT_LAB_HOME=str(home))
    refused_before_tensorflow(proc, str(thesis), "not empty", "chapter1.tex")
    assert [p.name for p in thesis.iterdir()] == ["chapter1.tex"]


def test_out_into_another_runs_folder_is_refused(cli_env, home):
    """Before: the second run silently replaced the first run's model."""
    from core.store import RunStore

    store = RunStore(home)
    folder = store.claim_folder(store.create("dlwp", {"preset": "dlwp"}))
    proc = probe_cli(*TRAIN, "--out", str(folder), env=cli_env, SENTIMENT_LAB_HOME=str(home))
    refused_before_tensorflow(proc, "already the folder of run #1")


# --- settings that can be refused at once ---------------------------------------------------------------------------
def test_a_configuration_too_large_for_the_server_is_refused_before_tensorflow(cli_env, home):
    proc = probe_cli("train", "--preset", "mslearn", "--maxlen", "2500", "--embedding-dim", "512", "--units", "1024",
                     env=cli_env, SENTIMENT_LAB_HOME=str(home), SENTIMENT_LAB_MAX_TRAINING_GB="4")
    line = refused_before_tensorflow(proc, "SENTIMENT_LAB_MAX_TRAINING_GB", "lower")
    assert "maxlen" in line and "units" in line


def test_a_bad_memory_limit_setting(cli_env, home):
    proc = probe_cli(*TRAIN, env=cli_env, SENTIMENT_LAB_HOME=str(home), SENTIMENT_LAB_MAX_TRAINING_GB="lots")
    refused_before_tensorflow(proc, "SENTIMENT_LAB_MAX_TRAINING_GB", "'lots'")


def test_a_bad_priority_setting_is_refused_before_training(cli_env, home):
    proc = probe_cli(*TRAIN, env=cli_env, SENTIMENT_LAB_HOME=str(home), SENTIMENT_LAB_TRAINING_NICE="-5")
    refused_before_tensorflow(proc, "SENTIMENT_LAB_TRAINING_NICE", "'-5'")


def test_an_out_of_range_value_answers_without_tensorflow(cli_env, home):
    refused_before_tensorflow(probe_cli("train", "--preset", "dlwp", "--epochs", "0", env=cli_env,
                                        SENTIMENT_LAB_HOME=str(home)), "epochs=0")


# --- data files -------------------------------------------------------------------------------------------------------
def _object_array(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _npz_member(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def _data_dir(folder: Path, data_dir: Path, x_train=None, raw_x_train: bytes | None = None,
              word_index: dict | None = None) -> Path:
    """A data folder with a small imdb.npz of the right names; x_train as given (array, or raw .npy bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    reviews = _object_array([[1, 14, 22], [1, 5, 9, 7]])
    labels = np.array([0, 1])
    members = {"x_train": _npz_member(x_train if x_train is not None else reviews), "y_train": _npz_member(labels),
               "x_test": _npz_member(reviews), "y_test": _npz_member(labels)}
    if raw_x_train is not None:
        members["x_train"] = raw_x_train
    with zipfile.ZipFile(folder / "imdb.npz", "w") as archive:
        for name, payload in members.items():
            archive.writestr(name + ".npy", payload)
    if word_index is None:
        (folder / "imdb_word_index.json").symlink_to(data_dir / "imdb_word_index.json")
    else:
        (folder / "imdb_word_index.json").write_text(json.dumps(word_index))
    return folder


@pytest.mark.parametrize("x_train, words", [
    (_object_array([["good", "film"], ["bad"]]), "must hold one list of integer word ranks"),
    (np.array(["good film", "bad"]), "must hold one list of integer word ranks"),
    (np.array([3, 4]), "must hold one list of integer word ranks"),
    (_object_array([[1, -7], [3]]), "negative ranks"),
], ids=["lists of strings", "strings", "plain integers", "negative ranks"])
def test_an_npz_with_the_right_names_but_not_reviews_inside(cli_env, data_dir, tmp_path, x_train, words):
    folder = _data_dir(tmp_path / "data", data_dir, x_train=x_train)
    proc = core_cli("info", env=cli_env, IMDB_DATA_DIR=str(folder))
    assert_one_line_error(proc, "imdb.npz", "x_train", words)


def test_a_word_index_with_ranks_that_are_not_integers(cli_env, data_dir, tmp_path):
    folder = _data_dir(tmp_path / "data", data_dir, word_index={"the": 1, "film": "two"})
    proc = core_cli("info", env=cli_env, IMDB_DATA_DIR=str(folder))
    assert_one_line_error(proc, "imdb_word_index.json", "whole numbers", "'film'")


class _Payload:
    """A pickle that, when loaded, creates a file: what a crafted data file could do with allow_pickle=True."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_npz_never_runs_its_code(cli_env, data_dir, tmp_path):
    """Before: `python -m core info` unpickled imdb.npz with allow_pickle=True and ran the payload."""
    marker = tmp_path / "pwned"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(_object_array([[1]])))
    folder = _data_dir(tmp_path / "data", data_dir, raw_x_train=b"\x93NUMPY\x01\x00" + header.getvalue()[8:]
                       + pickle.dumps(_object_array([_Payload(marker)]), protocol=3))
    # the file really is a live payload: numpy's own loader with allow_pickle=True runs it
    proc = core_cli("info", env=cli_env, IMDB_DATA_DIR=str(folder))
    line = assert_one_line_error(proc, "imdb.npz", "refused", "system")
    assert not marker.exists(), line
    with np.load(folder / "imdb.npz", allow_pickle=True) as f:
        f["x_train"]
    assert marker.exists(), "the crafted file did not carry a payload, so the test proved nothing"


# --- run folders ------------------------------------------------------------------------------------------------------
def test_a_featurizer_that_does_not_match_its_model(cli_env, trained_run, tmp_path):
    broken = tmp_path / "edited-run"
    shutil.copytree(trained_run.model_dir, broken)
    state = json.loads((broken / bundle.FEATURIZER).read_text())
    state["num_words"] = state["num_words"] // 2
    (broken / bundle.FEATURIZER).write_text(json.dumps(state))
    proc = core_cli("predict", "--model", str(broken), "a good film", env=cli_env)
    assert_one_line_error(proc, "featurizer.json", "does not match", "model.keras")


def test_a_missing_model_folder_answers_without_tensorflow(cli_env, tmp_path):
    refused_before_tensorflow(probe_cli("predict", "--model", str(tmp_path / "nowhere"), "good film", env=cli_env),
                              "No saved model")


def test_runs_rebuild_skips_and_reports_tampered_folders_and_indexes_the_rest(cli_env, tmp_path):
    from core.store import RunStore
    from test_store import _fake_bundle

    home = tmp_path / "lab"
    store = RunStore(home)
    folders = {}
    for _ in range(4):
        run_id = store.create("dlwp", {"preset": "dlwp", "epochs": 2}, owner="tests")
        folders[run_id] = store.claim_folder(run_id)
        _fake_bundle(folders[run_id])
        store.finish(run_id, "finished", train_seconds=1.5, test_accuracy=0.8, test_loss=0.4)
    first, second, third, fourth = folders
    marker = folders[first] / bundle.MARKER
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "test_accuracy": "abc"}))  # text for a number
    (folders[second] / bundle.MARKER).write_text("{bad json")
    (folders[second] / bundle.CONFIG).write_text("{bad json")
    marker = folders[fourth] / bundle.MARKER
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "created_at": [1, 2]}))
    store.path.unlink()

    proc = core_cli("runs", "rebuild", env=cli_env, SENTIMENT_LAB_HOME=str(home))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    (out,) = json_lines(proc.stdout)
    assert out["runs_added"] == [third] and out["runs"] == 1
    skipped = {Path(s["folder"]).name: s["why"] for s in out["folders_skipped"]}
    assert skipped == {str(first): "its marker's test_accuracy is 'abc', not a number",
                       str(second): f"its marker {bundle.MARKER} is not readable JSON",
                       str(fourth): "its marker's created_at is '[1, 2]', not a number"}
    assert f"skipped {folders[first]}: its marker's test_accuracy is 'abc'" in proc.stderr
    listed = json_lines(core_cli("runs", env=cli_env, SENTIMENT_LAB_HOME=str(home)).stdout)
    assert [r["id"] for r in listed] == [third] and listed[0]["test_accuracy"] == 0.8

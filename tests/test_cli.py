"""`python -m core` as a user runs it: JSON lines on stdout, and one plain error line on stderr for bad input."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core import bundle

POSITIVE = "a wonderful, moving, brilliant film"
NEGATIVE = "boring, awful, waste of time"


def core_cli(*args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 300,
             **env_overrides: str) -> subprocess.CompletedProcess:
    run_env = {**env, **env_overrides}
    return subprocess.run([sys.executable, "-m", "core", *args], input=stdin, capture_output=True, text=True,
                          env=run_env, timeout=timeout, cwd=Path(__file__).resolve().parents[1])


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    """Exit status non-zero; stderr has no traceback and ends with a single `error: ...` line naming `words`.

    TensorFlow may print its own start-up notices (absl/cuda) to stderr before ours; they are not ours to judge.
    """
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    ours = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(ours) == 1, proc.stderr
    last = [line for line in proc.stderr.splitlines() if line.strip()][-1]
    assert last == ours[0], proc.stderr
    for word in words:
        assert word in last, last
    return last


# --- good input --------------------------------------------------------------------------------------------------------
def test_info_prints_source_and_counts(cli_env, data_dir):
    proc = core_cli("info", env=cli_env)
    assert proc.returncode == 0, proc.stderr
    (info,) = json_lines(proc.stdout)
    assert info["source"] == "folder"
    assert Path(info["location"]) == data_dir
    assert (info["train_reviews"], info["test_reviews"]) == (25_000, 25_000)
    assert (info["train_positive"], info["test_positive"]) == (12_500, 12_500)
    assert info["words_in_index"] == 88_584


@pytest.fixture(scope="module")
def cli_run(cli_env, tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("cli-run") / "dlwp"
    proc = core_cli("train", "--preset", "dlwp", "--limit", "1500", "--val-size", "500", "--epochs", "2",
                    "--out", str(out), env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return out, json_lines(proc.stdout)


def test_train_prints_each_epoch_then_a_summary(cli_run):
    out, lines = cli_run
    assert len(lines) == 3
    for n, epoch in enumerate(lines[:2], start=1):
        assert epoch["epoch"] == n
        assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(epoch)
    final = lines[2]
    assert final["preset"] == "dlwp" and final["status"] == "finished" and final["epochs"] == 2
    assert 0.5 < final["test_accuracy"] <= 1 and final["test_loss"] > 0 and final["train_seconds"] > 0
    assert set(final["phase_seconds"]) == {"preparing", "training", "evaluating", "saving", "baseline"}
    assert final["majority_accuracy"] == 0.5 and 0.7 < final["baseline_accuracy"] < 1  # on the run's own split
    assert re.fullmatch(r"majority class \((negative|positive)\) 50\.0%, TF-IDF \+ logistic regression \d+\.\d%",
                        final["baseline"]), final["baseline"]
    assert Path(final["model_path"]) == out
    assert (out / bundle.MODEL).is_file()


def test_predict_scores_arguments(cli_run, cli_env):
    out, _ = cli_run
    proc = core_cli("predict", "--model", str(out), POSITIVE, NEGATIVE, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    rows = json_lines(proc.stdout)
    assert [r["text"] for r in rows] == [POSITIVE, NEGATIVE]
    assert all(0 < r["score"] < 1 for r in rows)


def test_predict_reads_lines_from_stdin(cli_run, cli_env):
    out, _ = cli_run
    proc = core_cli("predict", "--model", str(out), env=cli_env, stdin=f"{POSITIVE}\n\n{NEGATIVE}\n")
    assert proc.returncode == 0, proc.stderr
    assert [r["text"] for r in json_lines(proc.stdout)] == [POSITIVE, NEGATIVE]


def test_runs_lists_and_shows_the_trained_run(cli_run, cli_env):
    out, lines = cli_run
    run_id = lines[-1]["run_id"]
    proc = core_cli("runs", env=cli_env)
    assert proc.returncode == 0, proc.stderr
    listed = {r["id"]: r for r in json_lines(proc.stdout)}
    assert listed[run_id]["status"] == "finished" and listed[run_id]["model_dir"] == str(out)
    proc = core_cli("runs", "show", str(run_id), env=cli_env)
    assert proc.returncode == 0, proc.stderr
    (shown,) = json_lines(proc.stdout)
    assert [h["epoch"] for h in shown["history"]] == [1, 2]


# --- bad input: one line on stderr, no traceback, non-zero exit ------------------------------------------------------
def test_missing_data_dir(cli_env, tmp_path):
    proc = core_cli("info", env=cli_env, IMDB_DATA_DIR=str(tmp_path))
    assert_one_line_error(proc, "IMDB_DATA_DIR", "imdb.npz")


@pytest.fixture
def corrupt_data_dir(tmp_path, data_dir) -> Path:
    """A garbage imdb.npz beside a link to the real word index (no data is copied)."""
    (tmp_path / "imdb.npz").write_bytes(os.urandom(4096))
    (tmp_path / "imdb_word_index.json").symlink_to(data_dir / "imdb_word_index.json")
    return tmp_path


def test_corrupt_npz(cli_env, corrupt_data_dir):
    proc = core_cli("info", env=cli_env, IMDB_DATA_DIR=str(corrupt_data_dir))
    assert_one_line_error(proc, "imdb.npz", "corrupt")


def test_corrupt_npz_when_training(cli_env, corrupt_data_dir, tmp_path):
    proc = core_cli("train", "--preset", "dlwp", "--limit", "500", "--val-size", "500", "--epochs", "1",
                    "--out", str(tmp_path / "run"), env=cli_env, IMDB_DATA_DIR=str(corrupt_data_dir))
    assert_one_line_error(proc, "Training failed", "corrupt")


def test_unknown_preset(cli_env):
    assert_one_line_error(core_cli("train", "--preset", "nope", env=cli_env), "nope", "dlwp")


@pytest.mark.parametrize(
    "args, words",
    [
        (["--epochs", "0"], ["epochs=0"]),
        (["--learning-rate", "5"], ["learning_rate", "1e-05 to 1"]),
        (["--optimizer", "foo"], ["optimizer", "rmsprop"]),
        (["--limit", "20000"], ["limit=20000", "val_size=10000"]),
    ],
)
def test_out_of_range_value(cli_env, args, words):
    assert_one_line_error(core_cli("train", "--preset", "dlwp", *args, env=cli_env), *words)


def test_missing_model_folder(cli_env, tmp_path):
    proc = core_cli("predict", "--model", str(tmp_path / "nowhere"), "good film", env=cli_env)
    assert_one_line_error(proc, "No saved model", "nowhere")


def test_corrupt_model_file(cli_env, cli_run, tmp_path):
    out, _ = cli_run
    broken = tmp_path / "broken-run"
    shutil.copytree(out, broken)
    (broken / bundle.MODEL).write_bytes(os.urandom(4096))
    proc = core_cli("predict", "--model", str(broken), "good film", env=cli_env)
    assert_one_line_error(proc, "model.keras", "corrupt")


@pytest.mark.parametrize("args, stdin", [(["   "], None), ([], ""), ([], "\n  \n")])
def test_empty_text(cli_env, cli_run, args, stdin):
    out, _ = cli_run
    proc = core_cli("predict", "--model", str(out), *args, env=cli_env, stdin=stdin)
    last = assert_one_line_error(proc)
    assert "empty" in last or "No text" in last


def test_unknown_run(cli_env):
    assert_one_line_error(core_cli("runs", "show", "999999", env=cli_env), "#999999")


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "--preset", "dlwp", "--epochs", "abc"], ["--epochs", "abc"]),
        (["train"], ["--preset"]),
        (["predict", "some text"], ["--model"]),
        (["bogus"], ["bogus"]),
    ],
)
def test_usage_mistakes_are_one_line_too(cli_env, args, words):
    proc = core_cli(*args, env=cli_env)
    assert proc.returncode == 2
    assert_one_line_error(proc, *words)
    assert "usage:" not in proc.stderr


def test_predict_replaces_bytes_that_are_not_utf8_and_says_so(cli_run, cli_env):
    out, _ = cli_run
    data = POSITIVE.encode() + b"\n" + b"caf\xe9 was \xff\xfe awful\n" + "🙂🙂 qwxzvbnm".encode() + b"\n"
    proc = subprocess.run([sys.executable, "-m", "core", "predict", "--model", str(out)], input=data,
                          capture_output=True, env=cli_env, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    good, replaced, unknown = json_lines(proc.stdout.decode())
    assert "note" not in good or "UTF-8" not in good["note"]
    assert replaced["text"] == "caf\ufffd was \ufffd\ufffd awful" and "not UTF-8" in replaced["note"]
    assert unknown["verdict"] == "no known words" and "the model saw no known words" in unknown["note"]
    assert good["verdict"] in ("positive", "negative", "unsure")


def test_train_loads_keras_without_scikit_learn_or_garbage_collection(cli_env):
    """Keras imports scikit-learn, when installed, for wrappers the lab never uses, and its objects live as long as
    the process: `train` keeps scikit-learn out and leaves Keras's objects to no collection (CPU seconds); then
    `import sklearn` works and the collector runs as before."""
    pytest.importorskip("sklearn")
    code = ("import gc, sys; from core import cli; cli._import_keras(); "
            "print('sklearn' in sys.modules, gc.isenabled(), gc.get_freeze_count() > 100_000); "
            "import sklearn; print(sklearn.__name__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True", "True", "sklearn"]

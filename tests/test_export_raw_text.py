"""The raw-text model file: `python -m core export RUN --out FILE` writes one .keras file per run that plain Keras
loads, in a Python that never imports `core`, and scores raw strings as the lab does (every preset, and a model of
3 classes), within 1e-5 on 300 texts. The runs are the session's (`every_preset_home`, the tweets runs); one
export runs as a user runs it, in a subprocess, the others and the message tests in this process (`core_main`)."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tarfile
import textwrap
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from core.predict import Scorer
from core.store import RunStore
from conftest import DATA_DIR
from test_cli import assert_one_line_error, core_cli, json_lines

TOLERANCE = 1e-5
ODD = [  # what the tokenizer must treat as the lab does
    "what a wonderful film", "? not bad ? at all ?", "> good > film", "Don't   WATCH\tit!\r\nbad\x0bfilm",
    "film.<br /><br />The end--really", "ÉTÉ été caf\u00e9 \u212aelvin CLICHÉ", "x", "?", "it´s most\x85and",
    "a" * 50 + " film", "good" + ".bad" * 300,
]

# Run by a fresh interpreter in isolated mode (-I: no PYTHONPATH, no current folder on sys.path), so `core` cannot
# be imported: only TensorFlow and Keras.
LOADER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras, tensorflow as tf
    texts = json.load(open(sys.argv[1]))
    out = {}
    for name, path in json.load(open(sys.argv[2])).items():
        model = keras.saving.load_model(path)
        scores = model.predict(tf.constant(texts), batch_size=64, verbose=0)
        names = model.get_layer("class_names").get_vocabulary(include_special_tokens=False)
        out[name] = {"scores": np.asarray(scores).tolist(), "classes": names}
    assert not any(m == "core" or m.startswith("core.") for m in sys.modules), "core was imported"
    json.dump(out, open(sys.argv[3], "w"))
""")


def imdb_texts(data_dir: Path, count: int = 300) -> list[str]:
    """Raw reviews of the Stanford release (HTML breaks, punctuation, accents), as a visitor would paste them."""
    texts = []
    with tarfile.open(data_dir / "aclImdb_v1_labeled.tar.gz") as archive:
        for member in archive:
            if member.isfile() and "/test/" in member.name and member.name.endswith(".txt"):
                texts.append(archive.extractfile(member).read().decode("utf-8"))
                if len(texts) >= count:
                    break
    return texts


def tweet_texts(count: int = 300) -> list[str]:
    with open(DATA_DIR / "text" / "Tweets.csv", newline="", encoding="utf-8") as f:
        return [row["text"] for row, _ in zip(csv.DictReader(f), range(count))]


def plain_keras_scores(texts: list[str], files: dict[str, Path], tmp: Path) -> dict[str, dict]:
    (tmp / "texts.json").write_text(json.dumps(texts))
    (tmp / "files.json").write_text(json.dumps({k: str(v) for k, v in files.items()}))
    (tmp / "load.py").write_text(LOADER)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "IMDB_DATA_DIR", "SENTIMENT_LAB_HOME")}
    proc = subprocess.run([sys.executable, "-I", str(tmp / "load.py"), str(tmp / "texts.json"), str(tmp / "files.json"),
                           str(tmp / "out.json")], cwd=tmp, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((tmp / "out.json").read_text())


def export(run_id: int, out: Path, run) -> Path:
    """`python -m core export RUN --out OUT` by `run` (`core_cli` with its environment, or `core_main`)."""
    proc = run("export", str(run_id), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json_lines(proc.stdout)[-1]["file"] == str(out)
    return out


def assert_same(lab: np.ndarray, exported: list, name: str) -> None:
    got = np.asarray(exported, dtype=np.float64)
    got = got.reshape(-1) if lab.ndim == 1 else got
    assert got.shape == lab.shape, name
    worst = float(np.abs(got - lab).max())
    assert worst <= TOLERANCE, f"{name}: largest difference {worst:.2e}"


def test_every_preset_exports_and_scores_raw_text_as_the_lab(every_preset_home, core_main, cli_env, data_dir,
                                                              tmp_path, monkeypatch):
    home, ids = every_preset_home
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(home))
    texts = imdb_texts(data_dir) + ODD
    in_a_process = partial(core_cli, env=dict(cli_env, SENTIMENT_LAB_HOME=str(home)), timeout=600)
    files = {preset: export(run_id, tmp_path / f"run-{run_id}-{preset}.keras",
                            in_a_process if preset == "dlwp" else core_main)
             for preset, run_id in ids.items()}
    exported = plain_keras_scores(texts, files, tmp_path)
    store = RunStore(home)
    for preset, run_id in ids.items():
        assert exported[preset]["classes"] == ["negative", "positive"]
        assert_same(Scorer(store.get(run_id).model_dir).outputs(texts), exported[preset]["scores"], preset)


@pytest.mark.slow  # a 3-class export; every preset's export is tested in the quick tier
def test_three_classes_give_probabilities_and_class_names(tweets_run, core_main, tmp_path):
    texts = tweet_texts() + ODD
    runs = {preset: tweets_run(preset) for preset in ("fast", "dlwp")}
    files = {preset: export(snap.id, tmp_path / f"tweets-{preset}.keras", core_main) for preset, snap in runs.items()}
    exported = plain_keras_scores(texts, files, tmp_path)
    for preset, snap in runs.items():
        assert exported[preset]["classes"] == list(Scorer(snap.model_dir).labels) == ["negative", "neutral", "positive"]
        probabilities = np.asarray(exported[preset]["scores"])
        assert probabilities.shape == (len(texts), 3)
        assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
        assert_same(Scorer(snap.model_dir).outputs(texts), exported[preset]["scores"], f"tweets {preset}")


@pytest.mark.parametrize("out, words", [("model.h5", [".keras"]), ("missing/model.keras", ["does not exist"])])
def test_bad_destination_is_one_line(trained_run, core_main, tmp_path, out, words):
    assert_one_line_error(core_main("export", str(trained_run.id), "--out", str(tmp_path / out)), *words)


def test_unknown_run_is_one_line(core_main, tmp_path):
    assert_one_line_error(core_main("export", "999999", "--out", str(tmp_path / "m.keras")), "#999999")

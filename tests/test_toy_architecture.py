"""Adding an architecture is one registry entry plus its builder: a toy one, registered in one file from outside
core (tests/toy_architecture.py), trains through the CLI and the Train page and scores a review on Predict."""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from core import architectures, bundle, hparams
from pagetest import ok, open_page, texts, train_from_page

TRAIN_TIMEOUT = 300


@pytest.fixture(scope="module")
def toy():
    """The toy architecture, registered for this module's tests only: other tests see the lab's own presets."""
    module = importlib.import_module("toy_architecture")
    yield module.ENTRY
    architectures.ARCHITECTURES.pop(module.ENTRY.name)
    for preset in module.ENTRY.presets:
        architectures.PRESETS.pop(preset.name)
        architectures.DESCRIPTIONS.pop(preset.name)
    sys.modules.pop("toy_architecture")


def test_the_entry_is_the_toy_preset_and_its_settings(toy) -> None:
    hp = hparams.make("toy", epochs=1)
    assert hp.architecture == "toy_mean" and (hp.num_words, hp.maxlen, hp.embedding_dim) == (2_000, 100, 8)
    assert hparams.used(hp) == toy.uses + hparams.COMMON
    assert len(hparams.DESCRIPTIONS["toy"]) <= hparams.DESCRIPTION_CHARS


def test_the_cli_trains_the_toy_and_scores_with_it(toy, core_main, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    out = tmp_path / "toy-run"
    proc = core_main("train", "--preset", "toy", "--limit", "1000", "--val-size", "500", "--epochs", "1",
                     "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    final = json.loads(proc.stdout.splitlines()[-1])
    assert final["preset"] == "toy" and final["status"] == "finished" and 0 <= final["test_accuracy"] <= 1
    assert json.loads((out / bundle.CONFIG).read_text())["architecture"] == "toy_mean"
    proc = core_main("predict", "--model", str(out), "A wonderful film with a brilliant cast.")
    assert proc.returncode == 0, proc.stderr
    assert 0 < json.loads(proc.stdout)["score"] < 1


def test_the_train_page_trains_the_toy_and_predict_scores_a_review(toy, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    at = open_page("pages/train.py", preset="toy", limit="1000", val_size="500", epochs="1")
    assert at.selectbox(key="train_preset").value == "toy"
    assert "toy — A toy: Embedding 8" in at.selectbox(key="train_preset").format_func("toy")
    assert {"hp_num_words", "hp_maxlen", "hp_embedding_dim"} <= {n.key for n in at.number_input}
    assert "hp_units" not in {n.key for n in at.number_input}, "only the settings the toy reads"
    train_from_page(at, TRAIN_TIMEOUT)
    assert "· toy · finished" in texts(at), texts(at)

    predict = open_page("pages/predict.py")
    assert "toy" in predict.selectbox(key="predict_run").options[0]
    predict.text_area(key="predict_text").input("A wonderful film with a brilliant cast.")
    ok(next(b for b in predict.button if b.label == "Score review").click().run())
    assert "score <b>" in "\n".join(h.value for h in predict.html)

"""A run folder: the model plus everything needed to score raw text later, written so a crash never leaves a
half-written model that looks complete (each file is written under a temporary name, then renamed)."""
from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import features
from core.errors import ModelFileError
from core.features import Featurizer
from core.hparams import HParams, from_dict
from core.vocab import Vocabulary

MODEL = "model.keras"
CONFIG = "config.json"
FEATURIZER = "featurizer.json"
FEATURIZER_ARRAYS = "featurizer.npz"
WORD_INDEX = "word_index.json.gz"
HISTORY = "history.json"


def _atomic(path: Path, write) -> None:
    """Write through a temporary sibling, fsync, then rename over `path`."""
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    write(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_bytes(path: Path, data: bytes) -> None:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    _atomic(path, write)


def write_file(path: Path, data: bytes) -> None:
    """One file of a bundle that was saved elsewhere (a cluster worker), written as safely as `save` does."""
    _write_bytes(path, data)


def write_json(path: Path, value: Any) -> None:
    _write_bytes(path, json.dumps(value, indent=1).encode())


def save(run_dir: Path, model, featurizer: Featurizer, hp: HParams, vocabulary: Vocabulary,
         history: list[dict[str, Any]]) -> Path:
    """Everything but the model first; the model last, so its presence means the bundle is complete."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG, hp.to_dict())
    write_json(run_dir / FEATURIZER, featurizer.state())
    arrays = featurizer.arrays()
    if arrays:
        _atomic(run_dir / FEATURIZER_ARRAYS, lambda tmp: np.savez(tmp, **arrays))
    _write_bytes(run_dir / WORD_INDEX, gzip.compress(json.dumps(vocabulary.word_to_rank).encode(), 6))
    write_json(run_dir / HISTORY, history)
    _atomic(run_dir / MODEL, lambda tmp: model.save(tmp))
    return run_dir


@dataclass
class Bundle:
    """A loaded run folder, ready to score text."""

    model: Any
    featurizer: Featurizer
    hp: HParams
    vocabulary: Vocabulary
    run_dir: Path


def load(run_dir: Path | str) -> Bundle:
    """The run folder's model and encoders, or a ModelFileError saying what is missing or broken."""
    import keras

    from core import ngrams  # noqa: F401 - registers the n-gram model's custom layers

    run_dir = Path(run_dir)
    model_path = run_dir / MODEL
    if not model_path.is_file():
        raise ModelFileError(f"No saved model in {run_dir}: the run did not finish, or its files were removed.")
    try:
        hp = from_dict(json.loads((run_dir / CONFIG).read_text()))
        state = json.loads((run_dir / FEATURIZER).read_text())
        arrays_path = run_dir / FEATURIZER_ARRAYS
        arrays = dict(np.load(arrays_path)) if arrays_path.exists() else {}
        vocabulary = Vocabulary(json.loads(gzip.decompress((run_dir / WORD_INDEX).read_bytes())))
        featurizer = features.from_state(state, arrays)
    except Exception as exc:  # noqa: BLE001 - any unreadable part means the bundle is unusable
        raise ModelFileError(f"The run folder {run_dir} is incomplete or corrupt ({type(exc).__name__}: {exc}).") from exc
    try:
        model = keras.saving.load_model(model_path)
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"The model file {model_path} is corrupt ({type(exc).__name__}).") from exc
    return Bundle(model, featurizer, hp, vocabulary, run_dir)

"""A run folder: the model plus everything needed to score raw text later, written so a crash never leaves a
half-written model that looks complete (each file is written under a temporary name, then renamed)."""
from __future__ import annotations

import gzip
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import architectures, atomic_file, features, registry
from core.evaluation import TEST_SCORES
from core.data.imdb import LABELS as IMDB_LABELS, OOV, START, Ragged
from core.errors import ModelFileError
from core.model_input import Featurizer
from core.hparams import IMDB_SIZES, HParams, Sizes, from_dict
from core.data.vocab import Vocabulary

MODEL = "model.keras"
CONFIG = "config.json"
FEATURIZER = "featurizer.json"
FEATURIZER_ARRAYS = "featurizer.npz"
WORD_INDEX = "word_index.json.gz"
HISTORY = "history.json"
DATASET = "dataset.json"  # the data set's description (labels, sizes, fingerprint): the run scores without it
MARKER = ".sentiment-lab-run.json"  # written when a run claims the folder: which run, and whether the lab made it
FILES = (MODEL, CONFIG, FEATURIZER, FEATURIZER_ARRAYS, WORD_INDEX, HISTORY, DATASET, TEST_SCORES)


def partial_name(name: str) -> str:
    """The temporary name a bundle file is written under before it is renamed into place."""
    path = Path(name)
    return f".{path.stem}.partial{path.suffix}"


PARTIALS = tuple(partial_name(name) for name in FILES + (MARKER,))
OWN_NAMES = frozenset(FILES + PARTIALS + (MARKER,))  # everything a run may leave in its folder, and nothing else


def _atomic(path: Path, write) -> None:
    """Write through the file's partial name (the run store sweeps those a crash left), never half a file."""
    atomic_file.write(path, write, partial=path.with_name(partial_name(path.name)))


def write_file(path: Path, data: bytes) -> None:
    """One file of a bundle that was saved elsewhere (a cluster worker), written as safely as `save` does."""
    _atomic(path, lambda tmp: tmp.write_bytes(data))


def write_json(path: Path, value: Any) -> None:
    _atomic(path, lambda tmp: tmp.write_text(json.dumps(value, indent=1)))


def save(run_dir: Path, model, featurizer: Featurizer, hp: HParams, vocabulary: Vocabulary,
         history: list[dict[str, Any]], dataset: dict[str, Any], test_scores: np.ndarray | None = None) -> Path:
    """Everything but the model first (with the test split's scores, when given); the model last, so its presence
    means the bundle is complete.

    `dataset` is the data set's description (`DatasetInfo.to_dict()`); with the word index saved beside it, the
    run scores text with its own data set's vocabulary and labels even after that data set is removed.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG, hp.to_dict())
    write_json(run_dir / DATASET, dataset)
    write_json(run_dir / FEATURIZER, featurizer.state())
    arrays = featurizer.arrays()
    if arrays:
        _atomic(run_dir / FEATURIZER_ARRAYS, lambda tmp: np.savez(tmp, **arrays))
    write_file(run_dir / WORD_INDEX, _word_index_bytes(vocabulary, dataset.get("fingerprint")))
    write_json(run_dir / HISTORY, history)
    if test_scores is not None:
        _atomic(run_dir / TEST_SCORES, lambda tmp: np.save(tmp, test_scores))
    _atomic(run_dir / MODEL, lambda tmp: model.save(tmp))
    return run_dir


def _word_index_bytes(vocabulary: Vocabulary, fingerprint: str | None) -> bytes:
    """The compressed word index, made once per data set content (0.4 s for IMDB's): a class's runs save the same."""
    def make() -> bytes:
        return gzip.compress(json.dumps(vocabulary.word_to_rank).encode(), 6)

    return registry.shared(("word-index-gz", fingerprint), make) if fingerprint else make()


def dataset_info(run_dir: Path) -> dict[str, Any]:
    """The data set description a run folder saved; empty for runs saved before data sets (IMDB's)."""
    try:
        value = json.loads((Path(run_dir) / DATASET).read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("labels"), list) or len(value["labels"]) < 2:
        raise ValueError(f"{DATASET} does not describe a data set")
    return value


def _sizes(dataset: dict[str, Any]) -> Sizes:
    if not dataset:
        return IMDB_SIZES
    return Sizes(int(dataset["train_size"]), int(dataset["max_id"]), int(dataset["test_size"]))


def claim(run_dir: Path, run_id: int, created: bool, details: dict[str, Any]) -> None:
    """Mark `run_dir` as run `run_id`'s folder before training starts; `created`: the lab made the folder for it.

    The marker tells a later delete whether the folder itself may go, and lets `runs rebuild` restore the run.
    """
    write_json(run_dir / MARKER, {"run_id": run_id, "created_folder": created, **details})


def marker(run_dir: Path) -> dict[str, Any] | None:
    """What `claim` wrote into a run folder, or None when there is no readable marker."""
    try:
        value = json.loads((run_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def note_outcome(run_dir: Path, **outcome: Any) -> None:
    """Add a finished run's status and scores to its marker (folders without one are left alone)."""
    found = marker(run_dir)
    if found is not None:
        try:
            write_json(run_dir / MARKER, {**found, **outcome})
        except OSError:
            pass  # the database has the outcome; the marker is only the rebuild's copy


def remove_partials(run_dir: Path) -> list[str]:
    """Delete the temporary files an interrupted save left behind; returns their names."""
    removed = []
    for name in PARTIALS:
        path = run_dir / name
        if path.is_file() or path.is_symlink():
            path.unlink(missing_ok=True)
            removed.append(name)
    return removed


def discard_incomplete(run_dir: Path) -> None:
    """After a failed run: delete the temporary files of its save and, when no model was saved, the other files of
    the bundle it had begun (they describe no model); the marker stays, so the folder is still known as the run's."""
    remove_partials(run_dir)
    if not (run_dir / MODEL).is_file():
        for name in FILES:
            if (run_dir / name).is_file():
                (run_dir / name).unlink(missing_ok=True)


def remove(run_dir: Path, lab_made: bool) -> None:
    """Delete the files a run bundle consists of, and nothing else; then the folder, only if the lab made it
    (`lab_made`, or the run's marker says so) and nothing else is left in it. A user's own files always stay."""
    lab_made = lab_made or bool((marker(run_dir) or {}).get("created_folder"))
    for name in OWN_NAMES:
        path = run_dir / name
        if path.is_file() or path.is_symlink():
            path.unlink(missing_ok=True)
    if lab_made:
        try:
            run_dir.rmdir()  # fails when anything is left in it, which is then not ours to delete
        except OSError:
            pass


@dataclass
class Bundle:
    """A loaded run folder, ready to score text."""

    model: Any
    featurizer: Featurizer
    hp: HParams
    vocabulary: Vocabulary
    run_dir: Path
    labels: tuple[str, ...] = IMDB_LABELS  # class names in class-id order

    @property
    def num_classes(self) -> int:
        return len(self.labels)


def _reason(exc: Exception) -> str:
    """An exception in a sentence, naming a file by its name only: server paths are not shown to visitors."""
    if isinstance(exc, OSError) and exc.filename:
        return f"{type(exc).__name__}: {Path(exc.filename).name}"
    return f"{type(exc).__name__}: {exc}"


def load(run_dir: Path | str) -> Bundle:
    """The run folder's model and encoders, or a ModelFileError saying what is missing or broken."""
    run_dir = Path(run_dir)
    model_path = run_dir / MODEL
    if not model_path.is_file():
        raise ModelFileError(f"No saved model in run folder '{run_dir.name}': the run did not finish, or its files "
                             "were removed.")

    import keras

    try:
        dataset = dataset_info(run_dir)
        labels = tuple(str(label) for label in dataset.get("label_names") or dataset.get("labels", IMDB_LABELS))
        hp = from_dict(json.loads((run_dir / CONFIG).read_text()), _sizes(dataset))
        layers = architectures.get(hp.architecture).keras_layers
        if layers:
            importlib.import_module(layers)  # registers the architecture's custom Keras layers before loading
        state = json.loads((run_dir / FEATURIZER).read_text())
        arrays_path = run_dir / FEATURIZER_ARRAYS
        arrays = dict(np.load(arrays_path)) if arrays_path.exists() else {}
        vocabulary = Vocabulary(json.loads(gzip.decompress((run_dir / WORD_INDEX).read_bytes())))
        featurizer = features.from_state(state, arrays)
    except Exception as exc:  # noqa: BLE001 - any unreadable part means the bundle is unusable
        raise ModelFileError(f"The run folder '{run_dir.name}' is incomplete or corrupt ({_reason(exc)}).") from exc
    try:
        model = keras.saving.load_model(model_path)
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"The model file {MODEL} of run folder '{run_dir.name}' is corrupt "
                             f"({type(exc).__name__}).") from exc
    _check_match(model, featurizer, getattr(featurizer, "num_words", hp.num_words), len(labels), run_dir)
    return Bundle(model, featurizer, hp, vocabulary, run_dir, labels)


def outputs(num_classes: int) -> int:
    """Scores a model gives per review: one (P(label 1)) for two classes, one per class for more."""
    return 1 if num_classes == 2 else num_classes


def _check_match(model, featurizer: Featurizer, num_words: int, num_classes: int, run_dir: Path) -> None:
    """Score one review holding the highest id the featuriser can produce: a featuriser that does not fit its
    model (edited, or from another run) fails here with a message, not later with a traceback on every score."""
    probe = Ragged(np.array([START, OOV, max(num_words - 1, START)], dtype=np.int32), np.array([0, 3]))
    try:
        scores = np.asarray(model.predict(featurizer.transform(probe), verbose=0))
        if scores.shape != (1, outputs(num_classes)):
            raise ValueError(f"the model gives {scores.shape[-1]} scores per review, not {outputs(num_classes)}")
    except Exception as exc:  # noqa: BLE001 - any failure means the two files do not belong together
        raise ModelFileError(f"{FEATURIZER} of run folder '{run_dir.name}' does not match its {MODEL} ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); the run folder was edited or "
                             "mixed with another run's files.") from exc

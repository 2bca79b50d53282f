"""One training from settings to a saved model, with no idea where it runs or where runs are recorded.

The runner calls it on a server thread, a Ray task calls it on a cluster worker; both learn what happens through
`Hooks` and get a `Result` back. Nothing here touches the run store, so a worker needs no access to it.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core import bundle, prepared, priority, verdict
from core.data import imdb
from core.data.imdb import Ragged
from core.data.datasets import Dataset
from core.model_input import Featurizer
from core.hparams import HParams
from core.predict import BATCH, score_matrix, score_ragged

ProbeScores = tuple[float, ...] | tuple[tuple[float, ...], ...]  # per probe: P(label 1), or each class's probability


def _nothing(*_: Any) -> None:
    return None


@dataclass
class Hooks:
    """What a training reports as it goes, and how it learns that it should stop (checked after every batch)."""

    phase: Callable[[str, int], None] = _nothing  # phase name, batches per epoch (0 until known)
    batch: Callable[[int], None] = _nothing  # batches done in the current epoch
    epoch: Callable[[dict[str, Any], ProbeScores], None] = _nothing  # metrics, pinned-review scores
    should_stop: Callable[[], bool] = lambda: False
    model_ready: Callable[[Any, Featurizer], None] = _nothing  # the compiled model and its fitted featurizer


@dataclass
class Result:
    """What a training reached. `out_dir` holds the model bundle and test scores; None when no epoch ended."""

    history: list[dict[str, Any]] = field(default_factory=list)
    probe_scores: list[ProbeScores] = field(default_factory=list)
    stopped: bool = False
    stopped_at_batch: int = 0  # batches of the epoch a stop cut short (not in `history`); 0 when none was
    train_seconds: float = 0.0
    test_accuracy: float | None = None
    test_loss: float | None = None
    out_dir: Path | None = None


def binary_metrics(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Accuracy (by the verdict's threshold rule) and binary cross-entropy, as Keras computes them."""
    eps = 1e-7
    q = np.clip(p.astype(np.float64), eps, 1 - eps)
    loss = float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))
    return float(np.mean(verdict.positive(p) == (y == 1))), loss


def multiclass_metrics(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Accuracy (the most probable class) and sparse categorical cross-entropy of (n, k) class probabilities."""
    eps = 1e-7
    q = np.clip(p[np.arange(len(y)), np.asarray(y, dtype=np.int64)].astype(np.float64), eps, 1 - eps)
    return float(np.mean(verdict.predicted(p) == y)), float(-np.mean(np.log(q)))


def score_metrics(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Accuracy and loss of a model's scores, binary (1-D) or for 3+ classes (2-D), as Keras computes them."""
    return (binary_metrics if np.ndim(scores) == 1 else multiclass_metrics)(y, scores)


def evaluate_and_save(model, featurizer: Featurizer, hp: HParams, dataset: Dataset, test: imdb.Split,
                  history: list[dict[str, Any]], out_dir: Path, hooks: Hooks,
                  x_test: np.ndarray | None = None) -> tuple[float, float]:
    """Score every test review (`x_test`: already featurised), then write the bundle and the scores; returns test
    accuracy and loss."""
    from core import length_batches  # loads Keras, which `model` has loaded already

    hooks.phase("evaluating", 0)
    if x_test is None:
        scores = score_ragged(model, featurizer, test.x)
    elif length_batches.trims_padding(featurizer):
        scores = length_batches.predict_trimmed(model, x_test)
    else:
        scores = score_matrix(model, x_test, getattr(featurizer, "scoring_batch", BATCH))
    accuracy, loss = score_metrics(test.y, scores)
    hooks.phase("saving", 0)
    bundle.save(out_dir, model, featurizer, hp, dataset.vocabulary, history, dataset.info.to_dict(),
                scores.astype(np.float32))
    return accuracy, loss


class _StopNow(Exception):
    """Raised from a batch's end to leave `fit` at once when a stop is asked for."""


def _keras_progress(hooks: Hooks, result: Result, probe_scores: Callable[[], ProbeScores], nice: int):
    """A Keras callback that reports batches and epochs, and ends `fit` after the batch in which a stop is asked for.

    Not `stop_training`: with it Keras still validates the cut epoch (a long pass for an LSTM) and reports it as a
    whole epoch."""
    import keras

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._epoch_start = self._batches_end = time.perf_counter()
            priority.lower_training_priority(nice)  # TensorFlow's threads exist by now, whoever started them

        def on_train_batch_end(self, batch, logs=None):
            self._batches_end = time.perf_counter()  # the epoch's validation pass starts after its last batch
            hooks.batch(batch + 1)
            if hooks.should_stop():
                result.stopped_at_batch = batch + 1
                raise _StopNow

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            metrics = {
                "epoch": epoch + 1,
                "loss": float(logs["loss"]),
                "accuracy": float(logs["accuracy"]),
                "val_loss": float(logs["val_loss"]) if "val_loss" in logs else None,
                "val_accuracy": float(logs["val_accuracy"]) if "val_accuracy" in logs else None,
                "seconds": round(time.perf_counter() - self._epoch_start, 3),
                "val_seconds": round(time.perf_counter() - self._batches_end, 3),  # a part of `seconds`
            }
            scores = probe_scores()
            result.history.append(metrics)
            result.probe_scores.append(scores)
            hooks.epoch(metrics, scores)

    return Progress()


def train(hp: HParams, dataset: Dataset, probes: tuple[str, ...], out_dir: Path, hooks: Hooks | None = None,
          nice: int = 0) -> Result:
    """Fit a model of `hp` on the data set, test it and save it in `out_dir`; raises on failure.

    Two classes get one sigmoid unit and binary cross-entropy, three or more a softmax and sparse categorical
    cross-entropy (`core.models`).

    A training stopped before its first epoch ended saves nothing and has no test scores: an untrained model is
    no result.
    """
    hooks = hooks or Hooks()
    result = Result()
    corpus, vocabulary, num_classes = dataset.corpus, dataset.vocabulary, dataset.info.num_classes
    hooks.phase("preparing", 0)
    ready = prepared.for_run(hp, dataset)  # shared with the other runs of this configuration: read-only
    featurizer, x_train, y_train, x_val, y_val = (ready.featurizer, ready.x_train, ready.y_train, ready.x_val,
                                                  ready.y_val)
    encoded = [vocabulary.encode(p, hp.num_words) for p in probes]
    x_probe = featurizer.transform(Ragged.from_lists(encoded)) if probes else None

    from core import length_batches, models, seeding, stopping  # load Keras (a caller may be loading it meanwhile)

    def probe_scores() -> ProbeScores:
        if x_probe is None:
            return ()
        out = np.asarray(model(x_probe, training=False), dtype=np.float64)
        if out.shape[-1] == 1:
            return tuple(float(v) for v in out.reshape(-1))
        return tuple(tuple(float(v) for v in row) for row in out)

    seed = seeding.Seeded(hp.seed)
    with seed:  # given up as `fit` starts: this run's seed alone decides its weights and order (core.seeding)
        model = models.compile_model(models.build(hp, featurizer, num_classes), hp, num_classes)
        hooks.model_ready(model, featurizer)
        callbacks = [seed.release_on_train_begin(), _keras_progress(hooks, result, probe_scores, nice)]
        if hp.patience:
            callbacks.append(stopping.PatienceAfterLearning(hp.patience,
                                                            stopping.guessing_loss(y_train, y_val, num_classes)))
        hooks.phase("training", math.ceil(len(y_train) / hp.batch_size))
        started = time.perf_counter()
        try:
            if not hooks.should_stop() and length_batches.trims_padding(featurizer):
                model.fit(length_batches.LengthBatches(x_train, y_train, hp.batch_size, seed=hp.seed).dataset(),
                          epochs=hp.epochs, callbacks=callbacks, verbose=0, shuffle=False,
                          validation_data=length_batches.LengthBatches(x_val, y_val, hp.batch_size).dataset())
            elif not hooks.should_stop():
                model.fit(x_train, y_train, batch_size=hp.batch_size, epochs=hp.epochs,
                          validation_data=(x_val, y_val), callbacks=callbacks, verbose=0, shuffle=True)
        except _StopNow:
            pass  # the finished epochs are in the history; the model is as the last batch left it
    result.train_seconds = time.perf_counter() - started
    result.stopped = hooks.should_stop()
    del x_train, x_val
    if not result.history:
        return result
    result.test_accuracy, result.test_loss = evaluate_and_save(model, featurizer, hp, dataset, corpus.test,
                                                           result.history, out_dir, hooks, ready.x_test)
    result.out_dir = out_dir
    return result

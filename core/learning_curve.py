"""When does pretraining help? The same small model trained from random vectors and from GloVe on a few training-set
sizes, each scored on the same test reviews: two learning curves.

It runs in a background thread of its own (not through the Runner: these are eight throwaway models, not runs to
keep); the page polls `snapshot()` and never touches the thread.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np

from core import config, features, hparams, priority, registry, training
from core.data import imdb
from core.errors import LabError
from core.hparams import HParams
from core.predict import score_ragged

SIZES = (200, 500, 1_000, 2_000)
STARTS = {"random": "from scratch", "fine-tuned": "from GloVe"}  # vectors setting -> label
TEST_REVIEWS = 5_000


def _server_slot() -> threading.Lock:
    """The one comparison this server runs at a time."""
    return registry.shared(("learning-curve", "slot"), threading.Lock)


@dataclass
class _Latest:
    """The comparison this server ran last (running or done) and whose browser started it."""

    job: "LearningCurve | None" = None
    owner: str | None = None


def _latest() -> _Latest:
    return registry.shared(("learning-curve", "latest"), _Latest)


def _latest_lock() -> threading.Lock:
    return registry.shared(("learning-curve", "latest-lock"), threading.Lock)


def latest() -> tuple["LearningCurve | None", str | None]:
    """The server's latest comparison and its starter's owner token, so a reloaded page (or another visitor) can
    follow the one that runs instead of being told only that one does."""
    held = _latest()
    with _latest_lock():
        return held.job, held.owner


def small_model(reviews: int, vectors: str, seed: int = 0) -> HParams:
    """The transfer preset made small enough for seconds per fit: 10,000 words, 200 ids, batch 32, 8 epochs.

    Learning rate 0.01: at 1e-3 neither start learns anything from 200 reviews in 8 epochs (both score 0.52).
    """
    return hparams.make("transfer", vectors=vectors, limit=reviews, num_words=10_000, maxlen=200, batch_size=32,
                        epochs=8, learning_rate=0.01, patience=None, seed=seed)


@dataclass(frozen=True)
class Point:
    reviews: int
    start: str  # a STARTS label
    test_accuracy: float
    seconds: float


@dataclass(frozen=True)
class Progress:
    """What the page draws: the points so far, and whether the job is still going."""

    points: tuple[Point, ...]
    total: int
    running: bool
    error: str | None
    test_reviews: int


@dataclass
class LearningCurve:
    """One comparison job; `start()` once, then `snapshot()` from any thread."""

    sizes: tuple[int, ...] = SIZES
    test_reviews: int = TEST_REVIEWS
    seed: int = 0
    _points: list[Point] = field(default_factory=list, init=False)
    _running: bool = field(default=False, init=False)
    _error: str | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self, owner: str | None = None) -> None:
        """Begin in the background; refused while another comparison runs on this server, so that a class pressing
        the button together does not train eight models each at once beside the queued trainings."""
        if not _server_slot().acquire(blocking=False):
            raise LabError("Another comparison is running on this server right now; try again when it has finished "
                           "(it takes a few minutes).")
        with self._lock:
            self._running = True
        held = _latest()
        with _latest_lock():
            held.job, held.owner = self, owner
        threading.Thread(target=self._work, name="learning-curve", daemon=True).start()

    def snapshot(self) -> Progress:
        with self._lock:
            return Progress(tuple(self._points), len(self.sizes) * len(STARTS), self._running, self._error,
                            self.test_reviews)

    def _work(self) -> None:
        try:
            priority.lower_training_priority(config.training_nice())
            self.run()
        except LabError as exc:
            self._finish(str(exc))
        except Exception as exc:  # noqa: BLE001 - the page shows what went wrong instead of a silent stop
            self._finish(f"{type(exc).__name__}: {exc}")
        else:
            self._finish(None)

    def _finish(self, error: str | None) -> None:
        with self._lock:
            self._running, self._error = False, error
        _server_slot().release()

    def run(self) -> None:
        """Every size, both starts, in order; each point is published as soon as it is measured."""
        corpus = imdb.load_corpus()
        test = corpus.test.take(np.arange(min(self.test_reviews, len(corpus.test))))
        for reviews in self.sizes:
            for vectors, label in STARTS.items():
                point = measure(small_model(reviews, vectors, self.seed), corpus, test)
                with self._lock:
                    self._points.append(replace(point, start=label))


def measure(hp: HParams, corpus: imdb.Corpus, test: imdb.Split) -> Point:
    """Train `hp` on its first `limit` training reviews (no validation: nothing is tuned) and score `test`."""
    import keras

    from core import models  # with Keras, here: the Pretrained page imports this module before it draws its title

    train = corpus.train.take(np.arange(hp.limit or hp.train_reviews()))
    started = time.perf_counter()
    featurizer = features.for_hparams(hp)
    featurizer.fit(train.x, train.y)
    keras.utils.set_random_seed(hp.seed)
    model = models.compile_model(models.build(hp, featurizer), hp)
    model.fit(featurizer.transform(train.x), train.y, batch_size=hp.batch_size, epochs=hp.epochs, verbose=0,
              shuffle=True)
    accuracy, _ = training.binary_metrics(test.y, score_ragged(model, featurizer, test.x))
    return Point(len(train), hp.vectors, accuracy, time.perf_counter() - started)

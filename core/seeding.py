"""Per-training seeding for trainings that share a process: a run's own seed decides its model, whatever trains
beside it.

Keras and TensorFlow draw a new model's initial weights, its dropout layers' seeds and `fit`'s shuffling order from
process-wide generators that `keras.utils.set_random_seed` resets. Two trainings on two threads
(SENTIMENT_LAB_MAX_TRAININGS above 1) would otherwise draw from each other's, and the same seed could give another
model depending on the other run's timing. So a training holds the seeding lock from setting its seed until `fit`
has built its data pipeline (its shuffle takes its seed when traced) and starts; the epochs themselves, which draw
only from the model's own seeded generators, run beside the other training's.

Loads Keras: imported by the training thread only.
"""
from __future__ import annotations

import threading

import keras

from core import registry


class Seeded:
    """`with Seeded(seed):` sets the seed under the process's seeding lock; the lock is given up by the callback
    (`release_on_train_begin`) when `fit` starts, or when the block ends, whichever comes first."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._lock = registry.shared(("lock", "seeding"), threading.Lock)
        self._held = False

    def __enter__(self) -> "Seeded":
        self._lock.acquire()
        self._held = True
        keras.utils.set_random_seed(self.seed)
        return self

    def release(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()

    def __exit__(self, *_: object) -> None:
        self.release()

    def release_on_train_begin(self) -> keras.callbacks.Callback:
        """A callback that gives the lock up once `fit` has built its data pipeline and its first step."""
        seeded = self

        class Release(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                seeded.release()

        return Release()

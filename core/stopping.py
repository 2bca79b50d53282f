"""Early stopping whose patience starts once the model does better than guessing.

A small model on a few hundred short texts can sit at the level of guessing for several epochs (its word vectors
start near zero, so every text looks alike to it) before its loss falls. Keras's EarlyStopping counts those epochs
against its patience: on one of six splits of the UCI imdb sentences it ended mslearn at epoch 5 with epoch 1's
model restored, 0.500 test accuracy where the other splits gave 0.72 to 0.79. Here the epochs before the
validation loss first falls below guessing's are a warm-up that uses no patience; the epoch budget still bounds a
model that never learns. Imported lazily: it loads Keras.
"""
from __future__ import annotations

from typing import Any

import keras
import numpy as np

LEARNING_MARGIN = 0.01  # nats below guessing's validation loss from which a model counts as learning


def guessing_loss(y_train: np.ndarray, y_val: np.ndarray, num_classes: int) -> float:
    """The validation loss (cross-entropy) of answering every text with the training texts' class shares
    (add-one smoothed, so that a class missing from training costs a finite loss)."""
    counts = np.bincount(np.asarray(y_train, np.int64), minlength=num_classes).astype(np.float64)
    shares = (counts + 1) / (counts.sum() + num_classes)
    return float(-np.mean(np.log(shares[np.asarray(y_val, np.int64)]))) if len(y_val) else 0.0


class PatienceAfterLearning(keras.callbacks.EarlyStopping):
    """EarlyStopping on validation loss with the best epoch restored, whose `patience` epochs are counted only
    once the validation loss has been LEARNING_MARGIN below `guessing` (`guessing_loss`)."""

    def __init__(self, patience: int, guessing: float) -> None:
        super().__init__(monitor="val_loss", patience=patience, restore_best_weights=True)
        self.learning_below = guessing - LEARNING_MARGIN
        self.learning = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self.learning = False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, logs)  # tracks the best epoch (restored at the end) from the first
        current = (logs or {}).get(self.monitor)
        self.learning = self.learning or (current is not None and current < self.learning_below)
        if not self.learning:
            self.wait = 0
            if self.stopped_epoch == epoch:  # patience 1 would stop at once
                self.model.stop_training, self.stopped_epoch = False, 0

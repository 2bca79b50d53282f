"""How long a run will keep its user waiting, from the click to the results: preparing the data, training, then
scoring the 25,000 test reviews and saving. Pure functions over the hyperparameters and a run's own numbers.

Epoch times come from this server's own past runs when it has any, else from rates measured on a 2-core machine;
preparing and finishing are scaled by how much slower (or faster) than those rates this server trains.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Iterable, Mapping

from core.errors import ConfigError
from core.hparams import HParams, from_dict
from core.store import RunRecord

# Reviews per second per epoch (training and validation together) with the presets' shapes on 2 CPU cores,
# measured with `python -m core train` (benchmarks/bench_presets.py): dlwp 0.35 s, mslearn 1.4 s and fast 1.7 s
# per epoch of 25,000 reviews; lstm 1.3 s per epoch of 700 reviews. Conservative, since other work slows them.
BASE_RATE = {"multihot_mlp": 40_000.0, "embedding_flatten": 15_000.0, "lstm": 400.0, "ngram_nb": 12_000.0}


def _work(hp: HParams) -> float:
    """Relative cost of one review, so runs of other sizes can be compared."""
    if hp.architecture == "lstm":
        return hp.maxlen * hp.units * (hp.units + hp.embedding_dim) / (500 * 120 * 240)
    if hp.architecture == "embedding_flatten":
        return hp.maxlen * hp.embedding_dim * max(hp.units, 1) / (500 * 32 * 16)
    if hp.architecture == "multihot_mlp":
        return hp.num_words * max(hp.units, 1) / (10_000 * 16)
    return 1.0


def seconds_per_epoch(hp: HParams, past: Iterable[RunRecord] = ()) -> tuple[float, str]:
    """An estimate and where it came from."""
    rates = []
    for record in past:
        if record.config.get("architecture") != hp.architecture or not record.history:
            continue
        try:
            other = from_dict(record.config)
        except ConfigError:
            continue
        reviews = other.train_reviews() + other.val_size
        per_review = median(h["seconds"] for h in record.history if h.get("seconds")) / reviews / _work(other)
        rates.append(per_review)
    reviews = hp.train_reviews() + hp.val_size
    if rates:
        return median(rates) * reviews * _work(hp), f"from {len(rates)} earlier run(s) on this server"
    return reviews / BASE_RATE[hp.architecture] * _work(hp), "rough figure for a 2-core machine"


# CPU microseconds per review measured on the 2-core development machine (the presets' shapes, data already loaded,
# as in the app): splitting and featurising each training or validation review, and featurising and scoring each
# test review. The n-gram featuriser is the costly one; an LSTM's forward pass over 500 ids is the costly score.
PREPARE_US = {"multihot_mlp": 30.0, "embedding_flatten": 20.0, "lstm": 20.0, "ngram_nb": 160.0}
SCORE_US = {"multihot_mlp": 115.0, "embedding_flatten": 80.0, "lstm": 4_000.0, "ngram_nb": 160.0}
SAVE_SECONDS = {"multihot_mlp": 0.7, "embedding_flatten": 0.4, "lstm": 0.3, "ngram_nb": 1.0}  # model + encoders
SETUP_SECONDS = 1.0  # building and compiling the model, and tracing its first training step
TEST_REVIEWS = 25_000
ALMOST_DONE = 2.0  # seconds: below this, say "almost done" rather than a number
MIN_BATCHES, MIN_SECONDS = 10, 3.0  # before an epoch ends, the pace means something after this many and this long


def _featurise_scale(hp: HParams) -> float:
    """Relative featurising cost of one review: n-grams grow with their length, multi-hot rows with the vocabulary."""
    if hp.architecture == "ngram_nb":
        return hp.ngrams / 3
    if hp.architecture == "multihot_mlp":
        return hp.num_words / 10_000
    return 1.0


@dataclass(frozen=True)
class Wait:
    """The whole wait for one run, in seconds, phase by phase."""

    preparing: float  # reading the split and featurising, building the model
    epoch: float  # one epoch of training (validation included)
    epochs: int  # as many as asked for
    fewest_epochs: int  # as few as early stopping allows (= epochs without patience)
    finishing: float  # scoring the test reviews and saving the run
    basis: str  # where the epoch time comes from

    @property
    def longest(self) -> float:
        return self.preparing + self.epoch * self.epochs + self.finishing

    @property
    def shortest(self) -> float:
        return self.preparing + self.epoch * self.fewest_epochs + self.finishing

    @property
    def may_stop_early(self) -> bool:
        return self.fewest_epochs < self.epochs


def whole_wait(hp: HParams, past: Iterable[RunRecord] = ()) -> Wait:
    """The estimate before the run starts."""
    epoch, basis = seconds_per_epoch(hp, past)
    pace = min(max(epoch / _base_epoch(hp), 0.25), 4.0)  # this server against the measured rates
    reviews = hp.train_reviews() + hp.val_size
    scale = _featurise_scale(hp)
    preparing = (reviews * PREPARE_US[hp.architecture] * scale / 1e6 + SETUP_SECONDS) * pace
    score_scale = _work(hp) if hp.architecture in ("lstm", "embedding_flatten") else scale
    finishing = (TEST_REVIEWS * SCORE_US[hp.architecture] * score_scale / 1e6 + SAVE_SECONDS[hp.architecture]) * pace
    fewest = min(hp.epochs, hp.patience + 1) if hp.patience else hp.epochs
    return Wait(preparing, epoch, hp.epochs, fewest, finishing, basis)


def _base_epoch(hp: HParams) -> float:
    return (hp.train_reviews() + hp.val_size) / BASE_RATE[hp.architecture] * _work(hp)


def seconds_left(wait: Wait, phase: str, epoch: int, batch: int, batches: int, phase_seconds: Mapping[str, float],
                 in_phase: float) -> float | None:
    """Seconds until the results, at most (early stopping may end training sooner); None while no honest figure
    exists: before training, and in the first epoch until MIN_BATCHES batches and MIN_SECONDS have passed.

    `epoch` epochs and `batch` batches of the current one are done; `in_phase` seconds have passed in `phase`;
    `phase_seconds` holds the finished phases' seconds.
    """
    if phase == "training":
        done = epoch * batches + batch
        if done == 0 or (epoch == 0 and (batch < min(MIN_BATCHES, batches) or in_phase < MIN_SECONDS)):
            return None
        per_batch = in_phase / done
        pace = min(max(per_batch * batches / wait.epoch, 0.25), 4.0) if wait.epoch > 0 else 1.0
        return per_batch * (wait.epochs * batches - done) + wait.finishing * pace
    if phase in ("evaluating", "saving"):
        trained = phase_seconds.get("training")
        pace = min(max(trained / (epoch * wait.epoch), 0.25), 4.0) if trained and epoch and wait.epoch > 0 else 1.0
        spent = in_phase + (phase_seconds.get("evaluating", 0.0) if phase == "saving" else 0.0)
        return max(0.0, wait.finishing * pace - spent)
    return None

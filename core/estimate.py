"""How long a run will keep its user waiting, from the click to the results: preparing the data, training, then
scoring the data set's test reviews and saving. Pure functions over the hyperparameters, the data set's sizes and a
run's own numbers.

Epoch times come from this server's own past runs on the same data set when it has any, else from rates measured
on a 2-core machine; preparing and finishing are scaled by how much slower (or faster) than those rates this server
trains.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from statistics import median
from typing import Any, Iterable, Mapping, Sequence

from core import architectures, config
from core.errors import ConfigError
from core.hparams import DEFAULT_DATASET, HParams, Sizes, from_dict, sizes_of
from core.run_record import RunRecord

def _work(hp: HParams) -> float:
    """Relative cost of one review, so runs of other sizes can be compared (the architecture's own measure)."""
    return architectures.get(hp.architecture).work(hp)


def seconds_per_epoch(hp: HParams, past: Iterable[RunRecord] = (), sizes: Sizes | None = None) -> tuple[float, str]:
    """An estimate and where it came from; `sizes`: the data set's (a DatasetInfo will do), looked up by
    `hp.dataset` when not given.

    Only past runs on the same data set and at the same batch size count: an epoch of a few hundred short texts is
    mostly fixed costs, and a batch of 32 costs per review several times what one of 512 does, so such a run's time
    per review, scaled to the transfer preset's 25,000 IMDB reviews of 500 ids at batch 512, made its 40 epochs
    "about 2.1 hours" and the Train page refused it."""
    sizes = sizes or sizes_of(hp.dataset)
    rates = []
    for record in past:
        if record.config.get("architecture") != hp.architecture or not record.history:
            continue
        if (record.config.get("dataset") or DEFAULT_DATASET) != hp.dataset:
            continue
        try:  # on this data set: checked against, and sized by, the sizes in hand, with no lookup per run
            other = from_dict(record.config, sizes)
        except ConfigError:
            continue
        if other.batch_size != hp.batch_size:
            continue
        reviews = other.train_reviews(sizes) + other.val_size
        per_review = median(h["seconds"] for h in record.history if h.get("seconds")) / reviews / _work(other)
        rates.append(per_review)
    reviews = hp.train_reviews(sizes) + hp.val_size
    if rates:
        return median(rates) * reviews * _work(hp), f"from {len(rates)} earlier run(s) on this server"
    return _base_epoch(hp, sizes), "rough figure for a 2-core machine"


SETUP_SECONDS = 1.0  # building and compiling the model, and tracing its first training step
ALMOST_DONE = 2.0  # seconds: below this, say "almost done" rather than a number
# In the first epoch, the pace means something after this many batches and this long: its first seconds hand the
# data to Keras and build the model's graph (a dlwp run said "about 47 s left" with 16 s to go after 3 s)
MIN_BATCHES, MIN_SECONDS = 10, 10.0
TRAIN_COST = 3.0  # one review trained on costs about three validated (forward, backward and update: a forward pass)


@dataclass(frozen=True)
class Wait:
    """The whole wait for one run, in seconds, phase by phase."""

    preparing: float  # reading the split and featurising, building the model
    epoch: float  # one epoch of training (validation included)
    epochs: int  # as many as asked for
    fewest_epochs: int  # as few as early stopping allows (= epochs without patience)
    finishing: float  # scoring the test reviews and saving the run
    basis: str  # where the epoch time comes from
    test_reviews: int  # how many the finishing scores
    validating: float = 0.0  # the validation pass at the end of each epoch (a part of `epoch`)

    @property
    def longest(self) -> float:
        return self.preparing + self.epoch * self.epochs + self.finishing

    @property
    def shortest(self) -> float:
        return self.preparing + self.epoch * self.fewest_epochs + self.finishing

    @property
    def may_stop_early(self) -> bool:
        return self.fewest_epochs < self.epochs


def whole_wait(hp: HParams, past: Iterable[RunRecord] = (), sizes: Sizes | None = None,
               data_ready: bool = False) -> Wait:
    """The estimate before the run starts; `sizes` as for `seconds_per_epoch`; `data_ready` when an earlier run of
    the same configuration has prepared its data already (`core.prepared`), so only the model is built."""
    sizes = sizes or sizes_of(hp.dataset)
    epoch, basis = seconds_per_epoch(hp, past, sizes)
    pace = min(max(epoch / _base_epoch(hp, sizes), 0.25), 4.0)  # this server against the measured rates
    reviews = hp.train_reviews(sizes) + hp.val_size
    arch = architectures.get(hp.architecture)
    featurising = 0.0 if data_ready else reviews * arch.prepare_us * arch.featurise_scale(hp) / 1e6
    preparing = (featurising + SETUP_SECONDS) * pace
    finishing = (sizes.test_size * arch.score_us * (arch.score_scale or arch.featurise_scale)(hp) / 1e6
                 + arch.save_seconds) * pace
    fewest = min(hp.epochs, hp.patience + 1) if hp.patience else hp.epochs
    validating = epoch * hp.val_size / (TRAIN_COST * hp.train_reviews(sizes) + hp.val_size)
    return Wait(preparing, epoch, hp.epochs, fewest, finishing, basis, sizes.test_size, validating)


def refuse_too_long(hp: HParams, past: Iterable[RunRecord] = (), sizes: Sizes | None = None) -> Wait:
    """The estimate, or a ConfigError when its longest wait is above the server's limit
    (SENTIMENT_LAB_MAX_TRAINING_MINUTES), saying what shortens it."""
    wait = whole_wait(hp, past, sizes)
    limit = config.max_training_minutes()
    if wait.longest > limit * 60:
        raise ConfigError(
            f"This configuration would take about {_minutes(wait.longest)} to train, longer than this server allows "
            f"for one training ({_minutes(limit * 60)}, {config.MAX_TRAINING_MINUTES_ENV}). Fewer epochs, fewer "
            "reviews (limit), a shorter maxlen or a smaller model shorten it.")
    return wait


def short_time(seconds: float | None) -> str:
    """A wait or a duration as the pages say it: "under 1 s", "40 s", "2.5 min" ("–" when unknown)."""
    if seconds is None:
        return "–"
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    if minutes >= 48 * 60:
        return f"{minutes / (24 * 60):,.0f} days"
    return f"{minutes / 60:,.1f} hours" if minutes >= 120 else f"{minutes:,.0f} minutes"


def _base_epoch(hp: HParams, sizes: Sizes) -> float:
    """An epoch at the rates measured on a 2-core machine."""
    return (hp.train_reviews(sizes) + hp.val_size) / architectures.get(hp.architecture).base_rate * _work(hp)


def seconds_left(wait: Wait, phase: str, epoch: int, batch: int, batches: int, phase_seconds: Mapping[str, float],
                 in_phase: float, history: Sequence[Mapping[str, Any]] = ()) -> float | None:
    """Seconds until the results, at most (early stopping may end training sooner); None while no honest figure
    exists: before training, in the first epoch until MIN_BATCHES batches and MIN_SECONDS have passed, and during
    its validation pass.

    `epoch` epochs and `batch` batches of the current one are done; `in_phase` seconds have passed in `phase`;
    `phase_seconds` holds the finished phases' seconds; `history` the finished epochs' metrics, whose `seconds` and
    `val_seconds` (its validation pass) time the batches and the validation passes apart. Counted as batches, a
    validation pass made the figure grow while it ran (an LSTM's from 76 s to 3.5 min); the first epoch's batches,
    which include building the model's graph, made it several times too long near the end.
    """
    if phase == "training":
        done = epoch * batches + batch
        if done == 0 or (epoch == 0 and (batch < min(MIN_BATCHES, batches) or in_phase < MIN_SECONDS)):
            return None
        validating = batches > 0 and batch >= batches
        if epoch == 0 and validating:  # the first validation pass: no pace of batches apart from it yet
            return None
        per_batch, val_pass, val_elapsed = _training_pace(wait, done, batches, in_phase, history[:epoch])
        pace = min(max((per_batch * batches + val_pass) / wait.epoch, 0.25), 4.0) if wait.epoch > 0 else 1.0
        passes_ahead = wait.epochs - epoch - (1 if validating else 0)
        return (per_batch * (wait.epochs * batches - done) + val_pass * passes_ahead
                + (max(0.0, val_pass - val_elapsed) if validating else 0.0) + wait.finishing * pace)
    if phase in ("evaluating", "saving"):
        trained = phase_seconds.get("training")
        pace = min(max(trained / (epoch * wait.epoch), 0.25), 4.0) if trained and epoch and wait.epoch > 0 else 1.0
        spent = in_phase + (phase_seconds.get("evaluating", 0.0) if phase == "saving" else 0.0)
        return max(0.0, wait.finishing * pace - spent)
    return None


MEASURED_RUNS = 9  # the newest finished runs of the same settings whose durations a forecast takes the median of


def measured_run(hp: HParams, past: Iterable[RunRecord]) -> float | None:
    """Start-to-result seconds of this server's newest finished runs with these very settings (a class answering
    one assignment), or None: what a run took here, with the share of the cores its neighbours left it, which the
    rates per review cannot know (on a fresh server they forecast a fast class 2.4 times too long, mslearn's 40%
    too short; README "A class presses Start at once")."""
    settings = hp.to_dict()
    took = sorted(((r.finished_at, r.finished_at - r.started_at) for r in past
                   if r.status == "finished" and r.started_at and r.finished_at and r.config == settings),
                  reverse=True)[:MEASURED_RUNS]
    return median(seconds for _, seconds in took) if took else None


def queue_forecast(waiting: Sequence[float], training_left: Sequence[float], slots: int) -> list[tuple[float, float]]:
    """Seconds from now until each waiting run starts and until its result: `slots` trainings run at once; those
    training now free their slots after `training_left` seconds each, and the `waiting` runs (their whole
    estimates, in the order they will start) each take the first slot that frees."""
    free = sorted(training_left)[:max(1, slots)]
    free += [0.0] * (max(1, slots) - len(free))
    heapq.heapify(free)
    times = []
    for seconds in waiting:
        start = heapq.heappop(free)
        times.append((start, start + seconds))
        heapq.heappush(free, start + seconds)
    return times


def _training_pace(wait: Wait, done: int, batches: int, in_phase: float,
                   finished: Sequence[Mapping[str, Any]]) -> tuple[float, float, float]:
    """(seconds per batch, seconds per validation pass, seconds the current validation pass has run) of a run in
    training. With a finished epoch, batches and passes are timed by the finished epochs (the first left out once a
    later one is done: its first batch builds the model's graph); without them, by the `done` batches so far, and
    the validation pass is estimated from them."""
    if not finished:
        per_batch = in_phase / done
        train_part = wait.epoch - wait.validating
        pace = min(max(per_batch * batches / train_part, 0.25), 4.0) if train_part > 0 else 1.0
        return per_batch, wait.validating * pace, 0.0
    val_times = [float(h.get("val_seconds") or 0.0) for h in finished]
    batch_times = [max(float(h.get("seconds") or 0.0) - v, 0.0) / batches for h, v in zip(finished, val_times)]
    per_batch = median(batch_times[1:] or batch_times)
    val_pass = median(val_times[1:] or val_times)
    # since this epoch began, at most: the phase also holds Keras's setup before the first epoch (seconds for
    # multi-hot rows), so the pass may seem further on than it is, and the figure falls faster, never rises
    this_epoch = in_phase - sum(float(h.get("seconds") or 0.0) for h in finished)
    return per_batch, val_pass, max(0.0, this_epoch - per_batch * batches)

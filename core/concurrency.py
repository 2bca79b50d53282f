"""Which trainings may run at the same time on the server's own cores (the thread executor).

With SENTIMENT_LAB_MAX_TRAININGS set, that many run at once, whatever their size. Unset (the default), two run at
once when both are small: each estimated to finish within SMALL_SECONDS (`core.estimate`), and both together within
the memory one training may take (`core.memory`, SENTIMENT_LAB_MAX_TRAINING_GB). A small training spends much of its
time on one core (setting up its model, the Python around each step, scoring and saving), so a second one beside it
uses the other; a long one (an LSTM, `transfer`) keeps both cores busy on its own, and a second would only slow
both down and double the memory. Measured in the README ("A class presses Start at once").

TensorFlow spreads each operation over every core by default, so two trainings at once wait on each other's threads:
`share_cores` gives each training its share of the cores instead, before TensorFlow starts.
"""
from __future__ import annotations

import math
import os
from typing import Any, Iterable, MutableMapping, Sequence

from core import config, estimate, memory
from core.errors import ConfigError
from core.hparams import HParams
from core.run_record import RunRecord

DEFAULT_TOGETHER = 2  # small trainings at once when SENTIMENT_LAB_MAX_TRAININGS is unset
SMALL_SECONDS = 120.0  # the longest estimated training that runs beside another by default
SMALL_STEPS = 2_000  # and the most batches it may fit: the estimate's rates per review do not see that tiny
# batches cost far more per review (a dlwp of 4,000 reviews in batches of 16 for 60 epochs is 15,000 steps)
OP_THREADS_ENV = "TF_NUM_INTRAOP_THREADS"  # TensorFlow's threads per operation, read when its runtime starts


def small(hp: HParams, past: Iterable[RunRecord] = ()) -> bool:
    """Whether a training is short enough to share the cores with another by default."""
    steps = math.ceil(hp.train_reviews() / hp.batch_size) * hp.epochs
    return steps <= SMALL_STEPS and estimate.whole_wait(hp, past).longest <= SMALL_SECONDS


def may_run_together(trainings: Sequence[HParams], past: Sequence[RunRecord] = ()) -> bool:
    """Whether these trainings may all run at once under the default: every one small, and their memory within one
    training's limit (the lab's own memory counted once)."""
    if len(trainings) <= 1:
        return True
    if len(trainings) > DEFAULT_TOGETHER or not all(small(hp, past) for hp in trainings):
        return False
    estimates = [memory.estimate(hp) for hp in trainings]
    own = sum(e.total - e.runtime for e in estimates)
    return max(e.runtime for e in estimates) + own <= config.max_training_bytes()


def runner_settings() -> dict[str, Any]:
    """The Runner's arguments from this server's settings: SENTIMENT_LAB_MAX_TRAININGS at once when it is set, else
    DEFAULT_TOGETHER small trainings at once (`may_run_together`)."""
    if os.environ.get(config.MAX_TRAININGS_ENV, "").strip():
        return {"max_concurrent": config.max_concurrent_trainings()}
    return {"max_concurrent": DEFAULT_TOGETHER, "small_together": True}


def op_threads(at_once: int, cores: int) -> int:
    """Threads per TensorFlow operation when `at_once` trainings share `cores`: an equal share, at least one."""
    return max(1, cores // max(1, at_once))


def share_cores(env: MutableMapping[str, str] = os.environ) -> None:
    """Set in `env`, before TensorFlow starts in the processes that train, each training's share of the cores (a
    value the operator set is kept; with invalid settings, TensorFlow's default, the error being the Runner's to say).

    Measured on 2 cores (README "A class presses Start at once"): 30 mslearn runs, two at once, 3 min 58 s -> 3 min
    26 s and 3 min 33 s at one thread each, the same test accuracy; alone, a dlwp fit 4.1 -> 3.0 s and an mslearn fit
    12.1 -> 10.3 s. An lstm's training keeps its pace (its operations run side by side) and only its scoring slows."""
    try:
        at_once = runner_settings()["max_concurrent"]
    except ConfigError:
        return
    env.setdefault(OP_THREADS_ENV, str(op_threads(at_once, len(os.sched_getaffinity(0)))))

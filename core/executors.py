"""Where a training runs: on a thread of this process (`thread`, the default) or as a task on a Ray cluster (`ray`).

The runner keeps the queue, the live state and the run store; an executor only turns a `Job` into a
`training.Result`, reporting progress through the job's hooks as it goes. Ray is imported only by `RayExecutor`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core import registry, training
from core.datasets import Dataset
from core.errors import ConfigError
from core.hparams import HParams
from core.training import Hooks, Result

EXECUTOR_ENV = "SENTIMENT_LAB_EXECUTOR"
RAY_CPUS_ENV = "SENTIMENT_LAB_RAY_CPUS"
EXECUTORS = ("thread", "ray")


@dataclass(frozen=True)
class Job:
    """One training to run, and the data set it trains on (`hp.dataset`, loaded)."""

    hp: HParams
    probes: tuple[str, ...]
    out_dir: Path
    dataset: Dataset
    nice: int = 0


class Executor(Protocol):
    #: True when something other than the server's queue decides how many trainings run at once (a cluster).
    schedules_itself: bool

    def train(self, job: Job, hooks: Hooks) -> Result: ...


class ThreadExecutor:
    """Trains in the calling thread (the runner gives each run its own), writing the bundle to the run folder."""

    schedules_itself = False

    def train(self, job: Job, hooks: Hooks) -> Result:
        return training.train(job.hp, job.dataset, job.probes, job.out_dir, hooks, job.nice)


def selected() -> str:
    """The executor SENTIMENT_LAB_EXECUTOR names (default `thread`), checked."""
    name = os.environ.get(EXECUTOR_ENV, "").strip().lower() or "thread"
    if name not in EXECUTORS:
        raise ConfigError(f"{EXECUTOR_ENV} must be one of {', '.join(EXECUTORS)}, not {name!r}.")
    return name


def ray_cpus() -> int:
    """CPUs one training takes on the cluster (SENTIMENT_LAB_RAY_CPUS, default 1)."""
    raw = os.environ.get(RAY_CPUS_ENV, "").strip() or "1"
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 256:
        raise ConfigError(f"{RAY_CPUS_ENV} must be a whole number of CPUs from 1 to 256, not {raw!r}.")
    return value


def from_env() -> Executor:
    """The executor of this process's settings; one Ray executor (one cluster connection) per process."""
    if selected() == "ray":
        from core.ray_executor import RayExecutor

        return registry.shared(("executor", "ray", ray_cpus()), lambda: RayExecutor(num_cpus=ray_cpus()))
    return ThreadExecutor()

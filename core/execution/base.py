"""What every executor shares: the job it is given and the protocol it follows, and the default thread executor.

The runner keeps the queue, the live state and the run store; an executor only turns a `Job` into a
`training.Result`, reporting progress through the job's hooks as it goes. Backends import this module; the runner
picks one through `core.execution.from_env`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core import training
from core.data.datasets import Dataset
from core.hparams import HParams
from core.training import Hooks, Result


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

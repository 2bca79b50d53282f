"""An executor for tests whose run only has to hold the trainer: the queue, permission and stop rules see a run that
is training, without anyone paying for a training.

The runner hands each job to `GateExecutor.train` on the run's own thread, as it does to the real executors. The
first `held` jobs wait there until their run is asked to stop, then end the way a run stopped before its first
epoch ends (status stopped, no model); every later job trains for real (`ThreadExecutor`).
"""
from __future__ import annotations

import threading
import time

from core.execution.base import Job, ThreadExecutor
from core.training import Hooks, Result

HOLD_SECONDS = 600  # a held run that nobody stops fails after this, instead of hanging the test session


class GateExecutor:
    schedules_itself = False

    def __init__(self, held: int = 1) -> None:
        self._left = held
        self._lock = threading.Lock()
        self.holding = threading.Event()  # set once a job is held, i.e. its run is training

    def train(self, job: Job, hooks: Hooks) -> Result:
        with self._lock:
            hold = self._left > 0
            self._left -= hold
        if not hold:
            return ThreadExecutor().train(job, hooks)
        hooks.phase("preparing", 0)
        hooks.phase("training", 1)
        self.holding.set()
        deadline = time.monotonic() + HOLD_SECONDS
        while not hooks.should_stop():
            if time.monotonic() > deadline:
                raise RuntimeError(f"a run held by the test's gate was not stopped within {HOLD_SECONDS} s")
            time.sleep(0.01)
        return Result(stopped=True)

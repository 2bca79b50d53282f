"""Where a training runs: on a thread of this process (`thread`, the default) or as a task on a Ray cluster (`ray`).

`core.execution.base` holds what every executor shares; this package chooses one from the process's settings.
Ray is imported only by `core.execution.ray_executor`, and only when it is chosen.
"""
from __future__ import annotations

import os
from core import registry
from core.errors import ConfigError
from core.execution.base import Executor, ThreadExecutor

EXECUTOR_ENV = "SENTIMENT_LAB_EXECUTOR"
RAY_CPUS_ENV = "SENTIMENT_LAB_RAY_CPUS"
EXECUTORS = ("thread", "ray")


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
        from core.execution.ray_executor import RayExecutor

        return registry.shared(("executor", "ray", ray_cpus()), lambda: RayExecutor(num_cpus=ray_cpus()))
    return ThreadExecutor()

"""Training steps back for everything else on the machine: its threads run at a lower CPU priority (nice).

A classroom server, or a teacher's laptop that also shows the app on a projector, should answer page views and
scores first and train with what is left. Linux only; elsewhere nothing changes.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

TENSORFLOW_THREADS = "tf_"  # the name prefix of TensorFlow's compute threads (tf_Compute, tf_graph_runner…)


def lower_training_priority(nice: int) -> None:
    """Raise the niceness of the calling thread and of TensorFlow's compute threads to at least `nice`.

    TensorFlow's thread pools are shared by the whole process, so scoring also runs on them at this priority;
    a score takes milliseconds, and the page scripts themselves keep their own. Niceness only ever goes up:
    lowering it again would need privileges a normal user does not have.
    """
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    _renice(threading.get_native_id(), nice)
    for tid in tensorflow_threads():
        _renice(tid, nice)


def tensorflow_threads() -> list[int]:
    """The kernel ids of this process's TensorFlow threads."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        try:
            if (task / "comm").read_text().startswith(TENSORFLOW_THREADS):
                found.append(int(task.name))
        except OSError:  # the thread ended while we looked
            continue
    return found


def _renice(tid: int, nice: int) -> None:
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError:  # the thread ended while we looked
        pass

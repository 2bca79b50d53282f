"""Ctrl-C for the command line: it stops the command, even where Python would drop it.

Python raises KeyboardInterrupt wherever the main thread is when Ctrl-C arrives, and CPython's io drops an exception
raised while it calls a file's Python methods from C (a buffered reader's `tell` as it opens, a `close` when the
garbage collector ends it): an archive import ran on to its end after Ctrl-C (about once in 30 to 60 presses, with
the import held still as Ctrl-C arrived). So, after Ctrl-C, SIGALRM checks every RETRY_SECONDS and raises the
interrupt again while none is on its way to `main` (one that is, in the `finally` blocks it passes through and the
errors they handle, is left to clean up), until `caught()`.
"""
from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

RETRY_SECONDS = 0.2
_HAS_TIMER = hasattr(signal, "setitimer")


def _ctrl_c(signum: int, frame: FrameType | None) -> None:
    signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
    raise KeyboardInterrupt


def _again_if_dropped(signum: int, frame: FrameType | None) -> None:
    signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
    if not _on_its_way():
        raise KeyboardInterrupt


def _on_its_way() -> bool:
    """Whether a KeyboardInterrupt is being handled here, or is the context of what is (an error that a cleanup
    handles while the interrupt passes through it)."""
    exc = sys.exc_info()[1]
    for _ in range(100):  # a context chain has no cycles; the bound only keeps this loop finite whatever happens
        if exc is None:
            return False
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__context__
    return False


@contextmanager
def ctrl_c_until_caught() -> Iterator[None]:
    """Ctrl-C, within it, raises KeyboardInterrupt until `caught()`; for the main thread of `python -m core`. A
    Ctrl-C that the shell has the command ignore (a background job) stays ignored; without SIGALRM (Windows), Ctrl-C
    is Python's own."""
    if not _HAS_TIMER or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    previous_alarm = signal.signal(signal.SIGALRM, _again_if_dropped)
    signal.signal(signal.SIGINT, _ctrl_c)
    try:
        yield
    finally:
        caught()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous_alarm is None else previous_alarm)


def caught() -> None:
    """The command has its KeyboardInterrupt: no more repeats."""
    if _HAS_TIMER:
        signal.setitimer(signal.ITIMER_REAL, 0)

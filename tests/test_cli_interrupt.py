"""Ctrl-C at the command line stops the command even where Python drops the interrupt (core.cli.interrupt).

The whole path, an import of the Stanford archive interrupted in a process of its own, is
tests/test_datasets.py::test_an_interrupted_import_leaves_nothing_and_spares_other_data_sets."""
from __future__ import annotations

import io
import signal
import time

import pytest

from core.cli import interrupt


class ClosedAsCtrlCArrives(io.RawIOBase):
    """A file whose close meets a Ctrl-C: when the garbage collector closes it, CPython's io drops the interrupt."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return 0

    def close(self) -> None:
        signal.raise_signal(signal.SIGINT)
        super().close()  # a Python call: where the interrupt is raised


def busy(seconds: float) -> float:
    """Python work for `seconds` (where a pending interrupt is raised); returns when it started."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        pass
    return started


def test_python_alone_drops_a_ctrl_c_raised_in_a_finalizers_close(terminal_ctrl_c):
    io.BufferedReader(ClosedAsCtrlCArrives()).read()  # no KeyboardInterrupt comes out
    busy(3 * interrupt.RETRY_SECONDS)  # nor later


def test_a_dropped_ctrl_c_is_raised_again(terminal_ctrl_c):
    with interrupt.ctrl_c_until_caught():
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            io.BufferedReader(ClosedAsCtrlCArrives()).read()
            busy(5)
        interrupt.caught()
        assert time.monotonic() - started < 5 * interrupt.RETRY_SECONDS
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_interrupt_on_its_way_out_is_not_raised_again_in_its_cleanup(terminal_ctrl_c):
    cleaned = []
    with interrupt.ctrl_c_until_caught():
        with pytest.raises(KeyboardInterrupt):
            try:
                signal.raise_signal(signal.SIGINT)
                busy(5)
            finally:
                busy(3 * interrupt.RETRY_SECONDS)  # longer than the repeat: not cut short
                try:
                    raise OSError("a file the cleanup could not remove")
                except OSError:
                    busy(3 * interrupt.RETRY_SECONDS)  # nor while it handles an error of its own
                cleaned.append("cleaned up")
        interrupt.caught()
    assert cleaned == ["cleaned up"]


def test_a_ctrl_c_that_the_shell_ignores_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupt.ctrl_c_until_caught():
            signal.raise_signal(signal.SIGINT)
            busy(2 * interrupt.RETRY_SECONDS)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)

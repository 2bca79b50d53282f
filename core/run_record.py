"""A run, in the one shape every layer holds it: the store reads it back, the runner publishes it with its live
state, the class board ranks it, the trainer service sends it over the wire, and pages show it.

`RunRecord` is what is kept of a run (settings, outcome, epochs); `Live` is what only the process training it
knows between the store's writes (phase, batch, queue place). Both turn into JSON-ready dicts and back field by
field, from the dataclass fields themselves (`core.plain`), so a field added here travels everywhere. What is read
back is checked against the field's type: a value of the wrong type (a test accuracy of 'abc', an accuracy of 7, a
missing setting) is read as unknown, so one tampered record cannot break a page.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from core import evaluation, plain
from core.baseline import Baseline
from core.hparams import DEFAULT_DATASET, HParams

ACTIVE = ("queued", "running")
USABLE = ("finished", "stopped")  # a model was saved and can score text


@dataclass(frozen=True)
class Live:
    """A run as the process training it sees it now, safe to read from any thread (it never changes)."""

    hp: HParams
    phase: str = "queued"  # queued, preparing, training, baseline, evaluating, saving, done
    epoch: int = 0  # epochs finished
    batch: int = 0  # batches done in the current epoch
    batches: int = 0  # batches per epoch
    probes: tuple[str, ...] = ()
    probe_scores: tuple[tuple[Any, ...], ...] = ()  # one row per finished epoch
    queue_position: int | None = None
    stop_requested: bool = False
    phase_seconds: dict[str, float] = field(default_factory=dict)  # seconds each finished phase took
    phase_started_at: float | None = None  # when the current phase began

    def to_dict(self) -> dict[str, Any]:
        return plain.plain(self)

    @classmethod
    def from_dict(cls, values: Any) -> Live | None:
        return plain.read(cls, values)


@dataclass(frozen=True)
class RunRecord:
    """One run: configuration, outcome and per-epoch history; `live` while this server (or its trainer) has it."""

    id: int
    preset: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    status: str = ""  # queued, running, finished, stopped, failed, interrupted
    name: str = ""
    note: str = ""
    owner: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    train_seconds: float | None = None
    test_accuracy: float | None = None
    test_loss: float | None = None
    model_dir: str | None = None
    error: str | None = None
    history: tuple[dict[str, Any], ...] = ()
    dataset: str = DEFAULT_DATASET
    dataset_fingerprint: str | None = None
    owner_name: str | None = None
    assignment: str | None = None  # the id of the assignment link it answered
    baseline: Baseline | None = None  # the reference figures on its split, once it has finished
    live: Live | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def title(self) -> str:
        return self.name or f"#{self.id} {self.preset}"

    @property
    def best_epoch(self) -> dict[str, Any] | None:
        """The epoch with the lowest validation loss."""
        return evaluation.lowest_val_loss(self.history)

    @property
    def best_val_accuracy(self) -> float | None:
        scored = [e["val_accuracy"] for e in self.history if e.get("val_accuracy") is not None]
        return max(scored) if scored else None

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values (settings, figures and live state as their dicts)."""
        return plain.plain(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunRecord:
        """A record from `to_dict`'s values or a store row, each field checked (see the module's docstring).
        A record without a whole-number id is a ValueError: nothing else can name the run."""
        record = plain.read(cls, values)
        if record is None:
            raise ValueError(f"A run record needs a whole-number id, not {values.get('id')!r}.")
        return record

    def __post_init__(self) -> None:
        """The rules a field's type cannot say: an accuracy is a share, a run has a data set, and its configuration
        names at least its preset."""
        if self.test_accuracy is not None and not 0 <= self.test_accuracy <= 1:
            object.__setattr__(self, "test_accuracy", None)
        if not self.dataset:
            object.__setattr__(self, "dataset", DEFAULT_DATASET)
        if not self.config:
            object.__setattr__(self, "config", {"preset": self.preset})


def overlay(stored: RunRecord, live: RunRecord | None) -> RunRecord:
    """A stored run with what the process training it knows now (`live`, its runner's snapshot, when there is one):
    its status, live state, and its epochs and outcome where they are newer than the store's."""
    if live is None:
        return stored
    history = live.history if len(live.history) > len(stored.history) else stored.history
    return replace(stored, status=live.status, live=live.live, history=history,
                    test_accuracy=live.test_accuracy if live.test_accuracy is not None else stored.test_accuracy,
                    baseline=live.baseline if live.baseline is not None else stored.baseline)

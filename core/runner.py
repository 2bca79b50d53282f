"""Background training: a queue of runs, each handed to an executor from its own thread, publishing progress
thread-safely.

The queue is fair across students: the next run to start is the oldest queued run of the owner who has waited
longest since their own last start (round-robin), and a student may have at most SENTIMENT_LAB_MAX_QUEUED_PER_USER
runs waiting. Only a run's owner or the teacher may stop it; the teacher may move a queued run to the front.

The executor (`core.execution`: a thread of this process, or a Ray cluster) runs `core.training.train`; this module
keeps the queue, the live state and every write to the run store. Every epoch is written to the store as it
finishes, so a crash loses at most the epoch in progress.
"""
from __future__ import annotations

import itertools
import math
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from core import (baseline, bundle, concurrency, config, estimate, evaluation, execution, memory, pins, prepared,
                  priority, registry)
from core.data import datasets
from core.classroom import people, permissions
from core.classroom.assignments import Assignment
from core.data.datasets import Dataset
from core.errors import LabError, StoreError, disk_full, for_visitors, without_paths
from core.execution.base import Executor, Job
from core.hparams import HParams
from core.classroom.people import Actor, as_actor
from core.run_record import Live, RunRecord
from core.store import RunStore
from core.training import Hooks, Result

STOPPED_BEFORE_EPOCH = "Stopped before the first epoch ended, so there is no model to test or keep."
DISK_FULL = ("The disk holding the lab's files is full (no space left on device), so the run could not be saved; its "
             "partial files were removed. Free some space (or point SENTIMENT_LAB_HOME at a larger disk) and "
             "train again.")
NOT_RECORDED = ("The run ended, but the run database could not be written: {reason} So the run is not recorded yet; "
                "its folder holds its outcome, and the lab records it from there as soon as the database can be "
                "written: it keeps trying while the lab runs, and the next `python -m core` command, page view or "
                "`python -m core runs rebuild` records it.")
DEFAULT_PROBES = pins.IMDB_DEFAULTS  # a training's pinned reviews unless it is given others


class QueueFull(LabError):
    """A student already has as many runs waiting as the class allows."""


@dataclass(frozen=True)
class QueueInfo:
    """Where a queued run stands: its place, the runs ahead of it (queued before it or training now) and how many
    people they belong to (the teacher counts as one), and
    about how long until it starts, from the estimates of the runs ahead and of those training now."""

    position: int
    ahead: int
    students: int
    wait_seconds: float
    result_seconds: float  # until its results: the wait, then its own estimate (`estimate.queue_forecast`)

    def message(self) -> str:
        """What the run's owner reads while it waits: its place, who is ahead of it, and about how long."""
        waiting = self.position - 1
        people = "person" if self.students == 1 else "people"  # the teacher is one of them, not a student
        return (f"Waiting for the trainer: your run is number {self.position} in the queue. Ahead of it: {waiting} "
                f"waiting and {self.ahead - waiting} training (from {self.students} {people}), about "
                f"{estimate.short_time(self.wait_seconds)} to wait; your results in about "
                f"{estimate.short_time(self.result_seconds)}.")


_LIVE_FIELDS = frozenset(f.name for f in fields(Live))


class Run:
    """A handle on one submitted training: read `snapshot()`, ask it to `stop()`, or `wait()` for it."""

    def __init__(self, record: RunRecord, folder: Path, runner: "Runner") -> None:
        self._record = record  # with its live state; replaced whole on every change, so a snapshot never changes
        self.folder = folder  # where it saves its model (the record names it once the model is saved)
        self._runner = runner
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()

    @property
    def id(self) -> int:
        return self._record.id

    @property
    def owner(self) -> str | None:
        return self._record.owner

    @property
    def owner_name(self) -> str | None:
        return self._record.owner_name

    @property
    def hp(self) -> HParams:
        return self._live.hp

    @property
    def _live(self) -> Live:
        assert self._record.live is not None, "a runner's run always has its live state"
        return self._record.live

    @property
    def active(self) -> bool:
        """Queued or training; once False, its snapshot never changes again."""
        return self._record.active

    def snapshot(self) -> RunRecord:
        """The run as it is now, with its live state (its place in the queue, whether a stop was asked)."""
        position = self._runner.queue_position(self)  # before this run's lock: the runner locks runs the other way
        with self._lock:
            return replace(self._record, live=replace(self._live, queue_position=position,
                                                      stop_requested=self._stop.is_set()))

    def stop(self, actor: Actor) -> None:
        """Ask training to end after the current batch; a queued run is cancelled. Its owner or the teacher only."""
        permissions.check_change(actor, self, "stop")
        self._stop.set()
        self._runner._cancel_if_queued(self)

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> RunRecord:
        self._done.wait(timeout)
        return self.snapshot()

    def _update(self, **changes: Any) -> None:
        """Change fields of the record and of its live state (named alike: `phase`, `status`, ...)."""
        live = {k: changes.pop(k) for k in list(changes) if k in _LIVE_FIELDS}
        with self._lock:
            now_live = self._live
            if live.get("phase", now_live.phase) != now_live.phase:  # time each phase as it ends
                now = time.time()
                if now_live.phase_started_at is not None:
                    live["phase_seconds"] = {**now_live.phase_seconds,
                                             now_live.phase: round(now - now_live.phase_started_at, 3)}
                live["phase_started_at"] = now
            self._record = replace(self._record, **changes, live=replace(now_live, **live))

    def _append_epoch(self, metrics: dict[str, Any], scores: tuple[float, ...]) -> None:
        with self._lock:
            history = self._record.history + (dict(metrics),)
            self._record = replace(self._record, history=history, live=replace(
                self._live, probe_scores=self._live.probe_scores + (tuple(scores),), epoch=len(history), batch=0))


def _hooks(run: Run, store: RunStore) -> Hooks:
    """Progress of a training, whichever executor runs it, written to the live state and the run store.

    An epoch the store cannot take (busy or full) does not stop the training: it stays in the live state and the
    run's saved history, and the run's last write records every epoch again; later epochs do not wait for the
    store once one could not be written."""
    unwritten: list[bool] = []

    def phase(name: str, batches: int) -> None:
        changes: dict[str, Any] = {"phase": name}
        if batches:
            changes["batches"] = batches
        if name == "training":
            changes["started_at"] = time.time()
        run._update(**changes)

    def epoch(metrics: dict[str, Any], scores: tuple[float, ...]) -> None:
        if not unwritten:
            try:
                store.add_epoch(run.id, metrics, list(scores))
            except StoreError as exc:
                print(f"run #{run.id}: epoch {metrics.get('epoch')} is not recorded yet, training goes on: {exc}",
                      file=sys.stderr, flush=True)
                unwritten.append(True)
        run._append_epoch(metrics, scores)

    return Hooks(phase=phase, batch=lambda n: run._update(batch=n), epoch=epoch,
                 should_stop=lambda: run.stop_requested)


def stopped_note(result: Result, batches: int, restores_best: bool) -> str:
    """What a stopped run's model is: its whole epochs, and the part of the next one the stop cut short; with early
    stopping on, Keras restores the epoch of the lowest validation loss, and that is the model kept."""
    done = len(result.history)
    whole = f"{done} whole epoch{'' if done == 1 else 's'}"
    best = evaluation.best_epoch(result.history) if restores_best else None
    kept = (f"the model of epoch {best}, the lowest validation loss, is kept and tested" if best else
            "the model as it was at the stop is kept and tested")
    if not result.stopped_at_batch:
        return f"Stopped early by its owner after {whole}; {kept}."
    return (f"Stopped early by its owner during epoch {done + 1}, after {result.stopped_at_batch:,} of {batches:,} "
            f"of its batches: the curves show the {whole}; {kept}.")


def _queue_key(run: Run) -> str | None:
    """Whose turn a run takes in the round-robin and whose limit it counts against (`people.queue_key`)."""
    return people.queue_key(run.owner, run.owner_name)


def _reference_key(dataset: Dataset, hp: HParams) -> tuple:
    return ("baseline", dataset.info.fingerprint, hp.val_size, hp.limit, baseline.VERSION)


def reference(dataset: Dataset, hp: HParams) -> baseline.Baseline | None:
    """The baseline figures of a run's split, computed once per data set content and split in this process (the
    runs of a class mostly share one); None, and a line in the server's log, if they cannot be computed: a missing
    reference figure never costs a finished run."""
    try:
        return registry.shared(_reference_key(dataset, hp), lambda: baseline.for_run(
            dataset.corpus.train, dataset.corpus.test, hp.val_size, hp.limit))
    except Exception as exc:  # noqa: BLE001 - the run's own result stands without its baseline
        print(f"baseline of {dataset.info.name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return None


class Runner:
    """Accepts training requests and runs at most `max_concurrent` at once (with a cluster executor: as many as the
    cluster will take); further requests wait, taking turns by owner."""

    def __init__(self, store: RunStore, max_concurrent: int = 1,
                 dataset: Callable[[str], Dataset] = datasets.load, executor: Executor | None = None,
                 small_together: bool = False) -> None:
        self.store = store
        self.max_concurrent = max_concurrent
        self.small_together = small_together  # only small trainings share the slots (`core.concurrency`)
        self._executor = executor
        self._dataset = dataset  # a data set by name, loaded once per name and content (core.registry)
        self._lock = threading.Lock()
        self._queue: list[Run] = []  # waiting runs in the order they were submitted
        self._front: list[Run] = []  # waiting runs the teacher moved to the front, the latest first
        self._last_start: dict[str | None, int] = {}  # queue key -> when its owner last had a run start (a tick)
        self._ticks = itertools.count()
        self._reserved: Counter[str | None] = Counter()  # submissions between the limit check and the queue
        self._active: set[int] = set()
        self._runs: dict[int, Run] = {}

    def submit(self, hp: HParams, owner: Actor | str | None = None,
               probes: tuple[str, ...] | list[str] = DEFAULT_PROBES, out_dir: Path | None = None,
               assignment: Assignment | None = None) -> Run:
        """Record the run, queue it, and start it when its owner's turn comes and a slot is free.

        `owner` is the Actor submitting (an owner token or None from trusted callers: see `people.as_actor`).
        Refused before anything is recorded: a student over the queue limit (QueueFull), settings outside the
        `assignment`, or training outside assignment links when the teacher has turned that off (PermissionDenied).
        """
        actor = as_actor(owner)
        if assignment is not None:
            assignment.check(hp)
        permissions.check_may_train(actor, assignment is not None, self.store.home)
        memory.refuse_too_large(hp)
        estimate.refuse_too_long(hp, self.store.list(with_history=True))
        key = people.queue_key(actor.token, actor.name)
        with self._lock:
            if not actor.is_teacher:
                self._refuse_over_limit(key)
            self._reserved[key] += 1
        try:
            run_id = self.store.create(hp.preset, hp.to_dict(), actor.token, owner_name=actor.name,
                                       assignment=assignment.id if assignment else None)
            folder = self.store.claim_folder(run_id, out_dir)
            live = Live(hp, probes=tuple(p for p in probes if p.strip()))
            run = Run(replace(self.store.get(run_id), model_dir=None, live=live), folder, self)
            with self._lock:
                self._runs[run_id] = run
                self._queue.append(run)
        finally:
            with self._lock:
                self._reserved[key] -= 1
        self._dispatch()
        return run

    def _refuse_over_limit(self, key: str | None) -> None:
        limit = config.max_queued_per_user()
        waiting = sum(_queue_key(r) == key for r in self._queue + self._front) + self._reserved[key]
        if waiting >= limit:
            runs = "run" if limit == 1 else "runs"
            if key == people.GUESTS:
                raise QueueFull(f"Visitors without a name already have {waiting} {runs} waiting for the trainer, "
                                f"the most they may have between them on this server ({limit}): "
                                "pick your name in the sidebar to queue a run of your own.")
            raise QueueFull(f"You already have {waiting} {runs} waiting for the trainer, the most one student may "
                            f"have on this server ({limit}): wait until it starts, or cancel it (Runs page), so "
                            "everyone gets a turn.")

    def get(self, run_id: int) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def runs(self, owner: str | None = None) -> list[Run]:
        """This process's runs (of one owner, if given), newest first."""
        with self._lock:
            found = [r for r in self._runs.values() if owner is None or r.owner == owner]
        return sorted(found, key=lambda r: r.id, reverse=True)

    def _order(self) -> list[Run]:
        """The waiting runs in the order they will start (call with the lock held): the teacher's front first, then
        turns by owner, the owner who has waited longest since their last start going next."""
        order = list(self._front)
        waiting = list(self._queue)
        last = dict(self._last_start)
        tick = max(last.values(), default=0)
        while waiting:
            first_of: dict[str | None, int] = {}
            for n, run in enumerate(waiting):
                first_of.setdefault(_queue_key(run), n)
            key = min(first_of, key=lambda k: (last.get(k, -1), first_of[k]))
            order.append(waiting.pop(first_of[key]))
            tick += 1
            last[key] = tick
        return order

    def queued(self) -> list[Run]:
        """The waiting runs, next to start first."""
        with self._lock:
            return self._order()

    def queue_position(self, run: Run) -> int | None:
        """1 for the next run to start; None when not waiting."""
        with self._lock:
            for n, queued in enumerate(self._order(), start=1):
                if queued is run:
                    return n
        return None

    def queue_info(self, run: Run, past: Sequence[RunRecord] = ()) -> QueueInfo | None:
        """Where a waiting run stands, and the expected wait and time to its results from the estimates (`past`: runs
        with their epochs, for this server's pace); None when the run is not waiting."""
        with self._lock:
            order = self._order()
            training = [self._runs[i] for i in self._active if i in self._runs]
        if run not in order:
            return None
        ahead = order[:order.index(run)]
        times = self.forecasts(past).get(run.id)
        if times is None:  # it started meanwhile
            return None
        start, result = times
        students = len({_queue_key(r) for r in ahead + training})
        return QueueInfo(len(ahead) + 1, len(ahead) + len(training), students, start, result)

    def forecasts(self, past: Sequence[RunRecord] = ()) -> dict[int, tuple[float, float]]:
        """Seconds from now until each waiting run starts and until its results, by its id, from the estimates of
        the runs ahead of it and of those training (`estimate.queue_forecast`). The first run of a configuration
        prepares its data; the later ones find them ready (`core.prepared`) and, once runs of the same settings have
        finished here, take as long as those did (`estimate.measured_run`)."""
        with self._lock:
            order = self._order()
            training = [self._runs[i] for i in self._active if i in self._runs]
            started = [r.hp for r in self._runs.values() if r._record.status != "queued"]
        ready = {prepared.configuration(hp) for hp in started}
        waits: dict[tuple[HParams, bool], float] = {}  # a class's runs mostly share their settings

        def seconds(hp: HParams) -> float:
            data = prepared.configuration(hp)
            key = (hp, data in ready)
            if key not in waits:
                measured = estimate.measured_run(hp, past) if key[1] else None
                waits[key] = measured or estimate.whole_wait(hp, past, data_ready=key[1]).longest
            ready.add(data)
            return waits[key]

        left = []
        for r in training:  # ahead of every waiting run, for what they have left
            began = r._live.phase_started_at if r._record.started_at is None else r._record.started_at
            elapsed = time.time() - began if began else 0.0
            left.append(max(seconds(r.hp) - elapsed, 0.0))
        slots = self.max_concurrent
        if self.small_together and not all(concurrency.small(r.hp) for r in order + training):
            slots = 1  # a large training ahead runs alone (an estimate: small ones may still pair up around it)
        times = estimate.queue_forecast([seconds(r.hp) for r in order], left, slots)
        return {r.id: t for r, t in zip(order, times)}

    def move_to_front(self, run_id: int, actor: Actor) -> None:
        """Start this waiting run next (the teacher only)."""
        permissions.require_teacher(actor, "move a run to the front of the queue")
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run not in self._queue + self._front:
                raise LabError(f"Run #{run_id} is not waiting in the queue any more.")
            for line in (self._queue, self._front):
                if run in line:
                    line.remove(run)
            self._front.insert(0, run)

    def _cancel_if_queued(self, run: Run) -> None:
        with self._lock:
            line = next((q for q in (self._queue, self._front) if run in q), None)
            if line is None:
                return
            line.remove(run)
        try:
            self._end(run, "stopped", error="Cancelled before it started.")
        finally:
            run._done.set()

    def executor(self) -> Executor:
        """The executor given, or the one SENTIMENT_LAB_EXECUTOR selects (a ConfigError if it names none)."""
        return self._executor if self._executor is not None else execution.from_env()

    def _limit(self) -> float:
        """How many runs may leave the queue at once: all of them when a cluster schedules them itself."""
        try:
            return math.inf if self.executor().schedules_itself else self.max_concurrent
        except LabError:  # the run that starts will fail and say why
            return self.max_concurrent

    def _dispatch(self) -> None:
        limit = self._limit()
        with self._lock:
            starting = []
            while (self._queue or self._front) and len(self._active) < limit:
                run = self._order()[0]
                if self.small_together and limit != math.inf and not concurrency.may_run_together(
                        [self._runs[i].hp for i in self._active] + [run.hp]):
                    break  # a large training runs alone; the queue's order stays as it is
                (self._front if run in self._front else self._queue).remove(run)
                self._last_start[_queue_key(run)] = next(self._ticks)
                self._active.add(run.id)
                run._update(status="running", phase="preparing")  # never "queued" without a place in the queue
                starting.append(run)
        for run in starting:
            threading.Thread(target=self._work, args=(run,), name=f"train-run-{run.id}", daemon=True).start()

    def _work(self, run: Run) -> None:
        try:
            nice = config.training_nice()
            executor = self.executor()
            priority.lower_training_priority(nice)
            self.store.mark_running(run.id)
            dataset = self._dataset(run.hp.dataset)
            self.store.set_dataset_fingerprint(run.id, dataset.info.fingerprint)
            job = Job(run.hp, run._live.probes, run.folder, dataset, nice)
            if not registry.has(_reference_key(dataset, run.hp)):  # the first run of a split: made while it trains
                threading.Thread(target=reference, args=(dataset, run.hp), name="baseline", daemon=True).start()
            result = executor.train(job, _hooks(run, self.store))
            figures = None
            if result.out_dir is not None:
                run._update(phase="baseline")
                figures = reference(dataset, run.hp)
            self._record(run, result, figures)
        except Exception as exc:  # noqa: BLE001 - a failure becomes the run's status, never a dead thread
            self._fail(run, exc)
        finally:
            if run.active:  # whatever went wrong above, a run whose thread ends is never left running
                run._update(status="failed", phase="done", finished_at=time.time(),
                            error="The training ended without an outcome; see the server's log.")
            with self._lock:
                self._active.discard(run.id)
            run._done.set()
            self._dispatch()

    def _fail(self, run: Run, exc: Exception) -> None:
        """A failed run: its incomplete files removed, its live state ended, then its record (which may fail too)."""
        full = str(exc) if isinstance(exc, LabError) else f"{type(exc).__name__}: {exc}"
        print(f"run #{run.id} failed: {full}", file=sys.stderr, flush=True)  # the server's log keeps the paths
        if not isinstance(exc, (LabError, OSError)):
            traceback.print_exc()
        if disk_full(exc):
            message = DISK_FULL
        else:
            message = without_paths(for_visitors(exc) if isinstance(exc, LabError) else full)
        try:
            bundle.discard_incomplete(run.folder)
        except OSError as again:
            print(f"run #{run.id}: its partial files could not be removed: {again}", file=sys.stderr, flush=True)
        self._end(run, "failed", error=message)

    def _record(self, run: Run, result: Result, figures: baseline.Baseline | None = None) -> None:
        """The outcome (with the baseline `figures` of its split) in the store and the live state; a run without a
        finished epoch keeps no model."""
        if result.out_dir is None:
            self._end(run, "stopped", train_seconds=result.train_seconds, error=STOPPED_BEFORE_EPOCH)
            return
        note = stopped_note(result, run._live.batches, bool(run.hp.patience)) if result.stopped else None
        self._end(run, "stopped" if result.stopped else "finished", {"model_dir": str(result.out_dir)},
                  train_seconds=result.train_seconds, test_accuracy=result.test_accuracy, test_loss=result.test_loss,
                  error=note, baseline=figures)

    def _end(self, run: Run, status: str, live: dict[str, Any] | None = None, **outcome: Any) -> None:
        """Record how a run ended, with its epochs, then end its live state (always, whatever the store does).

        A store that cannot be written now (another program holds it locked past the wait, or the disk is full) is
        tried again in the background while this process lives; the run folder's marker already holds the outcome,
        so a later start records it otherwise."""
        epochs = list(zip(run._record.history, (list(p) for p in run._live.probe_scores)))
        changes = {**(live or {}), **outcome}
        try:
            self.store.finish(run.id, status, history=epochs, **outcome)
        except StoreError as exc:
            print(f"run #{run.id} ended {status}, but is not recorded yet: {exc}", file=sys.stderr, flush=True)
            note = NOT_RECORDED.format(reason=without_paths(str(exc)))
            changes["error"] = f"{outcome['error']} {note}" if outcome.get("error") else note
            threading.Thread(target=self._record_later, args=(run.id, status, epochs, outcome),
                             name=f"record-run-{run.id}", daemon=True).start()
        finally:
            run._update(status=status, phase="done", finished_at=time.time(), **changes)

    def _record_later(self, run_id: int, status: str, epochs: list, outcome: dict[str, Any]) -> None:
        delay = 5.0
        while True:
            time.sleep(delay)
            try:
                self.store.finish(run_id, status, history=epochs, **outcome)
                print(f"run #{run_id} is recorded now.", file=sys.stderr, flush=True)
                return
            except StoreError:
                delay = min(delay * 2, 60.0)

"""One training queue for several web processes: the lab's Runner in a process of its own, answering on a Unix
socket (`core.serving.trainer_wire`). `python -m core serve` starts it beside the web processes, so the class shares one
fair queue and one trainer however many processes serve the pages.

Requests (one JSON object per connection, `op` names it): `state` (every run's snapshot and the queue's order),
`submit`, `stop`, `move_to_front`, `queue_info`, `forecasts`. A refusal comes back as `{"error": {...}}` with the LabError's
kind and message; a malformed request (not JSON, a missing field, a value of the wrong kind) is a BadRequest that
says which part is wrong; anything else that goes wrong is reported as a failed request, and the service keeps
serving.
"""
from __future__ import annotations

import os
import signal
import socketserver
import threading
import time
import traceback
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, Callable

from core import concurrency, hparams
from core.classroom import assignments
from core.data import datasets
from core.serving import trainer_wire
from core.errors import LabError, RunNotFoundError, shortened
from core.classroom.people import CLI
from core.runner import Run, Runner
from core.run_record import RunRecord
from core.store import RunStore
from core.serving.trainer_wire import BadRequest, actor_from_dict

PAST_MAX_AGE_S = 30.0  # how old the earlier runs' epochs behind a queue estimate may be


class TrainerService:
    """The runner and the answers to each request kind; thread-safe because the Runner is."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._past: tuple[float, list[RunRecord]] = (0.0, [])
        self._past_lock = threading.Lock()
        self._ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "state": self._state, "submit": self._submit, "stop": self._stop,
            "move_to_front": self._move_to_front, "queue_info": self._queue_info, "forecasts": self._forecasts,
        }

    def answer(self, line: bytes) -> dict[str, Any]:
        """The answer to one request line: its result, or `{"error": ...}` saying what was refused or wrong."""
        try:
            request = trainer_wire.request_from_line(line)
            op = self._ops.get(request["op"])
            if op is None:
                raise BadRequest(f"Unknown trainer request {shortened(request['op'])!r}: one of "
                                 f"{', '.join(self._ops)}.")
            return op(request)
        except LabError as exc:
            return {"error": trainer_wire.error_to_dict(exc)}

    def _run(self, request: dict[str, Any]) -> Run:
        run_id = trainer_wire.run_id(request)
        run = self.runner.get(run_id)
        if run is None:
            raise RunNotFoundError(f"Run #{run_id} is not known to the trainer.")
        return run

    def _state(self, request: dict[str, Any]) -> dict[str, Any]:
        """Every run's id, the snapshots of those the asker does not hold as ended (`final`: an ended run never
        changes again, so a long lesson's runs are not sent on every read), and the queue's order."""
        final = set(trainer_wire.run_ids(request, "final"))
        runs = self.runner.runs()
        return {"ids": [run.id for run in runs],
                "runs": [run.snapshot().to_dict() for run in runs if run.active or run.id not in final],
                "queue": [run.id for run in self.runner.queued()]}

    def _submit(self, request: dict[str, Any]) -> dict[str, Any]:
        hp = _settings(trainer_wire.field(request, "hp", dict, "the run's settings, an object"))
        actor = actor_from_dict(trainer_wire.field(request, "actor", dict, "the person asking, an object"))
        probes = trainer_wire.texts(request, "probes", "pinned reviews")
        link = trainer_wire.field(request, "assignment", str, "an assignment id (text) or null", optional=True)
        assignment = assignments.load(link, self.runner.store.home) if link else None
        return {"id": self.runner.submit(hp, owner=actor, probes=tuple(probes), assignment=assignment).id}

    def _stop(self, request: dict[str, Any]) -> dict[str, Any]:
        run = self._run(request)
        run.stop(actor_from_dict(trainer_wire.field(request, "actor", dict, "the person asking, an object")))
        return {}

    def _move_to_front(self, request: dict[str, Any]) -> dict[str, Any]:
        actor = actor_from_dict(trainer_wire.field(request, "actor", dict, "the person asking, an object"))
        self.runner.move_to_front(trainer_wire.run_id(request), actor)
        return {}

    def _queue_info(self, request: dict[str, Any]) -> dict[str, Any]:
        info = self.runner.queue_info(self._run(request), self._past_runs())
        return {"info": None if info is None else info.__dict__}

    def _forecasts(self, request: dict[str, Any]) -> dict[str, Any]:
        """Every waiting run's expected start and results, in seconds from now: [id, start, result] each."""
        return {"forecasts": [[i, *t] for i, t in self.runner.forecasts(self._past_runs()).items()]}

    def _past_runs(self) -> list[RunRecord]:
        """Earlier runs with their epochs, for the pace of this server, read at most every PAST_MAX_AGE_S."""
        with self._past_lock:
            read_at, past = self._past
            if time.monotonic() - read_at > PAST_MAX_AGE_S:
                past = self.runner.store.list(with_history=True)
                self._past = (time.monotonic(), past)
            return past


def _settings(values: dict[str, Any]) -> hparams.HParams:
    """A run's settings from a request, validated as every other way in is; what is missing or of the wrong kind is
    named (a BadRequest), never a TypeError."""
    required = [f.name for f in fields(hparams.HParams) if f.default is MISSING and f.default_factory is MISSING]
    missing = [name for name in required if name not in values]
    if missing:
        raise BadRequest(f"`hp` lacks {', '.join(missing)}.")
    try:
        return hparams.from_dict(values)
    except (TypeError, ValueError, AttributeError) as exc:
        raise BadRequest(f"`hp` holds settings of the wrong kind ({shortened(exc, 200)}).") from None


class _Handler(socketserver.StreamRequestHandler):
    timeout = 60.0  # a connection that never sends its request does not keep a thread forever

    def handle(self) -> None:
        service: TrainerService = self.server.service  # type: ignore[attr-defined]
        try:
            answer = service.answer(self.rfile.readline(trainer_wire.MAX_LINE + 1))
        except Exception as exc:  # noqa: BLE001 - a fault of the service's own must not end the class's trainer
            traceback.print_exc()
            answer = {"error": {"kind": "LabError", "message": f"The trainer could not answer: {type(exc).__name__}"}}
        trainer_wire.send(self.connection, answer)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(path: Path, runner: Runner | None = None) -> _Server:
    """Listen on `path` (a fresh socket, only this user may connect) and answer on background threads; `runner`
    defaults to one over the lab home's run store."""
    runner = runner or Runner(RunStore(), **concurrency.runner_settings())
    trainer_wire.claim(path)
    old_mask = os.umask(0o177)
    try:
        server = _Server(str(path), _Handler)
    finally:
        os.umask(old_mask)
    server.service = TrainerService(runner)  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, name="trainer-service", daemon=True).start()
    return server


def _warm_up() -> None:
    """Load Keras and the IMDB reviews before the first run asks for them, so a class's first training starts in
    seconds instead of waiting for imports (a failure here is the first run's to report)."""
    try:
        import keras  # noqa: F401

        datasets.load()
    except Exception:  # noqa: BLE001 - the run that needs it will fail with the clear message
        pass


def run_until_stopped(path: Path) -> int:
    """The trainer service as a process of its own, until SIGTERM or SIGINT; a training in progress is stopped
    after its current batch and recorded as stopped, so its finished epochs are kept."""
    server = serve(path)
    threading.Thread(target=_warm_up, name="trainer-warm-up", daemon=True).start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(f"trainer service listening on {path}", flush=True)
    done.wait()
    server.shutdown()
    server.server_close()
    path.unlink(missing_ok=True)  # at once: a new lab may start while the training in progress is being stopped
    runner: Runner = server.service.runner  # type: ignore[attr-defined]
    for run in runner.runs():
        if run.snapshot().active:
            run.stop(CLI)
            run.wait(timeout=60)
    return 0

"""The training queue as a web process sees it when the class is served by several processes: the same calls as
`core.runner.Runner`, answered by the one trainer service (`core.serving.trainer_service`).

Every page view of every session reads the runs' live state, so that state is fetched once per STATE_MAX_AGE_S
for the whole process and shared; a change made from this process (submit, stop, move) is seen at once.
"""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from core.serving import trainer_wire
from core.classroom.assignments import Assignment
from core.hparams import HParams
from core.classroom.people import Actor, as_actor
from core.run_record import RunRecord
from core.runner import DEFAULT_PROBES, QueueInfo, Run
from core.store import RunStore
from core.serving.trainer_wire import TrainerUnavailable

STATE_MAX_AGE_S = 0.3  # live views refresh every second or more; a class shares one read per this interval
FORECAST_MAX_AGE_S = 2.0  # the class board's expected times, read once per this interval for the whole process
TIMEOUT_S = 30.0


class RemoteRun:
    """A run handled by the trainer service: the same reads and `stop` as a local `core.runner.Run`."""

    def __init__(self, client: "RunnerClient", snapshot: RunRecord) -> None:
        self._client = client
        self._first = snapshot

    @property
    def id(self) -> int:
        return self._first.id

    @property
    def owner(self) -> str | None:
        return self._first.owner

    @property
    def owner_name(self) -> str | None:
        return self._first.owner_name

    def snapshot(self) -> RunRecord:
        return self._client._snapshots().get(self.id, self._first)

    @property
    def stop_requested(self) -> bool:
        return self.snapshot().live.stop_requested

    def stop(self, actor: Actor) -> None:
        self._client._call("stop", id=self.id, actor=trainer_wire.actor_to_dict(actor))

    def wait(self, timeout: float | None = None) -> RunRecord:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (snap := self._client._snapshots(fresh=True).get(self.id, self._first)).active:
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        return snap


AnyRun = Run | RemoteRun  # what a page holds: a run of this process's queue or of the shared trainer


class RunnerClient:
    """The trainer service at `path`, for a web process; `store` is this process's own view of the run store."""

    def __init__(self, store: RunStore, path: Path) -> None:
        self.store = store
        self.path = path
        self._lock = threading.Lock()
        self._read_at = -1.0
        self._runs: dict[int, RunRecord] = {}
        self._queue: list[int] = []
        self._forecast: tuple[float, float, dict[int, tuple[float, float]]] = (-1.0, 0.0, {})  # read at, wall, times

    def _call(self, op: str, **request: Any) -> dict[str, Any]:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(TIMEOUT_S)
                sock.connect(str(self.path))
                trainer_wire.send(sock, {"op": op, **request})
                answer = trainer_wire.receive(sock)
        except OSError as exc:
            raise TrainerUnavailable("The lab's trainer service is not answering, so trainings cannot be started or "
                                     "followed right now; ask whoever runs the server to restart it "
                                     "(`python -m core serve`).") from exc
        if op != "state":
            self._read_at = -1.0  # the next read sees this change
        if "error" in answer:
            raise trainer_wire.error_from_dict(answer["error"])
        return answer

    def _snapshots(self, fresh: bool = False) -> dict[int, RunRecord]:
        with self._lock:
            if fresh or time.monotonic() - self._read_at > STATE_MAX_AGE_S:
                state = self._call("state", final=[i for i, s in self._runs.items() if not s.active])
                changed = {s.id: s for s in map(RunRecord.from_dict, state["runs"])}
                self._runs = {i: changed.get(i) or self._runs[i] for i in state["ids"]}
                self._queue = list(state["queue"])
                self._read_at = time.monotonic()
            return self._runs

    def submit(self, hp: HParams, owner: Actor | str | None = None,
               probes: tuple[str, ...] | list[str] = DEFAULT_PROBES, assignment: Assignment | None = None
               ) -> RemoteRun:
        answer = self._call("submit", hp=hp.to_dict(), actor=trainer_wire.actor_to_dict(as_actor(owner)),
                            probes=list(probes), assignment=assignment.id if assignment else None)
        run = self.get(answer["id"])
        assert run is not None, "the trainer forgot a run it just queued"
        return run

    def get(self, run_id: int) -> RemoteRun | None:
        snap = self._snapshots().get(run_id)
        return None if snap is None else RemoteRun(self, snap)

    def runs(self, owner: str | None = None) -> list[RemoteRun]:
        """The trainer's runs (of one owner, if given), newest first."""
        found = [s for s in self._snapshots().values() if owner is None or s.owner == owner]
        return [RemoteRun(self, s) for s in sorted(found, key=lambda s: s.id, reverse=True)]

    def queued(self) -> list[RemoteRun]:
        """The waiting runs, next to start first."""
        snapshots = self._snapshots()
        return [RemoteRun(self, snapshots[i]) for i in self._queue if i in snapshots]

    def queue_info(self, run: RemoteRun, past: Sequence[RunRecord] = ()) -> QueueInfo | None:
        """Where a waiting run stands (the service estimates from its own read of the earlier runs)."""
        info = self._call("queue_info", id=run.id)["info"]
        return None if info is None else QueueInfo(**info)

    def forecasts(self, past: Sequence[RunRecord] = ()) -> dict[int, tuple[float, float]]:
        """Seconds from now until each waiting run starts and until its results (the service estimates from its own
        read of the earlier runs); read at most once per FORECAST_MAX_AGE_S, the seconds counted down meanwhile."""
        with self._lock:
            read_at, wall, times = self._forecast
            if time.monotonic() - read_at > FORECAST_MAX_AGE_S:
                answer = self._call("forecasts")["forecasts"]
                wall, times = time.time(), {int(i): (float(a), float(b)) for i, a, b in answer}
                self._forecast = (time.monotonic(), wall, times)
        gone = time.time() - wall
        return {i: (max(a - gone, 0.0), max(b - gone, 0.0)) for i, (a, b) in times.items()}

    def move_to_front(self, run_id: int, actor: Actor) -> None:
        self._call("move_to_front", id=run_id, actor=trainer_wire.actor_to_dict(actor))

"""What the web processes and the trainer service say to each other: one JSON line each way per request, over a
Unix socket in the lab's home that only this user can open.

JSON, never pickle: a web process trusts the service's answers and the service trusts the web processes (they
checked the visitor's identity), but neither executes what it reads.
"""
from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from core import errors, hparams
from core.errors import LabError
from core.people import Actor, PermissionDenied

TRAINER_ENV = "SENTIMENT_LAB_TRAINER_SOCKET"
MAX_LINE = 64 * 1024 * 1024  # a state answer with every run's epochs stays far below this


class TrainerUnavailable(LabError):
    """The trainer service does not answer (it was stopped, or is still starting)."""


def socket_path() -> Path | None:
    """The trainer service's socket when the web processes share one (`python -m core serve`), else None."""
    value = os.environ.get(TRAINER_ENV, "").strip()
    return Path(value) if value else None


def claim(path: Path) -> None:
    """Make way for a new trainer service at `path`: a socket left by one that ended is removed; one that still
    answers belongs to a lab that is running, and is refused (a ConfigError), never taken over."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2.0)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink(missing_ok=True)
            return
    raise errors.ConfigError(f"Another lab is already serving from this lab home (its trainer answers on {path}): "
                             "stop it first, or point SENTIMENT_LAB_HOME at another folder.")


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")


def receive(sock: socket.socket) -> dict[str, Any]:
    """One message; a closed or oversized line is a TrainerUnavailable."""
    reader = sock.makefile("rb")
    line = reader.readline(MAX_LINE + 1)
    if not line.endswith(b"\n"):
        raise TrainerUnavailable("The trainer service closed the connection without an answer.")
    return json.loads(line)


def actor_to_dict(actor: Actor) -> dict[str, Any]:
    return asdict(actor)


def actor_from_dict(values: dict[str, Any]) -> Actor:
    return Actor(str(values["token"]), str(values["name"]), bool(values.get("is_teacher", False)))


def snapshot_to_dict(snapshot: Any) -> dict[str, Any]:
    """A runner Snapshot as JSON-ready values (its settings as their dict)."""
    values = {f.name: getattr(snapshot, f.name) for f in fields(snapshot)}
    values["hp"] = snapshot.hp.to_dict()
    return values


def snapshot_from_dict(values: dict[str, Any]) -> Any:
    from core.runner import Snapshot

    return Snapshot(**{
        **values,
        "hp": hparams.HParams(**values["hp"]),  # the service validated these settings before queueing them
        "history": tuple(values["history"]),
        "probes": tuple(values["probes"]),
        "probe_scores": tuple(tuple(row) for row in values["probe_scores"]),
    })


def _error_kinds() -> dict[str, type[LabError]]:
    from core.runner import QueueFull

    kinds = [QueueFull, PermissionDenied, TrainerUnavailable]
    kinds += [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, LabError)]
    return {kind.__name__: kind for kind in kinds}


def error_to_dict(exc: LabError) -> dict[str, str]:
    return {"kind": type(exc).__name__, "message": str(exc)}


def error_from_dict(values: dict[str, str]) -> LabError:
    """The service's refusal as the same kind of LabError, so pages and callers handle it as if it were local."""
    return _error_kinds().get(values.get("kind", ""), LabError)(values.get("message", "The trainer refused."))

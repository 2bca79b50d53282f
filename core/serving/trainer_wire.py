"""What the web processes and the trainer service say to each other: one JSON line each way per request, over a
Unix socket in the lab's home that only this user can open.

JSON, never pickle: a web process trusts the service's answers and the service trusts the web processes (they
checked the visitor's identity), but neither executes what it reads.
"""
from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict
from pathlib import Path
from typing import Any

from core import errors
from core.errors import LabError
from core.classroom.people import Actor, PermissionDenied

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


class BadRequest(LabError):
    """A request to the trainer service that is not what the wire expects; the message says which part and why."""


MAX_TEXT = 10_000  # characters of one text field (an owner's token or name, a pinned review)
MAX_ITEMS = 100_000  # items of one list field (pinned reviews; run ids a web process holds as ended)


def request_from_line(line: bytes) -> dict[str, Any]:
    """One request line as a JSON object with an `op`, or a BadRequest that says what is wrong with it."""
    if not line.endswith(b"\n"):
        raise BadRequest(f"A request must be one line of JSON of at most {MAX_LINE:,} bytes, ending with a newline.")
    try:
        request = json.loads(line)
    except ValueError as exc:
        raise BadRequest(f"The request is not valid JSON ({exc}).") from None
    if not isinstance(request, dict):
        raise BadRequest(f"A request must be a JSON object, not {type(request).__name__}.")
    if not isinstance(request.get("op"), str):
        raise BadRequest("A request must name its kind as text in `op` (state, submit, stop, move_to_front, "
                         "queue_info, forecasts).")
    return request


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def field(request: dict[str, Any], name: str, kind: type, what: str, optional: bool = False,
          within: str = "") -> Any:
    """`request[name]`, checked to be of `kind` (`what` says it in words; `within`: the object it is part of);
    None when `optional` and absent."""
    label = f"`{within}.{name}`" if within else f"`{name}`"
    if name not in request or (optional and request[name] is None):
        if optional:
            return None
        raise BadRequest(f"The request lacks {label}: {what}.")
    value = request[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadRequest(f"{label} must be {what}, not {_kind(value)}.")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise BadRequest(f"{label} is longer than {MAX_TEXT:,} characters.")
    if isinstance(value, list) and len(value) > MAX_ITEMS:
        raise BadRequest(f"{label} holds more than {MAX_ITEMS:,} items.")
    return value


def run_id(request: dict[str, Any]) -> int:
    value = field(request, "id", int, "a run id, a whole number")
    if not 0 < value < 2**63:
        raise BadRequest(f"`id` must be a run id from 1, not {value}.")
    return value


def texts(request: dict[str, Any], name: str, what: str) -> list[str]:
    values = field(request, name, list, f"a list of {what}")
    if not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in values):
        raise BadRequest(f"`{name}` must hold only {what} (texts of at most {MAX_TEXT:,} characters).")
    return values


def run_ids(request: dict[str, Any], name: str) -> list[int]:
    values = field(request, name, list, "a list of run ids", optional=True) or []
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise BadRequest(f"`{name}` must hold only run ids (whole numbers).")
    return values


def actor_to_dict(actor: Actor) -> dict[str, Any]:
    return asdict(actor)


def actor_from_dict(values: Any) -> Actor:
    """The person a request acts for (`actor`: token, name, is_teacher), checked."""
    if not isinstance(values, dict):
        raise BadRequest(f"`actor` must be an object with a token, a name and is_teacher, not {_kind(values)}.")
    token = field(values, "token", str, "the owner's token (text)", within="actor")
    name = field(values, "name", str, "the owner's name (text)", within="actor")
    is_teacher = field(values, "is_teacher", bool, "true or false", optional=True, within="actor")
    return Actor(token, name, bool(is_teacher))


def _error_kinds() -> dict[str, type[LabError]]:
    from core.runner import QueueFull

    kinds = [QueueFull, PermissionDenied, TrainerUnavailable, BadRequest]
    kinds += [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, LabError)]
    return {kind.__name__: kind for kind in kinds}


def error_to_dict(exc: LabError) -> dict[str, str]:
    return {"kind": type(exc).__name__, "message": str(exc)}


def error_from_dict(values: dict[str, str]) -> LabError:
    """The service's refusal as the same kind of LabError, so pages and callers handle it as if it were local."""
    return _error_kinds().get(values.get("kind", ""), LabError)(values.get("message", "The trainer refused."))

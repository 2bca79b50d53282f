"""Assignment links: a teacher's preset and values, with the few settings students may change, each within a
narrower range. Stored in the lab home under an unguessable id (the link is `/train?assignment=ID`); a training
submitted for an assignment is checked against it on the server, whatever the page showed.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from core import atomic_file, config, hparams
from core.errors import ConfigError, quoted
from core.hparams import PARAMS, PRESETS, HParams, Param
from core.classroom.people import Actor, PermissionDenied, short_text
from core.classroom.permissions import require_teacher

FOLDER = "assignments"
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,40}")
MAX_TITLE = 80


@dataclass(frozen=True)
class Assignment:
    """What the teacher set: `values` (every setting), and for each setting students may change, its narrower
    range (`[low, high]`) or its allowed choices."""

    id: str
    title: str
    preset: str
    values: dict[str, Any]
    allowed: dict[str, list[Any]]
    created_at: float

    @property
    def link(self) -> str:
        return f"/train?assignment={self.id}"

    def param(self, name: str) -> Param:
        """The setting as students may use it: the narrowed range (never empty: a chosen number must be given)."""
        param, allowed = PARAMS[name], self.allowed[name]
        if param.choices:
            return replace(param, choices=tuple(allowed), optional=False)
        return replace(param, low=allowed[0], high=allowed[1], optional=False)

    def hparams(self) -> HParams:
        """The teacher's settings, which the Train page starts from."""
        return hparams.from_dict(self.values)

    def check(self, hp: HParams) -> HParams:
        """`hp` when it answers this assignment; else PermissionDenied saying which setting is outside it."""
        where = f"The assignment {self.title!r}"
        if hp.preset != self.preset:
            raise PermissionDenied(f"{where} trains the {self.preset} preset, not {hp.preset}.")
        if hp.dataset != self.hparams().dataset:
            raise PermissionDenied(f"{where} trains on the data set {self.hparams().dataset}, not {hp.dataset}.")
        base = PRESETS[self.preset]
        for name, value in hp.to_dict().items():
            if name in self.allowed:
                try:
                    self.param(name).check(value)
                except ConfigError as exc:
                    raise PermissionDenied(f"{where} allows only its own range: {exc}") from None
            elif name in PARAMS and value != self.values.get(name, getattr(base, name)):
                raise PermissionDenied(f"{where} keeps {name} at {quoted(self.values.get(name))}; it lets you change "
                                       f"only {', '.join(self.allowed) or 'nothing'}.")
        return hp


def _folder(home: Path | None) -> Path:
    return (home if home is not None else config.lab_home()) / FOLDER


def _narrowed(hp: HParams, name: str, allowed: Sequence[Any]) -> list[Any]:
    """One allowed setting's range (or choices), checked against the setting's own range."""
    if name not in hparams.used(hp):
        raise ConfigError(f"{name} is not a setting of the {hp.preset} preset: choose among {', '.join(hparams.used(hp))}.")
    param = PARAMS[name]
    if param.choices:
        chosen = [param.check(c) for c in allowed]
        if not chosen:
            raise ConfigError(f"Allow at least one {name} ({param.range_text()}).")
        return list(dict.fromkeys(chosen))
    if len(allowed) != 2:
        raise ConfigError(f"The range of {name} needs a lowest and a highest value.")
    low, high = (replace(param, optional=False).check(v) for v in allowed)
    if low > high:
        raise ConfigError(f"The range of {name} is empty: {low} is above {high}.")
    return [low, high]


def _clamp(value: Any, param: Param) -> Any:
    """The teacher's value moved into the students' range (or to its first choice), so the form starts valid."""
    if param.choices:
        return value if value in param.choices else param.choices[0]
    return param.low if value is None else min(max(value, param.low), param.high)


def create(actor: Actor, hp: HParams, allowed: dict[str, Sequence[Any]], title: str,
           home: Path | None = None) -> Assignment:
    """A new assignment from the teacher's settings `hp` (the teacher only), saved under a fresh unguessable id."""
    require_teacher(actor, "make assignment links")
    ranges = {name: _narrowed(hp, name, values) for name, values in allowed.items()}
    draft = Assignment(secrets.token_urlsafe(12), short_text(title, "title", MAX_TITLE), hp.preset, hp.to_dict(),
                       ranges, time.time())
    values = {**draft.values, **{name: _clamp(draft.values[name], draft.param(name)) for name in ranges}}
    assignment = replace(draft, values=hparams.validate(replace(hp, **values)).to_dict())
    folder = _folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_file.write_json(folder / f"{assignment.id}.json", asdict(assignment))
    return assignment


def load(assignment_id: str, home: Path | None = None) -> Assignment:
    """The assignment of a link, or a ConfigError when there is none by that id."""
    missing = ConfigError(f"There is no assignment {quoted(assignment_id)} on this server: the link may be mistyped, "
                          "or from another server. Ask your teacher for the link again.")
    if not ID_PATTERN.fullmatch(str(assignment_id)):
        raise missing
    try:
        saved = json.loads((_folder(home) / f"{assignment_id}.json").read_text())
        return Assignment(**saved)
    except (OSError, ValueError, TypeError):
        raise missing from None


def all_assignments(home: Path | None = None) -> list[Assignment]:
    """Every assignment of this lab, newest first."""
    folder = _folder(home)
    found = []
    for path in folder.glob("*.json") if folder.is_dir() else ():
        try:
            found.append(load(path.stem, home))
        except ConfigError:
            continue
    return sorted(found, key=lambda a: a.created_at, reverse=True)

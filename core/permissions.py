"""What each person may do in a class: only a run's owner or the teacher changes it; everyone may look at and
score with the class's runs unless the teacher turns that off. Checked here, in core, by every function that
changes a run, so a page that forgets to hide a button (or a direct call) still cannot change another's run.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Iterable, Protocol, TypeVar

from core import atomic_file, config
from core.people import Actor, PermissionDenied, teacher_owned

SETTINGS_FILE = "classroom.json"


class Owned(Protocol):
    """A run as any layer holds it (store record, live run, snapshot): what permissions need of it."""

    id: int
    owner: str | None


R = TypeVar("R", bound=Owned)


@dataclass(frozen=True)
class ClassSettings:
    """The teacher's choices for the whole class, kept in the lab home."""

    share_runs: bool = True  # students see and score with each other's runs
    free_training: bool = True  # students may train outside an assignment link


def _settings_file(home: Path | None) -> Path:
    return (home if home is not None else config.lab_home()) / SETTINGS_FILE


def class_settings(home: Path | None = None) -> ClassSettings:
    """The saved settings; the defaults when none were saved (or the file is unreadable)."""
    try:
        saved = json.loads(_settings_file(home).read_text())
    except (OSError, ValueError):
        return ClassSettings()
    known = {f.name for f in fields(ClassSettings)}
    values = {k: v for k, v in saved.items() if k in known and isinstance(v, bool)} if isinstance(saved, dict) else {}
    return ClassSettings(**values)


def save_class_settings(actor: Actor, home: Path | None = None, **changes: Any) -> ClassSettings:
    """Change the class settings (the teacher only); written whole and renamed into place."""
    require_teacher(actor, "change the class settings")
    settings = replace(class_settings(home), **changes)
    path = _settings_file(home)
    atomic_file.write_json(path, asdict(settings))
    return settings


def require_teacher(actor: Actor, action: str) -> None:
    if not actor.is_teacher:
        raise PermissionDenied(f"Only the teacher can {action}: unlock the Teacher page with the teacher key first.")


def owner_label(run: Owned) -> str:
    """Whose a run is, in words."""
    if teacher_owned(run.owner):
        return "the teacher"
    return getattr(run, "owner_name", None) or "another student"


def can_change(actor: Actor, run: Owned) -> bool:
    """Whether `actor` may stop, rename, annotate or delete `run`: its owner or the teacher."""
    return actor.is_teacher or (not teacher_owned(run.owner) and run.owner == actor.token)


def check_change(actor: Actor, run: Owned, action: str) -> None:
    """Refuse (PermissionDenied) when `actor` may not `action` (e.g. "delete") `run`."""
    if not can_change(actor, run):
        raise PermissionDenied(f"Run #{run.id} belongs to {owner_label(run)}: only its owner or the teacher can "
                               f"{action} it.")


def can_view(actor: Actor, run: Owned, settings: ClassSettings | None = None) -> bool:
    """Whether `actor` may see `run`'s curves and score with its model."""
    settings = settings if settings is not None else class_settings()
    return settings.share_runs or can_change(actor, run)


def check_may_train(actor: Actor, from_assignment: bool, home: Path | None = None) -> None:
    """Refuse (PermissionDenied) a student's training that does not come from an assignment link when the teacher
    has turned training outside them off."""
    if not from_assignment and not actor.is_teacher and not class_settings(home).free_training:
        raise PermissionDenied("In this class, trainings start from the teacher's assignment links: open the link "
                               "your teacher gave you.")


def check_view(actor: Actor, run: Owned, settings: ClassSettings | None = None) -> None:
    """Refuse (PermissionDenied) a link to a run `actor` may not see, saying so rather than that it is missing."""
    if not can_view(actor, run, settings):
        raise PermissionDenied(f"Run #{run.id} belongs to {owner_label(run)} and is not shared with you: the teacher "
                               "has turned off sharing runs between students.")


def visible(actor: Actor, runs: Iterable[R], settings: ClassSettings | None = None) -> list[R]:
    """The runs `actor` may see, in their order."""
    settings = settings if settings is not None else class_settings()
    return [run for run in runs if can_view(actor, run, settings)]

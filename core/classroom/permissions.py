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
from core.classroom import people
from core.classroom.people import Actor, PermissionDenied, teacher_owned

SETTINGS_FILE = "classroom.json"


class HasOwner(Protocol):
    """Anything a person owns (a run, a data set): the owner token it records, None for the teacher's."""

    owner: str | None


class Owned(HasOwner, Protocol):
    """A run as any layer holds it (store record, live run, snapshot): what permissions need of it."""

    id: int


R = TypeVar("R", bound=Owned)


@dataclass(frozen=True)
class ClassSettings:
    """The teacher's choices for the whole class, kept in the lab home."""

    share_runs: bool = True  # students see and score with each other's runs
    free_training: bool = True  # students may train outside an assignment link
    student_imports: bool = True  # students may import data sets (up to SENTIMENT_LAB_MAX_STUDENT_DATASETS_MB each)
    guests_train: bool = True  # visitors who have not picked a name may train (their runs share one queue turn)


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


def owner_label(run: HasOwner) -> str:
    """Whose a run (or data set) is, in words."""
    if teacher_owned(run.owner):
        return "the teacher"
    return getattr(run, "owner_name", None) or "another student"


def can_change(actor: Actor, run: HasOwner) -> bool:
    """Whether `actor` may stop, rename, annotate or delete `run` (or remove a data set): its owner or the teacher."""
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
    """Refuse (PermissionDenied) a student's training that the class settings rule out: one outside the teacher's
    assignment links when free training is off, or a guest's when guests may not train."""
    if actor.is_teacher:
        return
    settings = class_settings(home)
    if not from_assignment and not settings.free_training:
        raise PermissionDenied("In this class, trainings start from the teacher's assignment links: open the link "
                               "your teacher gave you.")
    if people.is_guest(actor.name) and not settings.guests_train:
        raise PermissionDenied("In this class, students pick a name before training: type yours in the sidebar.")


def check_view(actor: Actor, run: Owned, settings: ClassSettings | None = None) -> None:
    """Refuse (PermissionDenied) a link to a run `actor` may not see, saying so rather than that it is missing."""
    if not can_view(actor, run, settings):
        raise PermissionDenied(f"Run #{run.id} belongs to {owner_label(run)} and is not shared with you: the teacher "
                               "has turned off sharing runs between students.")


def visible(actor: Actor, runs: Iterable[R], settings: ClassSettings | None = None) -> list[R]:
    """The runs `actor` may see, in their order."""
    settings = settings if settings is not None else class_settings()
    return [run for run in runs if can_view(actor, run, settings)]


# --- data sets ------------------------------------------------------------------------------------------------
def check_dataset_change(actor: Actor, dataset: HasOwner, name: str, action: str) -> None:
    """Refuse (PermissionDenied) when `actor` may not `action` (remove, replace) the data set `name`."""
    if not can_change(actor, dataset):
        raise PermissionDenied(f"The data set {name!r} belongs to {owner_label(dataset)}: only whoever imported it "
                               f"or the teacher can {action} it.")


def may_import(actor: Actor, settings: ClassSettings | None = None) -> bool:
    """Whether `actor` may import data sets at all: the teacher always, students when the class settings allow."""
    settings = settings if settings is not None else class_settings()
    return actor.is_teacher or settings.student_imports


def check_import(actor: Actor, owned_bytes: int, new_bytes: int = 0) -> None:
    """Refuse (PermissionDenied) an import by a student when the class settings forbid it, or when their data sets
    (`owned_bytes` stored, `new_bytes` more for this one) would go over the per-student space."""
    if actor.is_teacher:
        return
    if not may_import(actor):
        raise PermissionDenied("The teacher has turned off importing data sets for students: ask the teacher to "
                               "import it, or to allow student imports on the Teacher page.")
    limit = config.max_student_dataset_bytes()
    if owned_bytes + new_bytes > limit:
        raise PermissionDenied(f"Your data sets would take {(owned_bytes + new_bytes) / 2**20:,.1f} MB, over the "
                               f"{limit / 2**20:,.4g} MB each student may import ({config.MAX_STUDENT_DATASETS_ENV} "
                               "sets it): remove one of yours first.")

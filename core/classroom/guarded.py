"""The stores' changes, each checked against the classroom's rules first: only a run's owner or the teacher
renames, annotates or deletes it, and a data set is imported, replaced, renamed or removed as the class settings and
its owner allow. Every caller that acts for a person (pages, the CLI) changes runs and data sets through here; the
stores themselves know nothing of people.
"""
from __future__ import annotations

from core.classroom import permissions
from core.classroom.people import Actor, as_actor
from core.data.datasets import Importer, Ownership
from core.run_record import RunRecord
from core.store import RunStore


def update_text(store: RunStore, run_id: int, actor: Actor, *, name: str | None = None,
                note: str | None = None) -> None:
    """Rename or annotate a run: its owner or the teacher only."""
    permissions.check_change(actor, store.get(run_id), "rename or annotate")
    store.update_text(run_id, name=name, note=note)


def delete(store: RunStore, run_id: int, actor: Actor) -> RunRecord:
    """Delete a run that has ended, with its model files and what this process loaded from them: its owner or the
    teacher only (PermissionDenied); a queued or training run is refused (RunActive). Returns the record removed."""
    permissions.check_change(actor, store.get(run_id), "delete")
    return store.delete(run_id)


def importer(actor: Actor | str | None) -> Importer:
    """`actor` as the data sets' `Importer` (None or "cli": the teacher at the command line): their data sets are
    theirs, a student's imports count against their space, and the class settings and a data set's owner decide
    what they may change (PermissionDenied names the rule)."""
    who = as_actor(actor)
    return Importer(Ownership(who.token, who.name),
                    may_change=lambda owner, name, action: permissions.check_dataset_change(who, owner, name, action),
                    may_store=lambda owned, new: permissions.check_import(who, owned, new),
                    counts_space=not who.is_teacher)

"""`?run=ID` in a page's address (Runs, Predict): a link names a run, and the page names the run in focus, so the
address can be shared."""
from __future__ import annotations

from typing import Callable, Sequence

import streamlit as st

from core import export
from core.classroom import permissions
from core.classroom.people import Actor
from core.errors import LabError
from core.store import RunRecord
from pages import dataset_picker, ui


def follow(applied: str, me: Actor, candidates: Callable[[], Sequence[RunRecord]], missing: str,
           instead: str = "") -> RunRecord | None:
    """The run a new `?run=` value names, once per value (`applied` keeps the value seen last), with the data-set
    picker switched to the run's data set; None when there is no new value, or after a warning that says why the
    run cannot be shown (followed by `instead`)."""
    wanted = st.query_params.get("run")
    if wanted is None or wanted == st.session_state.get(applied):
        return None
    st.session_state[applied] = wanted
    try:
        record = export.linked_run(wanted, candidates(), missing)
        permissions.check_view(me, record)
    except LabError as exc:
        st.warning(f"{ui.escape(exc)}{instead}", icon="🔗")
        return None
    dataset_picker.follow(dataset_picker.of_run(record))
    return record


def show(applied: str, run_id: int | None) -> None:
    """Name the run in focus in the address (or none), as already applied."""
    if run_id is None:
        st.query_params.pop("run", None)
        return
    st.query_params["run"] = str(run_id)
    st.session_state[applied] = str(run_id)

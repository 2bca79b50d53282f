"""Teacher: unlock teacher actions with the teacher key, then the class settings, the training queue (move a run to
the front, cancel it) and the assignment links. Every action is checked again in core."""
from __future__ import annotations

import streamlit as st

from core import assignments, permissions
from core.assignments import Assignment
from pages import assignment_form, ui

SETTINGS_LABELS = {
    "share_runs": ("Students see and score with each other's runs",
                   "Off: each student sees only their own runs on Runs and Predict (you still see all)."),
    "free_training": ("Students may train outside assignment links",
                      "Off: a student's training must come from one of your assignment links."),
    "student_imports": ("Students may import data sets",
                        "Off: only you import data sets (students still use every data set). On: each student may "
                        "import up to SENTIMENT_LAB_MAX_STUDENT_DATASETS_MB (default 200 MB) and remove their own."),
}


def _unlock() -> None:
    st.markdown("Teacher actions (the class settings, the queue, assignment links, changing any run) need the "
                "**teacher key**: `SENTIMENT_LAB_TEACHER_KEY`, or the key the server printed in its log when the "
                "first page was opened. Enter it once; this browser then remembers it.")
    with st.form("teacher_unlock", border=False):
        key = st.text_input("Teacher key", type="password", key="teacher_key_input")
        if st.form_submit_button("🔓 Unlock", type="primary"):
            ui.attempt(lambda: ui.unlock_teacher(key))  # the page goes on, so the browser keeps the cookie


def _settings(me) -> None:
    st.subheader("Class settings")
    current = ui.attempt(permissions.class_settings)
    if current is None:
        return
    for name, (label, help_text) in SETTINGS_LABELS.items():
        wanted = st.toggle(label, value=getattr(current, name), key=f"teacher_{name}", help=help_text)
        if wanted != getattr(current, name):
            ui.attempt(lambda: permissions.save_class_settings(me, **{name: wanted}))


def _move(run_id: int) -> None:
    ui.attempt(lambda: ui.runner().move_to_front(run_id, ui.actor()))


def _cancel(run_id: int) -> None:
    run = ui.runner().get(run_id)
    if run is not None:
        ui.attempt(lambda: run.stop(ui.actor()))


def _queue() -> None:
    st.subheader("The training queue")
    runner = ui.runner()
    training = [r.snapshot() for r in runner.runs() if r.snapshot().status == "running"]
    for snap in training:
        st.markdown(f"🏃 Training: **#{snap.id}** {snap.hp.preset} · {ui.escape(permissions.owner_label(snap))}")
    waiting = runner.queued()
    if not waiting:
        st.caption("Nobody is waiting for the trainer.")
        return
    for n, run in enumerate(waiting, start=1):
        snap = run.snapshot()
        c1, c2, c3 = st.columns([5, 1, 1])
        c1.markdown(f"{n}. **#{snap.id}** {snap.hp.preset} · {ui.escape(permissions.owner_label(snap))}")
        c2.button("⏫ To the front", key=f"teacher_front_{snap.id}", on_click=_move, args=(snap.id,),
                  disabled=n == 1, width="stretch")
        c3.button("✕ Cancel", key=f"teacher_cancel_{snap.id}", on_click=_cancel, args=(snap.id,), width="stretch")
    st.caption("Students take turns: the next run is the oldest waiting run of whoever has waited longest since "
               "their own last run started.")


def _ranges(assignment: Assignment) -> str:
    parts = []
    for name in assignment.allowed:
        param = assignment.param(name)
        parts.append(f"{name} {param.range_text()}")
    return "; ".join(parts) or "nothing (every setting is fixed)"


def _assignments() -> None:
    st.subheader("Assignment links")
    st.caption("Make one on the **Train** page: set a preset and its values, then open “Make an assignment link”.")
    found = ui.attempt(assignments.all_assignments) or []
    for assignment in found:
        with st.container(border=True):
            st.markdown(f"**{ui.escape(assignment.title)}** · preset {assignment.preset} · students may change "
                        f"{ui.escape(_ranges(assignment))}")
            st.code(assignment_form.full_link(assignment), language=None)
            st.page_link("pages/train.py", label="Open it as a student sees it", icon="🔗",
                         query_params={"assignment": assignment.id})


# --- page -----------------------------------------------------------------------------------------------------
st.title("🎓 Teacher")
ui.require_store()
if ui.visitor().is_teacher:
    head, lock = st.columns([5, 1])
    if lock.button("🔒 Lock", key="teacher_lock", width="stretch", help="Forget the teacher key in this browser."):
        ui.lock_teacher()
    else:
        head.success("Teacher actions are unlocked in this browser.", icon="🔓")
if not ui.actor().is_teacher:
    _unlock()
me = ui.actor()
if not me.is_teacher:
    st.stop()
_settings(me)
st.fragment(_queue, run_every=2.0)()
_assignments()

"""Teacher: unlock teacher actions with the teacher key, then the class settings, the training queue (move a run to
the front, cancel it) and the assignment links. Every action is checked again in core."""
from __future__ import annotations

import streamlit as st

from core.classroom import assignments, permissions
from core.errors import LabError
from core.classroom.assignments import Assignment
from pages import assignment_form, ui

SETTINGS_LABELS = {
    "share_runs": ("Students see and score with each other's runs",
                   "Off: each student sees only their own runs on Runs and Predict (you still see all)."),
    "free_training": ("Students may train outside assignment links",
                      "Off: a student's training must come from one of your assignment links."),
    "student_imports": ("Students may import data sets",
                        "Off: only you import data sets (students still use every data set). On: each student may "
                        "import up to SENTIMENT_LAB_MAX_STUDENT_DATASETS_MB (default 200 MB) and remove their own."),
    "guests_train": ("Visitors without a name may train",
                     "Off: a student must pick a name in the sidebar before training. On: every visitor without a "
                     "name shares one turn in the queue and one queue limit."),
}


FLASH = "teacher_flash"  # (kind, message) shown once in the queue: the outcome of its last button
UNLOCK_FLASH = "teacher_unlock_flash"  # the same for the Unlock button, shown at the top


def _flash(kind: str, message: str, where: str = FLASH) -> None:
    st.session_state[where] = (kind, message)


def _show_flash(where: str = FLASH) -> None:
    kind, message = st.session_state.pop(where, (None, None))
    if kind == "success":
        st.success(ui.escape(message), icon="✅")
    elif kind == "error":
        st.error(ui.escape(message), icon="⚠️")


def _try_key() -> None:
    """The Unlock button's callback: it runs before the page is drawn, so the page (and the sidebar's "· teacher")
    already show the teacher's rights, and the key leaves the field either way."""
    key = st.session_state.get("teacher_key_input", "")
    st.session_state.teacher_key_input = ""
    try:
        ui.unlock_teacher(key)
    except LabError as exc:
        _flash("error", str(exc), UNLOCK_FLASH)
        return
    _flash("success", "Unlocked: this browser now has the teacher's rights (it keeps them for 30 days, or until "
                      "you press Lock).", UNLOCK_FLASH)


def _unlock() -> None:
    st.markdown("Teacher actions (the class settings, the queue, assignment links, changing any run) need the "
                "**teacher key**: `SENTIMENT_LAB_TEACHER_KEY`, or the key the server printed in its log when the "
                "first page was opened. Enter it once; this browser then remembers it.")
    with st.form("teacher_unlock", border=False):
        st.text_input("Teacher key", type="password", key="teacher_key_input")
        st.form_submit_button("🔓 Unlock", type="primary", on_click=_try_key)


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
    try:
        ui.runner().move_to_front(run_id, ui.actor())
        _flash("success", f"Moved run #{run_id} to the front of the queue: it starts next.")
    except LabError as exc:
        _flash("error", str(exc))


def _cancel(run_id: int) -> None:
    run = ui.runner().get(run_id)
    if run is None:
        _flash("error", f"Run #{run_id} is no longer waiting.")
        return
    try:
        run.stop(ui.actor())
        _flash("success", f"Cancelled run #{run_id}: it has left the queue.")
    except LabError as exc:
        _flash("error", str(exc))


def _queue() -> None:
    st.subheader("The training queue")
    _show_flash()
    runner = ui.runner()
    training = [r.snapshot() for r in runner.runs() if r.snapshot().status == "running"]
    for snap in training:
        st.markdown(f"🏃 Training: **#{snap.id}** {snap.live.hp.preset} · {ui.escape(permissions.owner_label(snap))}")
    waiting = runner.queued()
    if not waiting:
        st.caption("Nobody is waiting for the trainer.")
        return
    for n, run in enumerate(waiting, start=1):
        snap = run.snapshot()
        c1, c2, c3 = st.columns([5, 1, 1])
        c1.markdown(f"{n}. **#{snap.id}** {snap.live.hp.preset} · {ui.escape(permissions.owner_label(snap))}")
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
        head.caption("🔓 Teacher actions are unlocked in this browser.")
_show_flash(UNLOCK_FLASH)
if not ui.actor().is_teacher:
    _unlock()
me = ui.actor()
if not me.is_teacher:
    st.stop()
_settings(me)
st.fragment(_queue, run_every=2.0)()
_assignments()

"""Assignment links on the pages: the teacher's form on Train that turns the current settings into a link, and the
link as students open it. The limits themselves are checked in core (core.classroom.assignments) when a run is submitted."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from core import hparams
from core.classroom import assignments
from core.classroom.assignments import Assignment
from core.errors import quoted
from core.hparams import PARAMS, HParams
from pages import ui

MADE = "assign_made"  # the id of the link made last in this session


def full_link(assignment: Assignment) -> str:
    """The link with this server's address, as the teacher's browser reached it."""
    url = urlsplit(st.context.url or "")
    return f"{url.scheme}://{url.netloc}{assignment.link}" if url.netloc else assignment.link


def from_link() -> Assignment | None:
    """The assignment named by `?assignment=ID`; a clear message and the end of the page when there is none."""
    wanted = st.query_params.get("assignment")
    if wanted is None:
        return None
    found = ui.attempt(lambda: assignments.load(wanted))
    if found is None:
        st.stop()
    return found


def _range_inputs(name: str, value: Any) -> list[Any]:
    param = PARAMS[name]
    if param.choices:
        return st.multiselect(f"{param.label}: allowed choices", param.choices, default=[value],
                              key=f"assign_{name}")
    number = int if param.kind is int else float
    low, high = number(param.low), number(param.high)
    start = low if value is None else number(value)
    extra = {"format": "%.5f", "step": 0.0005} if param.name == "learning_rate" else {}
    c1, c2 = st.columns(2)
    return [c1.number_input(f"{param.label}: lowest", low, high, start, key=f"assign_{name}_low", **extra),
            c2.number_input(f"{param.label}: highest", low, high, start, key=f"assign_{name}_high", **extra)]


def maker(hp: HParams) -> None:
    """The teacher's form: which of these settings students may change, within which ranges, and the link."""
    with st.expander("🎓 Make an assignment link from these settings"):
        st.caption("Students who open the link see only the settings you allow, within your ranges; every other "
                   "setting stays as it is set above. The server refuses any other values.")
        names = st.multiselect("Settings students may change", list(hparams.used(hp)), key="assign_allowed",
                               format_func=lambda n: PARAMS[n].label)
        ranges = {name: _range_inputs(name, getattr(hp, name)) for name in names}
        title = st.text_input("Title", key="assign_title", max_chars=assignments.MAX_TITLE,
                              placeholder="e.g. How many units does it need?")
        if st.button("🔗 Make the link", key="assign_make"):
            made = ui.attempt(lambda: assignments.create(ui.actor(), hp, ranges, title))
            if made is not None:
                st.session_state[MADE] = made.id
        made = ui.attempt(lambda: assignments.load(st.session_state[MADE])) if MADE in st.session_state else None
        if made is not None:
            st.success(f"The link for {ui.escape(quoted(made.title, 80))}: give it to your class. The Teacher page "
                       "lists every link.", icon="🔗")
            st.code(full_link(made), language=None)


def describe(assignment: Assignment) -> None:
    """What a student sees above the settings of an assignment link."""
    allowed = ", ".join(PARAMS[n].label.lower() for n in assignment.allowed) or "nothing"
    st.info(f"**Assignment: {ui.escape(assignment.title)}** · preset {assignment.preset}. You may change "
            f"{ui.escape(allowed)}, within the ranges shown; the other settings are your teacher's.", icon="📝")

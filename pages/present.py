"""Projector view (`?view=present`, or the toggle at the top of Train, Predict and the class board): larger type, no
sidebar, and each page keeps only its essentials, readable from the back of a room at 1280×720.

Every page calls `view()` once, near its top, and leaves out what is not essential when it returns True.
"""
from __future__ import annotations

import copy

import plotly.graph_objects as go
import streamlit as st

PARAM, VALUE = "view", "present"
FLAG = "_present_view"  # survives page switches (the toggle's own state is dropped on pages without it)
TOGGLE = "present_toggle"
CHART_FONT = 22
# Streamlit sizes its text in rem: a larger root font scales every text, widget and table together.
STYLE = """<style>
html { font-size: 26px !important; }
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarNav"] { display: none !important; }
.block-container, [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 1rem 1.5rem !important; }
[data-testid="stDataFrame"] { font-size: 1rem; }
h1 { font-size: 1.9rem !important; padding: 0 !important; }
</style>"""


def _switched() -> None:
    on = bool(st.session_state[TOGGLE])
    st.session_state[FLAG] = on
    if on:
        st.query_params[PARAM] = VALUE
    else:
        st.query_params.pop(PARAM, None)


def view() -> bool:
    """Draw the projector toggle and, when it is on, the larger stylesheet; True when the page should show only
    its essentials. A `?view=` in the address wins over the toggle, so a shared link opens as it was shared."""
    if PARAM in st.query_params:
        st.session_state[FLAG] = st.query_params[PARAM] == VALUE
    st.session_state[TOGGLE] = st.session_state.get(FLAG, False)
    on = st.toggle("📽 Projector view", key=TOGGLE, on_change=_switched,
                   help="Larger type, no sidebar, only the essentials: for a classroom screen. Also `?view=present`.")
    if on:
        st.html(STYLE)
    return on


def on() -> bool:
    """Whether this session is in the projector view (as `view()` last decided), for parts drawn in fragments."""
    return bool(st.session_state.get(FLAG, False))


def chart(fig: go.Figure) -> go.Figure:
    """A figure with type large enough for the back of the room when the projector view is on (a copy: the
    figures of pages/charts.py are shared, and building a figure from one reads its dict, which must not change)."""
    if on():
        fig = go.Figure(copy.deepcopy(fig.to_dict()))
        fig.update_layout(font={"size": CHART_FONT})
        fig.update_annotations(font_size=CHART_FONT)  # subplot titles (Loss, Accuracy) carry their own size
        legend = fig.layout.legend
        if legend.orientation == "h" and legend.y is not None and legend.y < 0:  # below the plot: hang from its
            fig.update_layout(legend_yanchor="top", legend_y=legend.y - 0.1,  # top, clear of the larger axis
                              height=(fig.layout.height or 400) + 80)
        if fig.layout.title.text:  # room for the larger title
            fig.update_layout(margin_t=max(fig.layout.margin.t or 0, 70))
    return fig

"""The lab's pages for st.navigation, made once per server.

A module, not app.py: app.py runs on every view, and defining a cached function there built its cache wrapper
again each time (about 1 ms of the server's CPU per view); this module is imported once.
"""
from __future__ import annotations

import copy

import streamlit as st


@st.cache_resource(show_spinner=False)
def _pages() -> list[st.Page]:
    """Made once per server: making a Page checks its file and icon, 2% of the server's time when done on every
    view."""
    return [
        st.Page("pages/home.py", title="Home", icon="🏠", url_path="home", default=True),
        st.Page("pages/explore.py", title="Explore", icon="🔎", url_path="explore"),
        st.Page("pages/train.py", title="Train", icon="🏋️", url_path="train"),
        st.Page("pages/predict.py", title="Predict", icon="💬", url_path="predict"),
        st.Page("pages/runs.py", title="Runs", icon="🗂️", url_path="runs"),
        st.Page("pages/word_map.py", title="Word map", icon="🗺️", url_path="word_map"),
        st.Page("pages/datasets.py", title="Data sets", icon="📚", url_path="datasets"),
        st.Page("pages/board.py", title="Class board", icon="🏆", url_path="board"),
        st.Page("pages/pretrained.py", title="Pretrained", icon="🧭", url_path="pretrained"),
        st.Page("pages/teacher.py", title="Teacher", icon="🎓", url_path="teacher"),
    ]


def pages() -> list[st.Page]:
    """This run's own copies of the pages, because st.navigation marks the copy it will run."""
    return [copy.copy(page) for page in _pages()]

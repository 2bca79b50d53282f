"""IMDB Sentiment Lab: `streamlit run app.py`. Pages live in pages/; everything they do goes through core."""
import copy
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

st.set_page_config(page_title="IMDB Sentiment Lab", page_icon="🎬", layout="wide")


@st.cache_resource(show_spinner=False)
def _pages() -> list[st.Page]:
    """Made once per server: making a Page checks its file and icon, 2% of the server's time when done on every
    view. Each run gets its own copies, because st.navigation marks the copy it will run."""
    return [
        st.Page("pages/home.py", title="Home", icon="🏠", url_path="home", default=True),
        st.Page("pages/explore.py", title="Explore", icon="🔎", url_path="explore"),
        st.Page("pages/train.py", title="Train", icon="🏋️", url_path="train"),
        st.Page("pages/predict.py", title="Predict", icon="💬", url_path="predict"),
        st.Page("pages/runs.py", title="Runs", icon="🗂️", url_path="runs"),
        st.Page("pages/datasets.py", title="Data sets", icon="📚", url_path="datasets"),
        st.Page("pages/board.py", title="Class board", icon="🏆", url_path="board"),
        st.Page("pages/pretrained.py", title="Pretrained", icon="🧭", url_path="pretrained"),
        st.Page("pages/teacher.py", title="Teacher", icon="🎓", url_path="teacher"),
    ]


st.navigation([copy.copy(page) for page in _pages()], position="sidebar", expanded=True).run()

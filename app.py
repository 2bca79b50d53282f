"""IMDB Sentiment Lab: `streamlit run app.py`. Pages live in pages/; everything they do goes through core."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core import concurrency  # noqa: E402

concurrency.share_cores()  # before TensorFlow starts: this process trains (unless a trainer service does)

import streamlit as st  # noqa: E402

from pages import navigation  # noqa: E402

st.set_page_config(page_title="IMDB Sentiment Lab", page_icon="🎬", layout="wide")
st.navigation(navigation.pages(), position="sidebar", expanded=True).run()

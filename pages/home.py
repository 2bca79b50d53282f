"""Home: what the lab is and the three steps."""
import streamlit as st

from pages import ui

st.title("🎬 IMDB Sentiment Lab")
ui.visitor()  # the name picker, first thing a new visitor sees
st.markdown(
    "Teach a computer to tell a **positive** movie review from a **negative** one, and watch how it learns. "
    "The data is the IMDB set Keras ships: 25,000 reviews to learn from and 25,000 held back to test on, "
    "each stored as a list of word ids."
)
cols = st.columns(3)
with cols[0]:
    st.subheader("1 · Explore")
    st.write("Read the reviews as the model sees them: word ids, and the words they stand for.")
    st.page_link("pages/explore.py", label="Explore the data", icon="🔎")
with cols[1]:
    st.subheader("2 · Train")
    st.write("Pick a model from the classic notebooks (or our fast one) and watch its curves grow epoch by epoch.")
    st.page_link("pages/train.py", label="Train a model", icon="🏋️")
with cols[2]:
    st.subheader("3 · Predict")
    st.write("Type a review, get a score from 0 (negative) to 1 (positive), and see which words pushed it.")
    st.page_link("pages/predict.py", label="Score a review", icon="💬")
ui.data_status()

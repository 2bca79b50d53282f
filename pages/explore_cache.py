"""Explore's cached computations and its review HTML, defined once per server.

A page script runs again on every view, so a cached function defined in it built its cache wrapper again each
time (about 2 ms of the server's CPU per Explore view); defined here, in a module imported once, they are not.
Keys are the data set's name and content fingerprint and the split's name; the data set itself is cached per
server by core.data.datasets. Their parameters are keyword-only: Streamlit names each positional argument of a cached
call through inspect.signature, about 25 µs an argument on every call, and a page view makes several calls.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import streamlit as st

from core import explore
from core.data import datasets, imdb
from core.data.vocab import Vocabulary
from pages import ui

PREVIEW_WORDS = 300
BADGE = "border-radius:6px;padding:0 .35em;font-weight:700;white-space:nowrap;"
STYLES = {
    "start": BADGE + "background:#1f5fbf;color:#fff;",
    "unknown": BADGE + "background:#495057;color:#fff;",
    "clipped": BADGE + "background:#fff3bf;color:#8f4700;border:2px dashed #e67700;",
    "match": "background:#ffe066;border-radius:4px;padding:0 .1em;box-shadow:0 0 0 2px #fab005;",
}
TEXT_STYLE = "font-size:1.3rem;line-height:2.05;color:#111;word-wrap:break-word;"


def _split(name: str, fingerprint: str, split: str) -> imdb.Split:
    return explore.split_of(datasets.load(name).corpus, split)


@st.cache_data(show_spinner=False, max_entries=64)
def selection(*, name: str, fingerprint: str, split: str, label: int | None,
              phrase: tuple[int, ...]) -> explore.Selection:
    return explore.select(_split(name, fingerprint, split), label, phrase)


@st.cache_data(show_spinner=False, max_entries=16)
def counts(*, name: str, fingerprint: str, split: str, label: int | None, size: int) -> np.ndarray:
    return explore.word_counts(_split(name, fingerprint, split), label, size)


def _span(text: str, style: str, title: str) -> str:
    return f'<span style="{style}" title="{ui.escape(title, "html")}">{text}</span>'


def word_html(word: explore.Word, num_words: int) -> str:
    """One word, with the marks the model sees made visible: `>` start, `?` unknown, `?word` beyond num_words."""
    text = ui.escape(word.text, "html")
    if word.kind == "start":
        out = _span("&gt;", STYLES["start"], "id 1: start of the review")
    elif word.kind == "unknown":
        out = _span("?", STYLES["unknown"], f"id {word.id}: unknown word in the data")
    elif word.kind == "clipped":
        out = _span(f'?<s style="font-weight:400;font-size:.72em;margin-left:.25em">{text}</s>', STYLES["clipped"],
                    f"“{word.text}” has id {word.id} ≥ num_words {num_words:,}: the model sees ? (id 2)")
    else:
        out = text
    return f'<mark style="{STYLES["match"]}">{out}</mark>' if word.match else out


def _review_html(words: Sequence[explore.Word], num_words: int) -> str:
    return f'<div style="{TEXT_STYLE}">' + " ".join(word_html(w, num_words) for w in words) + "</div>"


@st.cache_resource(show_spinner=False, max_entries=512)
def review_text(*, _split: imdb.Split, _vocab: Vocabulary, name: str, fingerprint: str, split_name: str, index: int,
                num_words: int, phrase: tuple[int, ...]) -> tuple[str, str, int, bool, int]:
    """A review's text as HTML (the first PREVIEW_WORDS words, the rest), the rest's length, whether the rest holds a
    search match, and how many words num_words clips: the same for every visitor, and decoding it id by id was the
    largest cost of an Explore view under load. Strings only, so sessions can share them."""
    words = explore.review_words(_split.x[index], _vocab, num_words, phrase)
    clipped = sum(w.kind == "clipped" for w in words)
    head, tail = (words, []) if len(words) <= PREVIEW_WORDS + 50 else (words[:PREVIEW_WORDS], words[PREVIEW_WORDS:])
    return (_review_html(head, num_words), _review_html(tail, num_words) if tail else "", len(tail),
            any(w.match for w in tail), clipped)

"""What every page shares: the process-wide engine objects (cached, thread-safe) and small layout helpers."""
from __future__ import annotations

import html
import re
import secrets
import sys
from typing import Callable, Literal, TypeVar

import streamlit as st

from core import config, data
from core.errors import LabError, for_visitors
from core.runner import Runner
from core.store import RunStore
from core.vocab import Vocabulary, load_vocabulary

T = TypeVar("T")
OWNER_COOKIE = "sentiment_lab_owner"
# emphasis, code, links and images, HTML, tables, LaTeX, entities; `_` inside a word (val_size) cannot emphasise
_MARKUP = re.compile(r"[\\`*\[\]<>|~$&{}@]|(?<![^\W_])_|_(?![^\W_])")
_LINE_START = re.compile(r"^([ \t]*)([#>+=-])", re.MULTILINE)  # headings, quotes, lists, heading underlines
_NUMBERED = re.compile(r"^([ \t]*\d+)([.)])", re.MULTILINE)  # "1. " starts a numbered list
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(:)(?=//)|(?<=\bwww)(\.)")  # https://… and www.… would become links


def escape(text: object, into: Literal["markdown", "html", "plotly"] = "markdown") -> str:
    """User text (run names, notes, pinned and typed reviews, search terms, error messages) shown as text.

    markdown (st.markdown, captions, alerts, widget, tab and expander labels): a backslash before each character
    that could start markup (links, images, emphasis, `:red[...]`, LaTeX, HTML, headings, lists, autolinks),
    ordinary punctuation left as it is; html: for st.html; plotly: `&`, `<` and `>`, the pseudo-HTML Plotly reads
    in trace names and hover text.
    """
    text = str(text)
    if into != "markdown":
        return html.escape(text, quote=into == "html")
    for pattern in (_MARKUP, _AUTOLINK):
        text = pattern.sub(lambda m: "\\" + m.group(0), text)
    for pattern in (_LINE_START, _NUMBERED):
        text = pattern.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return text


def _use_app_navigation() -> None:
    """Make a first visit straight to /train (or any page) run app.py's st.navigation.

    Streamlit treats a `pages/` folder as old-style multipage app until st.navigation has run once in the
    process, so the very first session after start-up that opens a page URL directly would get an auto-built
    sidebar and skip app.py. Switching the flag off and rerunning sends that session through app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def _keep_keras_state() -> None:
    """Stop Streamlit from calling `keras.backend.clear_session()` after every script run.

    Streamlit does that for scripts that build models in the script thread. Here models are built and trained on
    the runner's worker threads, and a clear_session in the middle of a training swaps Keras' global state under
    it (a model being built got duplicate layer names); it also cost about 0.3 s of CPU per page view.
    """
    from streamlit.runtime.scriptrunner import script_runner

    script_runner._clean_problem_modules = lambda: None


_keep_keras_state()
_use_app_navigation()


@st.cache_resource(show_spinner=False)
def _store(home: str) -> RunStore:
    return RunStore(config.lab_home())


@st.cache_resource(show_spinner=False)
def _runner(home: str) -> Runner:
    return Runner(_store(home), max_concurrent=config.max_concurrent_trainings())


def store() -> RunStore:
    """The run database of this server's SENTIMENT_LAB_HOME, checked on every use: a database that broke or vanished
    since start-up raises a StoreError (a LabError, which `attempt` shows) instead of being written to."""
    return _store(str(config.lab_home())).check()


def runner() -> Runner:
    """The one training queue of this server, shared by every browser session."""
    store()
    return _runner(str(config.lab_home()))


def require_store() -> RunStore:
    """The run store and the training queue, or a clear message and the end of this page's script."""
    found = attempt(runner)  # checks the store on its way
    if found is None:
        st.stop()
    return found.store


def corpus() -> data.Corpus:
    with st.spinner("Loading the IMDB reviews…"):
        return data.load_corpus()


def vocabulary() -> Vocabulary:
    return load_vocabulary()


def attempt(action: Callable[[], T]) -> T | None:
    """Run `action`; a LabError becomes a red message on the page instead of a traceback."""
    try:
        return action()
    except LabError as exc:
        shown = for_visitors(exc)
        if shown != str(exc):  # the server's log keeps what the page leaves out (paths on the server)
            print(f"error: {exc}", file=sys.stderr, flush=True)
        st.error(escape(shown), icon="⚠️")
        return None


def require_data() -> data.Corpus:
    """The corpus, or a clear message and the end of this page's script."""
    loaded = attempt(corpus)
    if loaded is None:
        st.stop()
    return loaded


def data_status() -> None:
    loaded = attempt(corpus)
    if loaded is not None:
        st.caption(f"Data: {loaded.source.public()} · {len(loaded.train):,} training and {len(loaded.test):,} test reviews.")


def owner() -> str:
    """A token for this browser: kept in a cookie so a reloaded tab finds its own runs again."""
    if "owner" not in st.session_state:
        token = st.context.cookies.get(OWNER_COOKIE) if st.context.cookies else None
        st.session_state.owner = token or secrets.token_urlsafe(16)
    token = st.session_state.owner
    if (st.context.cookies or {}).get(OWNER_COOKIE) != token and not st.session_state.get("_owner_cookie_set"):
        st.session_state._owner_cookie_set = True
        st.html(
            f"<script>document.cookie = '{OWNER_COOKIE}={token}; path=/; max-age=2592000; SameSite=Lax';</script>",
            unsafe_allow_javascript=True,
        )
    return token


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1:
        return "under 1 s"
    if value < 90:
        return f"{value:.0f} s"
    return f"{value / 60:.1f} min"


def pinned_probes() -> list[str]:
    """The reviews this session re-scores after every epoch (Explore can pin more)."""
    from core.runner import DEFAULT_PROBES

    if "probes" not in st.session_state:
        st.session_state.probes = list(DEFAULT_PROBES)
    return st.session_state.probes


MAX_PROBES = 8


def pin_probe(text: str) -> str | None:
    """Add a review to the pinned set; otherwise the reason it was not added."""
    text = " ".join(text.split())
    probes = pinned_probes()
    if len(probes) >= MAX_PROBES:
        return f"At most {MAX_PROBES} pinned reviews; unpin one first."
    if not text:
        return "Type a review to pin."
    if text in probes:
        return "This review is already pinned; pin one that is not pinned yet."
    probes.append(text)
    return None

"""What every page shares: the process-wide engine objects (cached, thread-safe) and small layout helpers."""
from __future__ import annotations

import html
import importlib
import json
import re
import secrets
import sys
import threading
from typing import Callable, Literal, Sequence, TypeVar
from urllib.parse import unquote

import pyarrow as pa
import streamlit as st

from core import baseline, concurrency, config, estimate, pins, registry
from core.data import imdb
from core.classroom import people
from core.serving import trainer_wire
from core.baseline import Baseline
from core.errors import LabError, for_visitors
from core.classroom.people import Actor
from core.runner import Runner
from core.store import RunStore
from core.serving.trainer_client import RunnerClient
from core.data.vocab import Vocabulary, load_vocabulary
from pages import server_limits

T = TypeVar("T")
OWNER_COOKIE = "sentiment_lab_owner"
NAME_COOKIE = "sentiment_lab_name"  # the display name, URL-encoded
TEACHER_COOKIE = "sentiment_lab_teacher"  # the HMAC that people.unlock gave this browser, never the key
COOKIE_SECONDS = 2592000  # 30 days
_OWNER_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # as owner() makes them: never "cli", the teacher's runs
STATUS_ICONS: dict[str, str] = {  # a run's status at a glance (Runs, Class board)
    "finished": "✅", "stopped": "⏹", "running": "🏃", "queued": "⏳", "failed": "⛔", "interrupted": "⚠️"}
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


def _import_keras_early() -> None:
    """Import Keras (about 5 s on 2 cores) on a background thread when the server starts, so that the first visitor
    to open Train or Predict does not wait for it; a page that needs it meanwhile waits only for the rest."""
    threading.Thread(target=importlib.import_module, args=("core.models",), name="import-keras", daemon=True).start()


_keep_keras_state()
_import_keras_early()
server_limits.apply()
_use_app_navigation()


def _store(home: str) -> RunStore:
    """One per process and lab home, in core.registry rather than st.cache_resource: a `clear_cache` message, which
    any browser may send, must not drop the run store or the training queue."""
    return registry.shared(("run store", home), lambda: RunStore(config.lab_home()))


def _make_runner(home: str) -> Runner | RunnerClient:
    """This process's own queue, or the shared trainer service's when `python -m core serve` runs several."""
    service = trainer_wire.socket_path()
    if service is not None:
        return RunnerClient(_store(home), service)
    return Runner(_store(home), **concurrency.runner_settings())


def _runner(home: str) -> Runner | RunnerClient:
    return registry.shared(("training queue", home), lambda: _make_runner(home))


def store() -> RunStore:
    """The run database of this server's SENTIMENT_LAB_HOME, checked on every use: a database that broke or vanished
    since start-up raises a StoreError (a LabError, which `attempt` shows) instead of being written to."""
    return _store(str(config.lab_home())).check()


def runner() -> Runner | RunnerClient:
    """The one training queue of this server, shared by every browser session."""
    store()
    return _runner(str(config.lab_home()))


def require_store() -> RunStore:
    """The run store and the training queue, or a clear message and the end of this page's script."""
    found = attempt(runner)  # checks the store on its way
    if found is None:
        st.stop()
    return found.store


def loading(message: str, ready: bool, action: Callable[[], T]) -> T:
    """`action`, under a spinner only when it still has to read something (`ready` False): a spinner costs the
    server a thread and an element on every view, also when the data is in memory."""
    if ready:
        return action()
    with st.spinner(message):
        return action()


def corpus() -> imdb.Corpus:
    return loading("Loading the IMDB reviews…", imdb.corpus_loaded(), imdb.load_corpus)


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


def require_data() -> imdb.Corpus:
    """The corpus, or a clear message and the end of this page's script."""
    loaded = attempt(corpus)
    if loaded is None:
        st.stop()
    return loaded


def data_status() -> None:
    loaded = attempt(corpus)
    if loaded is not None:
        st.caption(f"Data: {loaded.source.public()} · {len(loaded.train):,} training and {len(loaded.test):,} test reviews.")


def _set_cookie(name: str, value: str, max_age: int = COOKIE_SECONDS) -> None:
    """Keep `value` in this browser's cookie `name` (URL-encoded; max_age 0 removes it)."""
    script = (f"document.cookie = {json.dumps(name)} + '=' + encodeURIComponent({json.dumps(value)}) + "
              f"'; path=/; max-age={max_age}; SameSite=Lax';")
    safe = script.replace("<", "\\u003c")  # a name cannot close the script element
    st.html(f"<script>{safe}</script>", unsafe_allow_javascript=True)


def _cookie(name: str) -> str | None:
    value = (st.context.cookies or {}).get(name)
    return unquote(value) if value else None


def owner() -> str:
    """A token for this browser: kept in a cookie so a reloaded tab finds its own runs again."""
    if "owner" not in st.session_state:
        saved = _cookie(OWNER_COOKIE) or ""
        st.session_state.owner = saved if _OWNER_TOKEN.fullmatch(saved) else secrets.token_urlsafe(16)
    token = st.session_state.owner
    if _cookie(OWNER_COOKIE) != token and not st.session_state.get("_owner_cookie_set"):
        st.session_state._owner_cookie_set = True
        _set_cookie(OWNER_COOKIE, token)
    return token


def display_name() -> str | None:
    """The name this browser picked (from its cookie on a new visit), or None before it picks one."""
    if "display_name" not in st.session_state:
        saved = _cookie(NAME_COOKIE)
        try:
            st.session_state.display_name = people.display_name(saved) if saved else None
        except LabError:
            st.session_state.display_name = None
    return st.session_state.display_name


def actor() -> Actor:
    """Who this browser is: its owner token, its name, and the teacher's rights when it holds a valid token."""
    if "teacher_token" not in st.session_state:
        st.session_state.teacher_token = _cookie(TEACHER_COOKIE)
    token = owner()
    found = attempt(lambda: people.actor(token, display_name(), st.session_state.teacher_token))
    return found or Actor(token, display_name() or people.guest_name(token))


def set_display_name(text: str) -> str:
    """Check and keep the name this browser picked (a ConfigError when it is not a usable name)."""
    name = people.display_name(text)
    st.session_state.display_name = name
    _set_cookie(NAME_COOKIE, name)
    return name


def unlock_teacher(key: str) -> None:
    """Give this browser the teacher's rights when `key` is the teacher key (PermissionDenied otherwise). Callable
    from a widget callback: the cookie that keeps them is written by the next `visitor()`."""
    st.session_state.teacher_token = people.unlock(key, owner())
    st.session_state._teacher_cookie_due = True


def lock_teacher() -> None:
    st.session_state.teacher_token = None
    _set_cookie(TEACHER_COOKIE, "", max_age=0)


def _announce_teacher_key(home: str) -> None:
    """Once per server and lab home: the teacher key in the server's log, for the teacher to type in."""
    registry.shared(("teacher key announced", home), lambda: print(people.startup_line(), flush=True) or True)


def _name_changed() -> None:
    try:
        set_display_name(st.session_state.ui_name)
        st.session_state.pop("_ui_name_error", None)
    except LabError as exc:
        st.session_state._ui_name_error = str(exc)


def visitor() -> Actor:
    """Who this browser is (`actor`), with the name picker in the sidebar: called once by each page that shows or
    changes runs."""
    try:
        _announce_teacher_key(str(config.lab_home()))
    except LabError:
        pass  # an unusable lab folder is the page's own message; the Teacher page says what the key needs
    me = actor()
    if st.session_state.pop("_teacher_cookie_due", False) and st.session_state.teacher_token:
        _set_cookie(TEACHER_COOKIE, st.session_state.teacher_token)
    if "ui_name" not in st.session_state:
        st.session_state.ui_name = display_name() or ""
    with st.sidebar:
        st.text_input("Your name", key="ui_name", max_chars=people.MAX_NAME, on_change=_name_changed,
                      placeholder="Pick a name for your runs", help="Shown beside your runs, so the class knows "
                      "whose they are. Kept in this browser; change it any time.")
        if "_ui_name_error" in st.session_state:
            st.error(escape(st.session_state._ui_name_error))
        role = " · teacher" if me.is_teacher else ""
        st.caption(f"You are **{escape(me.name)}**{role}" + ("" if display_name() else " until you pick a name."))
    return me


def table(rows: list[dict]) -> pa.Table | list[dict]:
    """Rows for st.dataframe as an Arrow table: Streamlit turns a list of dicts into one through pandas, which cost
    9 ms of the server's interpreter per table against 1.5 ms. Rows Arrow cannot type (text and numbers in one
    column) are handed over as they are."""
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return rows


def baseline_note(accuracy: float, figures: Baseline | None, labels: Sequence[str]) -> None:
    """The baseline figures of a run's split under its test accuracy, and a warning when the model is no better
    than the majority class or clearly worse than TF-IDF + logistic regression."""
    st.caption(f"Test accuracy {percent(accuracy)} · baseline on the same split: "
               f"{escape(baseline.line(figures, labels))}")
    warning = baseline.comparison(accuracy, figures, labels)
    if warning:
        st.warning(escape(warning), icon="⚖️")


def class_name(label: str) -> str:
    """A class as a sentence names it: a label that is a number (a data set coded 0/1 or -1/0/1) reads "class 1",
    so a score is "0 = class 0, 1 = class 1" and a verdict "class 1", never a bare "1" beside the numbers."""
    try:
        float(label)
    except ValueError:
        return label
    return f"class {label}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


seconds = estimate.short_time  # the wording of the queue message, which core makes


def pinned_probes(dataset: str) -> list[str]:
    """The reviews this visitor re-scores after every epoch on `dataset` (Explore can pin more): read once per
    session from the lab home, where every change is kept, so a reload or another tab finds them."""
    key = f"_pins_{dataset}"
    if key not in st.session_state:
        st.session_state[key] = attempt(lambda: pins.load(owner(), dataset)) or pins.defaults(dataset)
    return st.session_state[key]


def _keep_pins(dataset: str) -> None:
    attempt(lambda: pins.save(owner(), dataset, pinned_probes(dataset)))


def pin_probe(text: str, dataset: str) -> str | None:
    """Add a review to the pinned set; otherwise the reason it was not added."""
    text = pins.clean(text)
    probes = pinned_probes(dataset)
    if len(probes) >= pins.MAX_PINS:
        return f"At most {pins.MAX_PINS} pinned reviews; unpin one first."
    if not text:
        return "Type a review to pin."
    if text in probes:
        return "This review is already pinned; pin one that is not pinned yet."
    probes.append(text)
    _keep_pins(dataset)
    return None


def unpin_probe(text: str, dataset: str) -> None:
    probes = pinned_probes(dataset)
    if text in probes:
        probes.remove(text)
        _keep_pins(dataset)

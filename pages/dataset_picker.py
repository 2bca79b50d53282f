"""The data-set choice every page shares: a picker bound to `?dataset=NAME`, the loaded data set cached per content,
and which runs were trained on which data set.

The choice follows the visitor from page to page (a session value), and the URL names it so a link reproduces it.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

import streamlit as st

from core.data import datasets
from core.data.datasets import DEFAULT, Dataset, DatasetInfo
from core.errors import LabError
from core.run_record import RunRecord
from pages import ui

PARAM = "dataset"
CHOICE = "_dataset_choice"  # the data set this session works on, kept across pages
LINKED = "_dataset_linked"  # the `dataset` URL value already applied
ALL = "*"  # the "every data set" choice (no data set's name can start with *)
MAX_SWITCHES = 5  # data sets with runs offered as one-click switches when the chosen one has none


def available() -> list[str]:
    """The data sets' names, IMDB first; only IMDB when the store cannot be read (its message is shown)."""
    return ui.attempt(datasets.names) or [DEFAULT]


def _from_url(options: list[str]) -> None:
    """Apply a new `?dataset=` value once; an unknown name is said and IMDB is used instead."""
    raw = st.query_params.get(PARAM)
    if raw is not None and raw != st.session_state.get(LINKED):
        st.session_state[LINKED] = raw
        if raw in options:
            st.session_state[CHOICE] = raw
        else:
            st.warning(f"The link names a data set {ui.escape(repr(raw))} that this lab does not have; showing "
                       f"{DEFAULT} instead. The data sets are: {ui.escape(', '.join(available()))}.", icon="🔗")
            st.session_state[CHOICE] = DEFAULT
    if st.session_state.get(CHOICE) not in options:
        st.session_state[CHOICE] = DEFAULT


def follow(name: str) -> None:
    """Switch this session (and the URL) to `name`, the data set of a run a link opened, before `choose` draws."""
    st.session_state[CHOICE] = name
    _in_url(name)


def _in_url(name: str) -> None:
    """Name the chosen data set in the URL (IMDB, the default, by leaving it out), as already applied."""
    if name == DEFAULT:
        st.query_params.pop(PARAM, None)
    else:
        st.query_params[PARAM] = name
    st.session_state[LINKED] = st.query_params.get(PARAM)


def _chosen(key: str, on_change: Callable[[], None] | None) -> None:
    st.session_state[CHOICE] = st.session_state[key]
    if on_change is not None:
        on_change()


def choose(key: str, *, on_change: Callable[[], None] | None = None, container=st,
           everything: bool = False) -> str | None:
    """The picker (IMDB by default, or the URL's or this session's choice); writes the choice into the URL. It is
    drawn once a data set has been imported.

    `everything` adds "all data sets" (returned as None, `?dataset=*`) for pages that list runs;
    `on_change` resets what depends on the data set.
    """
    names = available()
    options = names + ([ALL] if everything and len(names) > 1 else [])
    _from_url(options)
    if len(names) == 1:  # IMDB alone: nothing to pick, and the pages look as they always did
        st.query_params.pop(PARAM, None)
        return None if everything else DEFAULT
    st.session_state[key] = st.session_state[CHOICE]
    name = container.selectbox("Data set", options, key=key, on_change=_chosen, args=(key, on_change),
                               format_func=lambda n: "all data sets" if n == ALL else n,
                               help="IMDB is built in; import your own labelled text on the Data sets page.")
    _in_url(name)
    return None if name == ALL else name


@st.cache_resource(show_spinner=False, max_entries=8)
def _load(*, name: str, fingerprint: str) -> Dataset:
    """Keyword-only: Streamlit names a positional argument of a cached call through inspect.signature."""
    return datasets.load(name)


def load(name: str) -> Dataset | None:
    """A data set's reviews and word index, read once per name and content; None after its message is shown."""
    found = ui.attempt(lambda: datasets.info(name))
    if found is None:
        return None
    return ui.loading(f"Loading the {name} reviews…", datasets.loaded(found),
                      lambda: ui.attempt(lambda: _load(name=name, fingerprint=found.fingerprint)))


def require(name: str) -> Dataset:
    """The data set, or its message and the end of this page's script."""
    loaded = load(name)
    if loaded is None:
        st.stop()
    return loaded


def info(name: str) -> DatasetInfo | None:
    return ui.attempt(lambda: datasets.info(name))


def of_run(record: RunRecord) -> str:
    """The data set a run was trained on (runs from before data sets existed were trained on IMDB)."""
    return record.dataset or DEFAULT


def offer_others(chosen: str, runs: Sequence[RunRecord], *, noun: str, verb: str, key: str, icon: str,
                 then: str = "") -> bool:
    """When the chosen data set has none of `runs` (a page's runs of every data set) but others do: say which, with
    a click to switch to each; False (nothing said) when no data set has any. A new visitor starts on IMDB, so a
    class that trained only on its own text was told there was nothing, with its runs one picker away."""
    counts = Counter(of_run(r) for r in runs)
    if not counts:
        return False
    one = len(counts) == 1
    there = f"is a {noun}" if len(runs) == 1 else f"are {noun}s"
    where = ", ".join(f"{ui.escape(name)} ({n} {noun}{'' if n == 1 else 's'})" for name, n in counts.items())
    st.info(f"No {noun} has been trained on {ui.escape(chosen)} yet. There {there} on "
            f"{'another data set' if one else 'other data sets'}: {where}. Switch to {'it' if one else 'one of them'}"
            f"{then}.", icon=icon)
    for name, n in list(counts.items())[:MAX_SWITCHES]:
        which = f"the {noun}" if n == 1 else f"its {noun}s"
        if st.button(f"{verb} {which} on {ui.escape(name)}", key=f"{key}_{name}", icon=icon):
            follow(name)
            st.rerun()
    return True


def with_dataset(row: dict, record: RunRecord) -> dict:
    """A run table row with the run's data set after its preset."""
    out = {}
    for column, value in row.items():
        out[column] = value
        if column == "Preset":
            out["Data set"] = of_run(record)
    return out


def runs_using(name: str) -> int:
    """How many recorded runs were trained on this data set."""
    try:
        return len(ui.store().runs_of_dataset(name))
    except LabError:
        return 0


def forget() -> None:
    """Drop removed data sets from this server's cache."""
    _load.clear()

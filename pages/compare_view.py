"""Predict's comparison of several models: one review scored by each (table, bar chart, word effects in small
multiples), the example set as a models x examples grid, and what-if edits with a short history."""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core import compare, export
from core.classroom import permissions
from core.compare import Change, Grid, ModelResult
from core.run_record import RunRecord
from core.data.vocab import split_words
from pages import dataset_picker, palette, ui

PICK = "compare_runs"
TEXT = "compare_text"  # the review the comparison was made on
GRID = "compare_grid"  # whether the examples grid was asked for
EDITED = "compare_edited"  # the edited review (a text area)
BASE = "compare_base"  # the review the edits started from
HISTORY = "compare_history"  # [(what was done, edited text)], newest last
WORD = "compare_word"  # the word picked to remove or replace
NEW_WORD = "compare_new_word"
TOP_WORDS = 8  # words per model in the small multiples


def _choices(me, record: RunRecord) -> list[RunRecord]:
    """Finished runs with a model on the same data set as the chosen one, visible to this visitor."""
    dataset = dataset_picker.of_run(record)
    return [r for r in export.scorable(permissions.visible(me, ui.store().usable()))
            if dataset_picker.of_run(r) == dataset]


def _pick(runs: list[RunRecord]) -> list[RunRecord]:
    by_id = {r.id: r for r in runs}
    if PICK not in st.session_state or not any(i in by_id for i in st.session_state[PICK]):
        st.session_state[PICK] = [r.id for r in compare.best_per_preset(runs)][: compare.MAX_MODELS]
    st.session_state[PICK] = [i for i in st.session_state[PICK] if i in by_id]
    st.multiselect("Models to compare", list(by_id), key=PICK, max_selections=compare.MAX_MODELS,
                   format_func=lambda i: f"{compare.model_name(by_id[i])} · test accuracy "
                                         f"{ui.percent(by_id[i].test_accuracy)}",
                   help="At first the best run of each preset on this data set.")
    return [by_id[i] for i in st.session_state[PICK]]


def scores_chart(results: Sequence[ModelResult]) -> go.Figure:
    """Each model's score as a bar, coloured by its verdict."""
    names = [ui.escape(r.name, "plotly") for r in results]
    verdicts = [r.explanation.verdict for r in results]
    fig = go.Figure(go.Bar(x=[v.score for v in verdicts], y=names, orientation="h",
                           marker_color=[palette.VERDICT.get(v.label, palette.BLUE) for v in verdicts],
                           text=[f"{v.score:.3f} {ui.escape(v.label, 'plotly')}" for v in verdicts],
                           textposition="auto"))
    binary = not any(v.class_probabilities for v in verdicts)
    fig.update_layout(height=80 + 45 * len(results), margin=dict(l=10, r=10, t=30, b=10),
                      xaxis=dict(range=[0, 1], title="score (P(label 1))" if binary else "predicted class's probability"),
                      yaxis=dict(autorange="reversed"))
    if binary:
        fig.add_vline(x=0.5, line_dash="dot", line_color=palette.GREY)
    return fig


def effects_chart(results: Sequence[ModelResult]) -> go.Figure:
    """Small multiples: each model's strongest word effects, on a shared axis so models compare at a glance."""
    cols = min(len(results), 3)
    rows = -(-len(results) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[ui.escape(r.name, "plotly") for r in results],
                        shared_xaxes=True, horizontal_spacing=0.12, vertical_spacing=0.12)
    for n, result in enumerate(results):
        effects = {w.text: w.effect for w in result.explanation.words if w.effect is not None}
        top = sorted(effects.items(), key=lambda kv: abs(kv[1]), reverse=True)[:TOP_WORDS][::-1]
        fig.add_trace(go.Bar(x=[v for _, v in top], y=[ui.escape(w, "plotly") for w, _ in top], orientation="h",
                             marker_color=[palette.signed(v) for _, v in top], showlegend=False,
                             hovertemplate="%{y}: %{x:+.4f}<extra></extra>"),
                      row=n // cols + 1, col=n % cols + 1)
    fig.update_layout(height=60 + 230 * rows, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def grid_chart(result: Grid, names: Sequence[str]) -> go.Figure:
    """Models x examples as a heat map of scores, each cell labelled with its score and verdict."""
    text = [[f"{s:.2f}<br>{ui.escape(v, 'plotly')}" for s, v in zip(scores, verdicts)]
            for scores, verdicts in zip(result.scores, result.verdicts)]
    fig = go.Figure(go.Heatmap(z=result.scores, x=[ui.escape(n, "plotly") for n in names],
                               y=[ui.escape(m, "plotly") for m in result.models], text=text, texttemplate="%{text}",
                               zmin=0, zmax=1, colorscale="RdYlGn", colorbar=dict(title="score")))
    fig.update_layout(height=120 + 50 * len(result.models), margin=dict(l=10, r=10, t=20, b=10),
                      yaxis=dict(autorange="reversed"))
    return fig


def _one_review(runs: list[RunRecord], text: str) -> None:
    if st.button("Compare on this review", key="compare_go", type="primary"):
        if text.strip():
            st.session_state[TEXT] = text
        else:
            st.warning("The review is empty: type a few words, or pick an example above.", icon="✍️")
    wanted = st.session_state.get(TEXT)
    if not wanted:
        st.caption("Type or pick a review above, then compare every chosen model on it.")
        return
    results = ui.attempt(lambda: compare.compare(wanted, runs))
    if results is None:
        return
    st.dataframe(ui.table([r.row() for r in results]), hide_index=True, width="stretch", key="compare_table",
                 column_config={"Test acc.": st.column_config.NumberColumn("Test acc.", format="percent")})
    st.plotly_chart(scores_chart(results), width="stretch", key="compare_scores")
    st.markdown("**Which words moved each model** (score with the word minus without it; green up, red down)")
    st.plotly_chart(effects_chart(results), width="stretch", key="compare_effects")


def _examples_grid(runs: list[RunRecord], examples: dict[str, str]) -> None:
    if st.button(f"Score the {len(examples)} examples with every chosen model", key="compare_grid_go"):
        st.session_state[GRID] = True
    if not st.session_state.get(GRID):
        st.caption("Which model handles “not bad at all”? Score the examples to see them side by side.")
        return
    result = ui.attempt(lambda: compare.grid(list(examples.values()), runs))
    if result is None:
        return
    st.plotly_chart(grid_chart(result, list(examples)), width="stretch", key="compare_grid_chart")
    st.dataframe(ui.table(result.rows(list(examples))), hide_index=True, width="stretch", key="compare_grid_table")


# --- what-if edits (button callbacks change the edited text before the page is drawn again) -----------------------
def _edit(label: str, text: str) -> None:
    st.session_state[EDITED] = text
    st.session_state[HISTORY] = compare.push(st.session_state.get(HISTORY, []), label, text)


def _remove(original: str) -> None:
    word = st.session_state.get(WORD)
    if word:
        _edit(f"removed “{word}”", compare.without_word(st.session_state.get(EDITED) or original, word))


def _replace(original: str) -> None:
    word, new = st.session_state.get(WORD), st.session_state.get(NEW_WORD, "").strip()
    if word and new:
        _edit(f"“{word}” → “{new}”", compare.replace_word(st.session_state.get(EDITED) or original, word, new))


def _typed() -> None:
    _edit("typed an edit", st.session_state.get(EDITED, ""))


def _step_back(original: str) -> None:
    history = st.session_state.get(HISTORY, [])[:-1]
    st.session_state[HISTORY] = history
    st.session_state[EDITED] = history[-1][1] if history else original


def _what_if(runs: list[RunRecord], original: str) -> None:
    if not original.strip():
        st.caption("Type or pick a review above first: the edits start from it.")
        return
    if st.session_state.get(BASE) != original:  # a new review: its edits start again
        st.session_state.update({BASE: original, EDITED: original, HISTORY: []})
    words = list(dict.fromkeys(split_words(original)))[:80]
    if st.session_state.get(WORD) not in words:
        st.session_state[WORD] = None
    st.pills("Click a word", words, key=WORD, selection_mode="single",
             help="Then remove it, or replace it by the word typed beside.")
    c1, c2, c3, c4 = st.columns([1, 2, 1, 1])
    c1.button("Remove it", key="compare_remove", on_click=_remove, args=(original,), width="stretch")
    c2.text_input("Replace it by", key=NEW_WORD, max_chars=40, label_visibility="collapsed",
                  placeholder="replace it by…")
    c3.button("Replace it", key="compare_replace", on_click=_replace, args=(original,), width="stretch")
    c4.button("↶ Step back", key="compare_back", on_click=_step_back, args=(original,), width="stretch",
              disabled=not st.session_state.get(HISTORY))
    st.text_area("Edited review (or type your own edit)", key=EDITED, height=100, on_change=_typed,
                 max_chars=len(original) + 2_000)
    history = st.session_state.get(HISTORY, [])
    if history:
        st.caption("Edits: " + " · ".join(ui.escape(label) for label, _ in history))
    edited = st.session_state.get(EDITED, "")
    left, right = st.columns(2)
    left.markdown("**Original**")
    left.text(original[:2_000])
    right.markdown("**Edited**")
    right.text(edited[:2_000])
    if not edited.strip():
        st.warning("The edited review is empty: type a few words, or step back.", icon="✍️")
        return
    changes = ui.attempt(lambda: compare.what_if(original, edited, runs))
    if changes:
        st.dataframe(ui.table([c.row() for c in changes]), hide_index=True, width="stretch", key="compare_changes")
        st.plotly_chart(change_chart(changes), width="stretch", key="compare_change_chart")


def change_chart(changes: Sequence[Change]) -> go.Figure:
    """Each model's score difference, edited minus original."""
    fig = go.Figure(go.Bar(x=[c.difference for c in changes], y=[ui.escape(c.model, "plotly") for c in changes],
                           orientation="h", marker_color=[palette.signed(c.difference) for c in changes],
                           text=[f"{c.difference:+.3f}" for c in changes], textposition="auto"))
    fig.update_layout(height=80 + 40 * len(changes), margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title="score change (edited − original)", yaxis=dict(autorange="reversed"))
    return fig


def show(me, record: RunRecord, examples: dict[str, str], text: str) -> None:
    """The comparison section under Predict's single-model result: models on the data set of `record`."""
    st.divider()
    st.subheader("⚖️ Compare models")
    runs = _pick(_choices(me, record))
    if not runs:
        st.info("Pick one or more models to compare.", icon="👆")
        return
    names = ["This review", "What if…"] + (["Examples grid"] if examples else [])
    tabs = dict(zip(names, st.tabs(names)))
    with tabs["This review"]:
        _one_review(runs, text)
    with tabs["What if…"]:
        _what_if(runs, st.session_state.get(TEXT) or text)
    if examples:
        with tabs["Examples grid"]:
            _examples_grid(runs, examples)

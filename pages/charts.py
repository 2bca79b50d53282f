"""Plotly figures the pages share: learning curves (one run or several), probe scores, confusion matrix.

Labels may be user text (run names, pinned reviews): they are escaped for Plotly's pseudo-HTML, and hover text
reads them through `%{fullData.name}`, never by pasting them into a hover template.

The learning curves and probe charts are drawn on every view of Runs and every second while Train watches a run,
and building a Plotly figure costs tens of milliseconds of the server's one interpreter: they are cached by their
data and shared between sessions, so a caller must never change a figure it gets (copy it with go.Figure(fig)).
"""
from __future__ import annotations

from typing import Any, Sequence

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import escape

COLORS = ("#1f5fbf", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#0b7285", "#e67700", "#495057")
SHARED_FIGURES = 256  # the figures kept: a class's runs, each as it grows epoch by epoch
TICK_STEPS = ((20, 1), (50, 5))  # (longest run, epochs between ticks); longer runs get a tick every 10 epochs


def _epoch_axis(epochs: int | None) -> dict[str, Any]:
    """The epoch axis, fixed to the planned run length so the curve grows into it.

    A tick per epoch on a 100-epoch axis costs the browser about 0.8 s of CPU per redraw, once a second while
    training, so longer runs get a tick every 5 or 10 epochs.
    """
    span = max(epochs or 1, 1)
    step = next((step for longest, step in TICK_STEPS if span <= longest), 10)
    return {"title_text": "epoch", "range": [0.5, span + 0.5] if epochs else None, "tick0": 0, "dtick": step}


@st.cache_resource(show_spinner=False, max_entries=SHARED_FIGURES)
def curves(series: Sequence[tuple[str, Sequence[dict[str, Any]]]], *, log_loss: bool = False,
           best_epoch: int | None = None, epochs: int | None = None) -> go.Figure:
    """Loss and accuracy by epoch, training dashed and validation solid, one colour per run.

    `series` is (label, history) pairs, the first being the run in focus; `best_epoch` draws a marker line on it.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"), horizontal_spacing=0.08)
    for n, (label, history) in enumerate(series):
        label = escape(label, "plotly")
        color = COLORS[n % len(COLORS)]
        epochs_x = [h["epoch"] for h in history]
        seconds = [h.get("seconds") for h in history]
        width = 3 if n == 0 else 1.5
        for col, metric in ((1, "loss"), (2, "accuracy")):
            for prefix, dash, kind in (("", "dash", "train"), ("val_", "solid", "validation")):
                values = [h.get(prefix + metric) for h in history]
                if all(v is None for v in values):
                    continue
                fig.add_trace(go.Scatter(
                    x=epochs_x, y=values, mode="lines+markers", name=f"{label} · {kind}",
                    line={"color": color, "dash": dash, "width": width}, marker={"size": 7 if n == 0 else 4},
                    customdata=seconds, legendgroup=label, showlegend=col == 1,
                    hovertemplate=f"%{{fullData.name}} {metric}<br>epoch %{{x}}: %{{y:.4f}}<br>epoch took %{{customdata:.1f}} s<extra></extra>",
                ), row=1, col=col)
    if best_epoch is not None:
        for col in (1, 2):
            fig.add_vline(x=best_epoch, line={"color": "#2b8a3e", "dash": "dot", "width": 2}, row=1, col=col)
        fig.add_annotation(x=best_epoch, y=0.0, yref="paper", xref="x", text=f"lowest val loss (epoch {best_epoch})",
                           showarrow=False, yanchor="bottom", xanchor="right", xshift=-4, font={"color": "#2b8a3e"})
    fig.update_xaxes(**_epoch_axis(epochs))
    fig.update_yaxes(type="log" if log_loss else "linear", row=1, col=1)
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "y": -0.25},
                      hovermode="closest", font={"size": 15})
    return fig


@st.cache_resource(show_spinner=False, max_entries=SHARED_FIGURES)
def probes(texts: Sequence[str], scores: Sequence[Sequence[float]], epochs: int | None = None) -> go.Figure:
    """Each pinned review's score after every epoch, so a class can watch the model change its mind."""
    fig = go.Figure()
    for n, text in enumerate(texts):
        ys = [row[n] for row in scores if n < len(row)]
        label = escape(text if len(text) <= 40 else text[:37] + "…", "plotly")
        fig.add_trace(go.Scatter(x=list(range(1, len(ys) + 1)), y=ys, mode="lines+markers", name=label,
                                 line={"color": COLORS[n % len(COLORS)], "width": 2.5},
                                 hovertemplate="%{fullData.name}<br>epoch %{x}: %{y:.3f}<extra></extra>"))
    fig.add_hline(y=0.5, line={"color": "#868e96", "dash": "dot"})
    fig.update_yaxes(range=[0, 1], title_text="score (1 = positive)")
    fig.update_xaxes(**_epoch_axis(epochs))
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Pinned reviews",
                      legend={"orientation": "h", "y": -0.3}, font={"size": 15})
    return fig


def confusion(matrix: Sequence[Sequence[int]]) -> go.Figure:
    """A 2x2 test confusion matrix with counts written in the cells."""
    labels = ["negative", "positive"]
    fig = go.Figure(go.Heatmap(z=matrix, x=[f"predicted {l}" for l in labels], y=[f"actually {l}" for l in labels],
                               colorscale="Blues", showscale=False, text=matrix, texttemplate="%{text:,}",
                               textfont={"size": 20}))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10}, font={"size": 15})
    return fig

"""Plotly figures of the pages: learning curves (one run or several), probe scores, confusion matrix, Explore's
review lengths, class balance and most frequent words, and the word map.

Labels may be user text (run names, pinned reviews): they are escaped for Plotly's pseudo-HTML, and hover text
reads them through `%{fullData.name}`, never by pasting them into a hover template.

The learning curves and probe charts are drawn on every view of Runs and every second while Train watches a run,
and building a Plotly figure costs tens of milliseconds of the server's one interpreter: they are cached by their
data and shared between sessions (as SharedFigure), so a caller must never change a figure it gets (present.chart
changes a copy).
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.data import imdb
from core.explore import LengthHistogram, Truncation, WordCount
from core.run_record import RunRecord
from pages import palette
from pages.ui import class_name, escape

if TYPE_CHECKING:
    from core.word_map import WordMap

SHARED_FIGURES = 256  # the figures kept: a class's runs, each as it grows epoch by epoch
TICK_STEPS = ((20, 1), (50, 5))  # (longest run, epochs between ticks); longer runs get a tick every 10 epochs


class SharedFigure(go.Figure):
    """A cached figure that sessions share and nobody changes: st.plotly_chart asks for its dict on every view, and
    making that deep copy cost 1.7 ms for two runs' curves; it is made once and the same dict is handed out."""

    _shared_dict: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        if self._shared_dict is None:
            self._shared_dict = super().to_dict()
        return self._shared_dict


def _epoch_axis(epochs: int | None) -> dict[str, Any]:
    """The epoch axis, fixed to the planned run length so the curve grows into it.

    A tick per epoch on a 100-epoch axis costs the browser about 0.8 s of CPU per redraw, once a second while
    training, so longer runs get a tick every 5 or 10 epochs.
    """
    span = max(epochs or 1, 1)
    step = next((step for longest, step in TICK_STEPS if span <= longest), 10)
    return {"title_text": "epoch", "range": [0.5, span + 0.5] if epochs else None, "tick0": 0, "dtick": step}


def epoch_span(run: RunRecord) -> int:
    """How far a run's epoch axis reaches: the epochs a finished run trained; for a run in training its plan, or,
    with early stopping, its epochs so far plus the patience (where it stops unless validation improves). A small
    data set's budget of 100 epochs usually ends near 10, and its curves were drawn in a tenth of the chart."""
    done, planned, patience = len(run.history), int(run.config.get("epochs") or 1), run.config.get("patience")
    if not run.active:
        return max(done, 1)
    return min(planned, done + int(patience)) if patience else planned


def _digest(value: Any) -> str:
    """An exact fingerprint of a chart's data, for its cache key: Streamlit's cache hashes nested lists and dicts
    element by element in Python (40 ms a view for eight runs of 100 epochs); this hashes their JSON text once."""
    return hashlib.blake2b(json.dumps(value, default=str).encode(), digest_size=20).hexdigest()


def curves(series: Sequence[tuple[str, Sequence[dict[str, Any]]]], *, log_loss: bool = False,
           best_epoch: int | None = None, epochs: int | None = None) -> SharedFigure:
    """Loss and accuracy by epoch, training dashed and validation solid, one colour per run.

    `series` is (label, history) pairs, the first being the run in focus; `best_epoch` draws a marker line on it.
    """
    return _curves(_series=series, data=_digest(series), log_loss=log_loss, best_epoch=best_epoch, epochs=epochs)


@st.cache_resource(show_spinner=False, max_entries=SHARED_FIGURES)
def _curves(*, _series: Sequence[tuple[str, Sequence[dict[str, Any]]]], data: str, log_loss: bool,
            best_epoch: int | None, epochs: int | None) -> SharedFigure:
    """`curves`, cached by the digest of its data."""
    series = _series
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"), horizontal_spacing=0.08)
    for n, (label, history) in enumerate(series):
        label = escape(label, "plotly")
        color = palette.SERIES[n % len(palette.SERIES)]
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
            fig.add_vline(x=best_epoch, line={"color": palette.POSITIVE, "dash": "dot", "width": 2}, row=1, col=col)
        left = best_epoch <= max(epochs or 0, best_epoch) / 2  # the note on the side with room, inside the chart
        fig.add_annotation(x=best_epoch, y=0.0, yref="paper", xref="x", text=f"lowest val loss (epoch {best_epoch})",
                           showarrow=False, yanchor="bottom", xanchor="left" if left else "right",
                           xshift=4 if left else -4, font={"color": palette.POSITIVE})
    fig.update_xaxes(**_epoch_axis(epochs))
    fig.update_yaxes(type="log" if log_loss else "linear", row=1, col=1)
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "y": -0.25},
                      hovermode="closest", font={"size": 15})
    return SharedFigure(fig)


def probes(texts: Sequence[str], scores: Sequence[Sequence[Any]], *, epochs: int | None = None,
           labels: Sequence[str] = imdb.LABELS) -> SharedFigure:
    """Each pinned review's score after every epoch, so a class can watch the model change its mind.

    A binary model's scores are one P(label 1) per review: one line per review. A model of 3+ classes gives each
    review every class's probability: one small panel per review, one line per class (the same colour in each)."""
    return _probes(_texts=texts, _scores=scores, data=_digest([texts, scores]), epochs=epochs, labels=tuple(labels))


@st.cache_resource(show_spinner=False, max_entries=SHARED_FIGURES)
def _probes(*, _texts: Sequence[str], _scores: Sequence[Sequence[Any]], data: str, epochs: int | None,
            labels: tuple[str, ...]) -> SharedFigure:
    """`probes`, cached by the digest of its data."""
    texts, scores = _texts, _scores
    if any(isinstance(value, (list, tuple)) for row in scores for value in row):
        return SharedFigure(_class_probes(texts, scores, epochs, labels))
    fig = go.Figure()
    for n, text in enumerate(texts):
        ys = [row[n] for row in scores if n < len(row)]
        fig.add_trace(go.Scatter(x=list(range(1, len(ys) + 1)), y=ys, mode="lines+markers", name=_short(text),
                                 line={"color": palette.SERIES[n % len(palette.SERIES)], "width": 2.5},
                                 hovertemplate="%{fullData.name}<br>epoch %{x}: %{y:.3f}<extra></extra>"))
    fig.add_hline(y=0.5, line={"color": "#868e96", "dash": "dot"})
    fig.update_yaxes(range=[0, 1], title_text=f"score (1 = {escape(class_name(labels[1]), 'plotly')})")
    fig.update_xaxes(**_epoch_axis(epochs))
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Pinned reviews",
                      legend={"orientation": "h", "y": -0.3}, font={"size": 15})
    return SharedFigure(fig)


def _short(text: str, most: int = 40) -> str:
    return escape(text if len(text) <= most else text[:most - 3] + "…", "plotly")


def _class_probes(texts: Sequence[str], scores: Sequence[Sequence[Sequence[float]]], epochs: int | None,
                  labels: Sequence[str]) -> go.Figure:
    cols = 2 if len(texts) > 1 else 1
    rows = -(-len(texts) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_short(t, 50) for t in texts], shared_yaxes=True,
                        vertical_spacing=min(0.3 / max(rows - 1, 1), 0.12), horizontal_spacing=0.06)
    for n in range(len(texts)):
        per_epoch = [row[n] for row in scores if n < len(row)]
        for k, label in enumerate(labels):
            name = escape(label, "plotly")
            fig.add_trace(go.Scatter(
                x=list(range(1, len(per_epoch) + 1)), y=[p[k] for p in per_epoch], mode="lines+markers", name=name,
                legendgroup=name, showlegend=n == 0, line={"color": palette.SERIES[k % len(palette.SERIES)], "width": 2.5},
                hovertemplate="%{fullData.name}<br>epoch %{x}: %{y:.3f}<extra></extra>"),
                row=n // cols + 1, col=n % cols + 1)
    fig.update_yaxes(range=[0, 1])
    fig.update_xaxes(**_epoch_axis(epochs))
    for row in range(1, rows):  # "epoch" under the bottom panels only, clear of the titles below it
        fig.update_xaxes(title_text=None, row=row)
    fig.update_annotations(font={"size": 14})
    fig.update_layout(height=120 + 200 * rows, margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      title="Pinned reviews: each class's probability", legend={"orientation": "h", "y": -0.12},
                      font={"size": 15})
    return fig


def confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str] = imdb.LABELS) -> go.Figure:
    """A k x k test confusion matrix (rows: the true class) with counts written in the cells."""
    names = [escape(label, "plotly") for label in labels]
    k = len(names)
    fig = go.Figure(go.Heatmap(z=matrix, x=[f"predicted {l}" for l in names], y=[f"actually {l}" for l in names],
                               colorscale="Blues", showscale=False, text=matrix, texttemplate="%{text:,}",
                               textfont={"size": 20 if k <= 4 else 14}))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=300 if k <= 2 else 220 + 45 * k, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      font={"size": 15})
    return fig


# --- Explore's figures of a data set (drawn per view of its Charts tab, not shared) ---------------------------
Classes = Sequence[tuple[int, str, str]]  # (class id, name, colour) in the order the figures draw them


def lengths(classes: Classes, hist: LengthHistogram, trunc: Truncation) -> go.Figure:
    """Review lengths per class as filled step lines (readable where they overlap), maxlen and what it cuts."""
    width, cap = hist.width, hist.cap
    edges = np.append(hist.edges, cap + width)  # the overflow bin sits just right of the cap
    ranges = [f"{int(a):,}–{int(a) + width - 1:,} ids" for a in hist.edges[:-1]] + [f"over {cap:,} ids"]
    fig = go.Figure()
    for label, name, color in classes:
        counts = np.append(hist.counts[label], hist.overflow[label])
        fig.add_scatter(x=edges[:-1] + width / 2, y=counts, customdata=ranges, name=escape(name, "plotly"),
                        mode="lines", line={"color": color, "width": 3, "shape": "hvh"}, fill="tozeroy",
                        fillcolor=palette.rgba(color, 0.15),
                        hovertemplate="%{fullData.name}<br>%{customdata}: %{y:,} reviews<extra></extra>")
    top = cap + width
    note = {"y": 0.98, "yref": "paper", "showarrow": False, "font": {"size": 20, "color": "#111"},
            "bgcolor": "rgba(255,255,255,0.85)"}
    if trunc.maxlen <= top:
        fig.add_vrect(x0=trunc.maxlen, x1=top, fillcolor=palette.NEGATIVE, opacity=0.07, line_width=0)
        fig.add_vline(x=trunc.maxlen, line={"color": "#111", "dash": "dash", "width": 3})
        left = trunc.maxlen < 0.6 * top
        fig.add_annotation(x=trunc.maxlen, text=f"<b>{trunc.sentence()}</b>", xanchor="left" if left else "right",
                           xshift=8 if left else -8, **note)
    else:  # maxlen far past these texts: the axis keeps to the texts
        fig.add_annotation(x=0.98, xref="paper", xanchor="right", text=f"<b>{trunc.sentence()}</b> (maxlen "
                           f"{trunc.maxlen:,} is past the longest)", **note)
    fig.update_xaxes(title_text=f"review length in ids (words + the > start mark) · last step: longer than {cap:,}",
                     range=[0, top])
    fig.update_yaxes(title_text="reviews", rangemode="tozero")
    return _readable(fig, height=440)


def _readable(fig: go.Figure, height: int) -> go.Figure:
    """Projector-sized text everywhere (the Streamlit theme would otherwise shrink ticks and legends)."""
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, font={"size": 16},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right",
                              "font": {"size": 16}})
    fig.update_xaxes(tickfont={"size": 15}, title_font={"size": 16})
    fig.update_yaxes(tickfont={"size": 15}, title_font={"size": 16})
    return fig


def balance(classes: Classes, per_split: Mapping[str, Sequence[int]]) -> go.Figure:
    """Reviews of each class in each split (`per_split`: counts by class id, keyed by the split's name)."""
    fig = go.Figure()
    for label, name, color in classes:
        counts = [int(split[label]) for split in per_split.values()]
        fig.add_bar(x=list(per_split), y=counts, name=escape(name, "plotly"),
                    text=[f"{c:,}" for c in counts], textposition="inside", textfont={"size": 20, "color": "#fff"},
                    marker={"color": color}, hovertemplate="%{fullData.name}: %{y:,} reviews<extra></extra>")
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="reviews")
    return _readable(fig, height=380)


def top_words(words: Sequence[WordCount], num_words: int) -> go.Figure:
    """The most frequent words as bars: blue when num_words keeps them, orange when they would become ?."""
    kept = [w.id < num_words for w in words]
    fig = go.Figure(go.Bar(
        x=[w.count for w in words], y=[f"{w.word} (#{w.rank:,})" for w in words], orientation="h",
        marker={"color": [palette.BLUE if k else palette.ORANGE for k in kept]}, text=[f"{w.count:,}" for w in words],
        textposition="outside", textfont={"size": 16}, cliponaxis=False, customdata=[[w.id, w.rank] for w in words],
        hovertemplate="%{y}: %{x:,} times<br>id %{customdata[0]}, rank %{customdata[1]:,}<extra></extra>"))
    fig.update_xaxes(title_text="occurrences")
    _readable(fig, height=max(300, 34 * len(words) + 90))
    fig.update_yaxes(autorange="reversed", tickfont={"size": 17})
    fig.update_layout(margin={"l": 10, "r": 70, "t": 10, "b": 10})
    return fig


def _hover(found: WordMap, at: list[int]) -> dict:
    """Points' words and hover text: the word, its effect and the class it pushes towards, as text."""
    return dict(text=[escape(found.words[i], "plotly") for i in at],
                customdata=[[f"{found.effects[i]:+.3f}", escape(found.towards[i], "plotly")] for i in at],
                hovertemplate="<b>%{text}</b><br>effect %{customdata[0]} (towards %{customdata[1]})<extra></extra>")


def _effect_points(found: WordMap) -> go.Scattergl:
    limit = float(abs(found.effects).max()) or 1.0
    return go.Scattergl(x=found.xy[:, 0], y=found.xy[:, 1], mode="markers",
                        **_hover(found, list(range(len(found.words)))),
                        marker=dict(size=6, color=found.effects, colorscale="RdYlGn", cmin=-limit, cmax=limit,
                                    colorbar=dict(title="effect"), line=dict(width=0)))


def _class_points(found: WordMap, k: int, name: str) -> go.Scattergl:
    at = [i for i, towards in enumerate(found.towards) if towards == name]
    strongest = float(found.effects.max()) or 1.0
    return go.Scattergl(x=found.xy[at, 0], y=found.xy[at, 1], mode="markers",
                        name=f"towards {escape(name, 'plotly')}", **_hover(found, at),
                        marker=dict(size=6, color=palette.class_color(found.classes, k), line=dict(width=0),
                                    opacity=[0.25 + 0.75 * max(0.0, float(found.effects[i])) / strongest for i in at]))


def word_map(found: WordMap, searched: str | None, near: list[str]) -> go.Figure:
    """Every word as a point: for two classes coloured by its effect (green: towards the second class, red: the
    first); for three or more in the colour of the class it pushes towards, fainter the less it pushes (a rise is
    never negative, so the green-red scale would paint every word green). The searched word and its neighbours
    are ringed and named."""
    if len(found.classes) > 2:
        fig = go.Figure([_class_points(found, k, name) for k, name in enumerate(found.classes)
                         if name in found.towards])
    else:
        fig = go.Figure(_effect_points(found))
    marked = [w for w in [searched, *near] if w in found.words]
    if marked:
        at = [found.words.index(w) for w in marked]
        fig.add_trace(go.Scatter(x=found.xy[at, 0], y=found.xy[at, 1], mode="markers+text",
                                 text=[escape(w, "plotly") for w in marked], textposition="top center",
                                 marker=dict(size=[16] + [10] * (len(at) - 1), color="rgba(0,0,0,0)",
                                             line=dict(width=2, color="#1f5fbf")),
                                 hoverinfo="skip", showlegend=False))
    fig.update_layout(height=620, margin=dict(l=10, r=10, t=30, b=10), showlegend=len(found.classes) > 2,
                      legend=dict(orientation="h", y=1.06),
                      xaxis=dict(title=f"{found.method} 1", zeroline=False),
                      yaxis=dict(title=f"{found.method} 2", zeroline=False))
    return fig

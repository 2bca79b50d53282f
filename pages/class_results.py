"""How the pages show a model's classes, for IMDB's two and a user's data set's 2 to 20: the test confusion matrix with
per-class precision and recall, the most confident mistakes naming both classes, and a text's class probabilities.

Class names come from the user's data set: they are shown through ui.escape (markdown, html) or charts (plotly).
"""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from core import evaluation
from core.errors import LabError
from pages import charts, dataset_picker, ui

IMDB_COLORS = {"positive": "#2b8a3e", "negative": "#c92a2a"}


def color(labels: Sequence[str], k: int) -> str:
    """A class's colour: IMDB's green and red, otherwise the charts' colour for its id."""
    if tuple(labels) == evaluation.IMDB_LABELS:
        return IMDB_COLORS[labels[k]]
    return charts.COLORS[k % len(charts.COLORS)]


def _sure(confidence: float) -> str:
    """"97%", or "over 99%": a model is never 100% sure, whatever rounding says."""
    return f"{confidence:.0%}" if confidence < 0.99 else "over 99%"


def where_it_goes_wrong(run_id: int, model_dir: str, dataset: str, num_words: int) -> None:
    """The confusion matrix (and per-class table for 3+ classes) and the most confident mistakes on the test split."""
    loaded = dataset_picker.load(dataset) if dataset in dataset_picker.available() else None
    if loaded is None:
        st.caption("The test reviews of this run's data set are not available here, so its mistakes cannot be shown.")
        return
    test, labels = loaded.corpus.test, loaded.info.class_names
    try:
        scores = evaluation.load_test_scores(model_dir, len(test))
    except LabError as exc:
        st.warning(ui.escape(exc))
        return
    report = evaluation.class_report(test.y, scores, labels)
    st.subheader("Where it goes wrong")
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(charts.confusion(report.confusion, labels), width="stretch", key=f"confusion_{run_id}")
        if len(labels) > 2:
            st.dataframe([{"class": c.label, "precision": f"{c.precision:.1%}", "recall": f"{c.recall:.1%}",
                           "test reviews": c.support} for c in report.per_class],
                         hide_index=True, width="stretch", key=f"per_class_{run_id}")
            st.caption("Precision: of the reviews called this class, the share that were. Recall: of the reviews of "
                       "this class, the share found.")
    with right:
        st.markdown("**Most confident mistakes** on the test reviews")
        for m in evaluation.mistakes(test.y, scores, limit=8, labels=labels):
            if len(labels) == 2:
                title = (f"Test review {m.index}: actually {m.true_label}, scored {m.score:.3f} "
                         f"({_sure(m.confidence)} sure it was {m.predicted_label})")
            else:
                title = (f"Test review {m.index}: actually {m.true_label}, predicted {m.predicted_label} "
                         f"({_sure(m.confidence)} sure)")
            with st.expander(ui.escape(title)):
                st.markdown(ui.escape(loaded.vocabulary.decode(test.x[m.index], num_words)))


def probabilities_html(labels: Sequence[str], probabilities: Sequence[float], predicted: int) -> str:
    """Every class's probability as a bar, most probable first, the predicted class in bold."""
    order = sorted(range(len(labels)), key=lambda k: -probabilities[k])
    rows = []
    for k in order:
        weight = "700" if k == predicted else "400"
        rows.append(
            f"<div style='display:grid;grid-template-columns:12rem 1fr 4.5rem;align-items:center;gap:0 .5rem;"
            f"font-weight:{weight}'><span style='text-align:right;overflow:hidden;text-overflow:ellipsis'>"
            f"{ui.escape(labels[k], 'html')}</span><div style='background:#eef2f8;border-radius:.2rem'><div "
            f"style='height:1.3rem;width:{100 * probabilities[k]:.1f}%;background:{color(labels, k)};"
            f"border-radius:.2rem'></div></div><span style='font-variant-numeric:tabular-nums'>"
            f"{probabilities[k]:.1%}</span></div>")
    return ("<div style='font-size:1.1rem;line-height:1.8rem;margin:.4rem 0 1rem'><div style='font-weight:700;"
            "margin-bottom:.3rem'>Probability of each class</div>" + "".join(rows) + "</div>")

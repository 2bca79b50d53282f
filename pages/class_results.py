"""How the pages show a model's classes, for IMDB's two and a user's data set's 2 to 20: the test confusion matrix with
per-class precision and recall, and the most confident mistakes naming both classes.

Class names come from the user's data set: they are shown through ui.escape (markdown, html) or charts (plotly).
"""
from __future__ import annotations

import streamlit as st

from core import evaluation
from core.errors import LabError
from pages import charts, dataset_picker, ui


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

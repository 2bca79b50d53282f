"""The run tables of Runs and the Class board: one row per run, the columns they share named, formatted and
explained alike."""
from __future__ import annotations

from typing import Any

import streamlit as st

from pages import ui

ROW_HEIGHT = 40
COLUMNS: dict[str, Any] = {
    "Run": st.column_config.NumberColumn("Run", format="#%d", width=60),
    "Best val. acc.": st.column_config.NumberColumn("Best val. acc.", format="%.1f%%",
                                                   help="Highest validation accuracy over the epochs"),
    "Test acc.": st.column_config.NumberColumn("Test acc.", format="%.1f%%",
                                               help="Accuracy on the test reviews of its data set"),
    "TF-IDF + LR": st.column_config.NumberColumn(
        "TF-IDF + LR", format="%.1f%%", help="Baseline: TF-IDF word 1-2 grams and logistic regression, fitted on the "
        "run's training reviews and tested on the same test reviews"),
}


def status(value: str, text: str | None = None) -> str:
    """A run's status after its icon ("🏃 running"), or `text` saying more about it."""
    return f"{ui.STATUS_ICONS.get(value, '')} {text or value}"


def percent(value: float | None) -> float | None:
    """An accuracy as the percentage the table shows, to one decimal in every row."""
    return None if value is None else round(100 * value, 1)


def show(rows: list[dict[str, Any]], key: str, most_height: int, columns: dict[str, Any]) -> None:
    """The rows (the Run column first) as a sortable table, at most `most_height` pixels high; `columns` are the
    page's own column settings beside the shared ones."""
    st.dataframe(ui.table(rows), hide_index=True, width="stretch", row_height=ROW_HEIGHT, placeholder="–", key=key,
                 height=min(44 + ROW_HEIGHT * len(rows), most_height), column_config={**COLUMNS, **columns})

"""The Train page's layer table, cached per server: defined here, in a module imported once, because a cached
function defined in the page script would build its cache wrapper again on every view."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core import hparams, models


@st.cache_data(show_spinner=False, max_entries=64)
def rows(config: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Layer table for a throwaway copy of the architecture (never the model being trained)."""
    model = models.describe(hparams.from_dict(config))
    return models.summary_rows(model) if model is not None else None

"""The Train page's layer table, cached per server: defined here, in a module imported once, because a cached
function defined in the page script would build its cache wrapper again on every view.

Keras is imported when a table is first built, not with this module: importing it takes about 5 s on 2 cores, and
the Train page imports this module before it draws its title (`ui` starts that import as the server starts)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core import hparams


@st.cache_data(show_spinner=False, max_entries=64)
def rows(config: dict[str, Any], num_classes: int) -> list[dict[str, Any]] | None:
    """Layer table for a throwaway copy of the architecture (never the model being trained), with the output layer
    of the data set's `num_classes` (one sigmoid unit for 2, a softmax unit per class for more)."""
    from core import models

    model = models.describe(hparams.from_dict(config), num_classes)
    return models.summary_rows(model) if model is not None else None

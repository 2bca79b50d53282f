"""What a featuriser hands the model, as types every featuriser and the pages share: the featuriser protocol, and
each featuriser's typed view of one review (`ModelInput`) with its remarks for the Predict page.

Kept apart from the featurisers (core.features, core.ngrams, an architecture's own), so a featuriser imports these
types without importing the others, and core.features restores any saved one through the architecture registry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from core.data.imdb import Ragged

WordOf = Callable[[int], str]  # an id to the word shown for it (Vocabulary.id_to_word)
SHOWN = 60  # positions or features listed in a remark before "…"


@dataclass(frozen=True)
class Remark:
    """One sentence about what the model received; `warning` when part of the review never reached it."""

    text: str
    warning: bool = False


class ModelInput(Protocol):
    """What one featuriser handed the model for one review. Each featuriser has its own kind, which alone knows
    its fields, so a page asks only for `input_ids` and `remarks` and never for another featuriser's fields."""

    input_ids: list[int]

    def remarks(self, word: WordOf) -> list[Remark]: ...


def listed(items: list[str], limit: int = SHOWN) -> str:
    """The first `limit` items, comma-separated, with "…" when some are left out."""
    return ", ".join(items[:limit]) + (" …" if len(items) > limit else "")


class Featurizer(Protocol):
    kind: str

    def fit(self, x: Ragged, y: np.ndarray) -> None: ...

    def transform(self, x: Ragged) -> np.ndarray: ...

    def describe(self, ids: list[int]) -> ModelInput: ...

    def state(self) -> dict[str, Any]: ...

    def arrays(self) -> dict[str, np.ndarray]: ...

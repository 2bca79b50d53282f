"""Several finished runs on the same text: which runs to compare by default, each run's score, verdict and word
effects on one review, a models x examples grid, and the score change an edit makes (what-if edits)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from core import predict
from core.predict import Explanation
from core.run_record import RunRecord
from core.data.vocab import FILTERS

SEPARATORS = FILTERS + " \r"  # what ends a word for the tokenizer (and a carriage return, for pasted text)

MAX_MODELS = 8  # runs compared at once: each explains the review (one scoring per distinct word)
HISTORY = 6  # what-if edits kept to step back through


def best_per_preset(records: Iterable[RunRecord]) -> list[RunRecord]:
    """The best run of each preset (test accuracy, then best validation accuracy, then newest), presets in the
    order of their best runs' test accuracy."""
    best: dict[str, RunRecord] = {}
    for record in records:
        held = best.get(record.preset)
        if held is None or _rank(record) > _rank(held):
            best[record.preset] = record
    return sorted(best.values(), key=_rank, reverse=True)


def _rank(record: RunRecord) -> tuple[float, float, int]:
    return (record.test_accuracy if record.test_accuracy is not None else -1.0,
            record.best_val_accuracy if record.best_val_accuracy is not None else -1.0, record.id)


def model_name(record: RunRecord) -> str:
    """`#12 fast` (`#12 my best` when named): short enough for a chart's axis."""
    return f"#{record.id} {record.name or record.preset}"


@dataclass(frozen=True)
class ModelResult:
    """One run's reading of one review."""

    run: RunRecord
    explanation: Explanation

    @property
    def name(self) -> str:
        return model_name(self.run)

    def row(self) -> dict[str, object]:
        """A line of the comparison table."""
        verdict = self.explanation.verdict
        return {"Model": self.name, "Preset": self.run.preset, "Score": round(verdict.score, 4),
                "Verdict": verdict.label, "Test acc.": self.run.test_accuracy}


def compare(text: str, runs: Sequence[RunRecord]) -> list[ModelResult]:
    """Each run's verdict and word effects on `text` (an InputTextError for an empty or over-long text, a
    ModelFileError for a run whose model cannot be loaded)."""
    return [ModelResult(run, predict.scorer(run.model_dir).explain(text)) for run in runs[:MAX_MODELS]]


@dataclass(frozen=True)
class Grid:
    """Scores of several texts by several models: `scores[m][t]` is model m's score of text t."""

    models: list[str]
    texts: list[str]
    scores: list[list[float]]
    verdicts: list[list[str]]

    def rows(self, names: Sequence[str]) -> list[dict[str, object]]:
        """One line per model, one column per text (named by `names`)."""
        return [{"Model": model, **{name: round(s, 3) for name, s in zip(names, scores)}}
                for model, scores in zip(self.models, self.scores)]


def grid(texts: Sequence[str], runs: Sequence[RunRecord]) -> Grid:
    """Every text scored by every run, one batch per run."""
    verdicts = [predict.scorer(run.model_dir).verdicts(list(texts)) for run in runs[:MAX_MODELS]]
    return Grid([model_name(r) for r in runs[:MAX_MODELS]], list(texts), [[v.score for v in row] for row in verdicts],
                [[v.label for v in row] for row in verdicts])


@dataclass(frozen=True)
class Change:
    """What an edit did to one model's reading: the score before and after (for 3+ classes, the probability of
    the class the original review was given)."""

    model: str
    before: float
    after: float
    verdict_before: str
    verdict_after: str

    @property
    def difference(self) -> float:
        return self.after - self.before

    def row(self) -> dict[str, object]:
        return {"Model": self.model, "Original": round(self.before, 4), "Edited": round(self.after, 4),
                "Difference": round(self.difference, 4), "Verdict before": self.verdict_before,
                "Verdict after": self.verdict_after}


def what_if(original: str, edited: str, runs: Sequence[RunRecord]) -> list[Change]:
    """Each run's score of the original and of the edited review."""
    out = []
    for run in runs[:MAX_MODELS]:
        scorer = predict.scorer(run.model_dir)
        before, after = scorer.verdicts([original, edited])
        moved = after.probabilities[before.predicted] if before.class_probabilities else after.score
        out.append(Change(model_name(run), before.score, moved, before.label, after.label))
    return out


def without_word(text: str, word: str) -> str:
    """`text` with every whole occurrence of `word` (as the tokenizer reads it, any case) taken out."""
    return replace_word(text, word, "")


def replace_word(text: str, word: str, new: str) -> str:
    """`text` with every whole occurrence of `word` (any case; whole as the tokenizer splits words, so "don't" is
    one word) replaced by `new`; the punctuation around it stays."""
    outside = f"[^{re.escape(SEPARATORS)}]"
    pattern = re.compile(rf"(?<!{outside}){re.escape(word)}(?!{outside})", re.IGNORECASE)
    return re.sub(" {2,}", " ", pattern.sub(new, text)).strip()


def push(history: list[tuple[str, str]], label: str, text: str) -> list[tuple[str, str]]:
    """The edit history with (label, text) added last, keeping the newest HISTORY."""
    return (history + [(label, text)])[-HISTORY:]

"""Seconds per epoch before training starts: from this server's own past runs when it has any, else a rough
rate measured on a 2-core machine."""
from __future__ import annotations

from statistics import median
from typing import Iterable

from core import architectures
from core.errors import ConfigError
from core.hparams import HParams, from_dict
from core.store import RunRecord

def _work(hp: HParams) -> float:
    """Relative cost of one review, so runs of other sizes can be compared (the architecture's own measure)."""
    return architectures.get(hp.architecture).work(hp)


def seconds_per_epoch(hp: HParams, past: Iterable[RunRecord] = ()) -> tuple[float, str]:
    """An estimate and where it came from."""
    rates = []
    for record in past:
        if record.config.get("architecture") != hp.architecture or not record.history:
            continue
        try:
            other = from_dict(record.config)
        except ConfigError:
            continue
        reviews = other.train_reviews() + other.val_size
        per_review = median(h["seconds"] for h in record.history if h.get("seconds")) / reviews / _work(other)
        rates.append(per_review)
    reviews = hp.train_reviews() + hp.val_size
    if rates:
        return median(rates) * reviews * _work(hp), f"from {len(rates)} earlier run(s) on this server"
    return reviews / architectures.get(hp.architecture).base_rate * _work(hp), "rough figure for a 2-core machine"

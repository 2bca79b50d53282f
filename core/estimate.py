"""Seconds per epoch before training starts: from this server's own past runs when it has any, else a rough
rate measured on a 2-core machine."""
from __future__ import annotations

from statistics import median
from typing import Iterable

from core.errors import ConfigError
from core.hparams import HParams, from_dict
from core.store import RunRecord

# Reviews per second per epoch (training and validation together) with the presets' shapes on 2 CPU cores,
# measured with `python -m core train` (benchmarks/bench_presets.py): dlwp 0.35 s, mslearn 1.4 s and fast 1.7 s
# per epoch of 25,000 reviews; lstm 1.3 s per epoch of 700 reviews. Conservative, since other work slows them.
BASE_RATE = {"multihot_mlp": 40_000.0, "embedding_flatten": 15_000.0, "lstm": 400.0, "ngram_nb": 12_000.0}


def _work(hp: HParams) -> float:
    """Relative cost of one review, so runs of other sizes can be compared."""
    if hp.architecture == "lstm":
        return hp.maxlen * hp.units * (hp.units + hp.embedding_dim) / (500 * 120 * 240)
    if hp.architecture == "embedding_flatten":
        return hp.maxlen * hp.embedding_dim * max(hp.units, 1) / (500 * 32 * 16)
    if hp.architecture == "multihot_mlp":
        return hp.num_words * max(hp.units, 1) / (10_000 * 16)
    return 1.0


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
    return reviews / BASE_RATE[hp.architecture] * _work(hp), "rough figure for a 2-core machine"

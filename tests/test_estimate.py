"""The Train page's seconds-per-epoch estimate: from this server's own runs when it has them."""
from __future__ import annotations

from core import estimate, hparams


def test_without_history_the_estimate_is_a_rough_rate_that_grows_with_the_work():
    small, basis = estimate.seconds_per_epoch(hparams.make("dlwp", limit=1000, val_size=500))
    full, _ = estimate.seconds_per_epoch(hparams.make("dlwp"))
    wider, _ = estimate.seconds_per_epoch(hparams.make("dlwp", units=64))
    assert basis == "rough figure for a 2-core machine"
    assert 0 < small < full < wider
    lstm, _ = estimate.seconds_per_epoch(hparams.make("lstm"))
    assert lstm > 20 * full, "an LSTM epoch costs far more than a dense one"


def test_with_a_finished_run_the_estimate_scales_its_measured_epochs(trained_run, run_store):
    record = run_store.get(trained_run.id)
    same = hparams.from_dict(record.config)
    seconds, basis = estimate.seconds_per_epoch(same, [record])
    measured = sorted(h["seconds"] for h in record.history)
    assert basis == "from 1 earlier run(s) on this server"
    assert measured[0] <= seconds <= measured[-1]
    doubled, _ = estimate.seconds_per_epoch(hparams.make("dlwp", limit=2 * same.limit + same.val_size,
                                                         val_size=same.val_size), [record])
    assert doubled > seconds

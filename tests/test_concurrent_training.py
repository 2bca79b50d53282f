"""Two trainings at once in one process (SENTIMENT_LAB_MAX_TRAININGS 2): each run's seed alone decides its model,
as when it trains alone (`core.seeding`)."""
from __future__ import annotations

import threading

from conftest import short_test_split
from core import hparams, training

TINY = dict(limit=1500, val_size=500, epochs=2, num_words=2000, dropout=0.3)


def test_two_trainings_at_once_each_train_the_model_their_seed_trains_alone(tmp_path):
    dataset = short_test_split(300)("imdb")
    seeds = (3, 11)
    alone = {seed: training.train(hparams.make("dlwp", **TINY, seed=seed), dataset, (), tmp_path / f"alone-{seed}")
             for seed in seeds}
    together: dict[int, training.Result] = {}
    go = threading.Barrier(len(seeds))

    def run(seed: int) -> None:
        go.wait()
        together[seed] = training.train(hparams.make("dlwp", **TINY, seed=seed), dataset, (), tmp_path / f"both-{seed}")

    threads = [threading.Thread(target=run, args=(seed,)) for seed in seeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert alone[3].history[0]["loss"] != alone[11].history[0]["loss"], "the seeds train different models"
    for seed in seeds:
        assert [h["loss"] for h in together[seed].history] == [h["loss"] for h in alone[seed].history]
        assert together[seed].test_accuracy == alone[seed].test_accuracy

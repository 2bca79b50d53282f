"""Time and score the `fast` preset as the runner trains it: fit on train minus val_size, test on all 25,000 reviews.

    IMDB_DATA_DIR=/work/shared/data TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/fast_probe.py [name=value ...]

Overrides (e.g. `ngrams=3 max_features=500000 epochs=2`) go through `hparams.make`, so they are range-checked.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402

from core import features, hparams  # noqa: E402
from core.data import imdb
from core.ngram_model import build_model  # noqa: E402


def main(argv: list[str]) -> None:
    overrides = dict(arg.split("=", 1) for arg in argv)
    hp = hparams.make("fast", **overrides)
    corpus = imdb.load_corpus()
    train_idx, val_idx = imdb.train_val_indices(len(corpus.train), hp.val_size, hp.limit)
    train, val = corpus.train.take(train_idx), corpus.train.take(val_idx)
    keras.utils.set_random_seed(hp.seed)

    t0, c0 = time.perf_counter(), time.process_time()
    feat = features.for_hparams(hp)
    feat.fit(train.x, train.y)
    x_train, x_val = feat.transform(train.x), feat.transform(val.x)
    t_feat, c_feat = time.perf_counter() - t0, time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    model = build_model(hp, feat)
    optimizer = keras.optimizers.get({"class_name": hp.optimizer, "config": {"learning_rate": hp.learning_rate}})
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, train.y, batch_size=hp.batch_size, epochs=hp.epochs,
                        validation_data=(x_val, val.y), verbose=0)
    t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0

    t0 = time.perf_counter()
    x_test = feat.transform(corpus.test.x)
    _, test_acc = model.evaluate(x_test, corpus.test.y, batch_size=1024, verbose=0)
    t_test = time.perf_counter() - t0

    print(f"hparams: {', '.join(f'{k}={getattr(hp, k)}' for k in hparams.used(hp))}")
    print(f"features: {feat.n_features - 1} n-grams, width {feat.width}, train {x_train.shape}")
    print("val_accuracy per epoch:", " ".join(f"{a:.4f}" for a in history.history["val_accuracy"]))
    print(f"featurisation_s={t_feat:.1f} fit_s={t_fit:.1f} training_total_s={t_feat + t_fit:.1f} "
          f"test_transform_eval_s={t_test:.1f} test_accuracy={test_acc:.4f} (n={len(corpus.test)})")
    # CPU seconds are less sensitive than wall seconds to other work on a shared machine
    print(f"cpu: featurisation_cpu_s={c_feat:.1f} fit_cpu_s={c_fit:.1f} load_average={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])

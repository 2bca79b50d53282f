"""Benchmark the presets on the full IMDB data, and the runner's overhead against a plain Keras script.

    IMDB_DATA_DIR=/path/to/data python benchmarks/bench_presets.py [--presets dlwp,mslearn,fast] [--limit N]
                                                                  [--epochs N] [--repeat N] [--no-overhead]

1. For each preset: train it through `core.runner.Runner` exactly as the app does (validation carved from the training
   split, test on all 25,000 test reviews) and print test accuracy and training (fit) seconds.
2. Overhead: time `model.fit` of the `dlwp` model in a plain Keras script written the way Deep Learning with Python
   does it (vectorise to multi-hot, Dense 16-16-1, rmsprop, batch 512, 4 epochs, validation = the first 10,000
   training reviews) against the runner's fit time for the `dlwp` preset (same model and data, plus its progress
   callback, per-epoch probe scores and run-store writes), and print both and the overhead in percent.

Runs are written to a temporary SENTIMENT_LAB_HOME that is removed at the end (unless --keep).
The `lstm` preset takes several minutes per epoch on a CPU: it is not in the default list.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

DEFAULT_PRESETS = "dlwp,mslearn,fast"


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def train_preset(name: str, limit: int | None, epochs: int | None) -> dict:
    from core import hparams
    from core.runner import Runner
    from core.store import RunStore

    overrides = {}
    if limit is not None:
        overrides["limit"] = limit
    if epochs is not None:
        overrides["epochs"] = epochs
    hp = hparams.make(name, **overrides)
    started = time.perf_counter()
    run = Runner(RunStore()).submit(hp, owner="benchmark", probes=())
    # Block until done: polling snapshots often would make this thread compete with the training thread for the GIL.
    snap = run.wait()
    wall = time.perf_counter() - started
    if snap.status != "finished":
        raise SystemExit(f"error: {name} ended {snap.status}: {snap.error}")
    return {
        "preset": name,
        "train_reviews": hp.train_reviews(),
        "val_reviews": hp.val_size,
        "epochs": len(snap.history),
        "best_val_accuracy": round(max(h["val_accuracy"] for h in snap.history), 4),
        "test_accuracy": round(snap.test_accuracy, 4),
        "train_seconds": round(snap.train_seconds, 2),
        "wall_seconds": round(wall, 2),
    }


def plain_keras_data() -> dict[str, np.ndarray]:
    """Deep Learning with Python, listing 4.x: load with num_words=10000, vectorise to multi-hot, hold out 10,000."""
    import gc

    from core.data.imdb import load_data  # keras.datasets.imdb.load_data, step for step, over the local files

    (train_data, train_labels), (test_data, test_labels) = load_data(num_words=10_000)

    def vectorize_sequences(sequences, dimension=10_000):
        results = np.zeros((len(sequences), dimension), dtype="float32")
        for i, sequence in enumerate(sequences):
            results[i, sequence] = 1.0
        return results

    x_train, x_test = vectorize_sequences(train_data), vectorize_sequences(test_data)
    y_train, y_test = np.asarray(train_labels).astype("float32"), np.asarray(test_labels).astype("float32")
    # Free the 50,000 review lists (millions of Python ints): like the runner, the process then holds only arrays.
    del train_data, test_data
    gc.collect()
    return {"x_val": x_train[:10_000], "partial_x_train": x_train[10_000:], "y_val": y_train[:10_000],
            "partial_y_train": y_train[10_000:], "x_test": x_test, "y_test": y_test}


def plain_keras_dlwp(d: dict[str, np.ndarray], epochs: int = 4, rows: int | None = None) -> dict:
    """The DLWP model trained by plain `model.fit`, with nothing of the lab in the loop."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(10_000,)),
        layers.Dense(16, activation="relu"),
        layers.Dense(16, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    x, y = d["partial_x_train"][:rows], d["partial_y_train"][:rows]
    started = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=512, validation_data=(d["x_val"], d["y_val"]), verbose=0)
    fit_seconds = time.perf_counter() - started
    _, test_accuracy = model.evaluate(d["x_test"], d["y_test"], batch_size=512, verbose=0)
    return {"fit_seconds": round(fit_seconds, 2), "test_accuracy": round(float(test_accuracy), 4)}


def overhead(repeat: int) -> dict:
    d = plain_keras_data()
    plain_keras_dlwp(d, epochs=1, rows=2048)  # warm-up: TensorFlow's one-time start-up is nobody's overhead
    plain, runner, plain_acc, runner_acc = [], [], [], []
    for i in range(repeat):  # alternate the order, so drifting machine load hits both alike
        for which in (("plain", "runner") if i % 2 == 0 else ("runner", "plain")):
            if which == "plain":
                p = plain_keras_dlwp(d)
                plain.append(p["fit_seconds"])
                plain_acc.append(p["test_accuracy"])
            else:
                r = train_preset("dlwp", None, None)
                runner.append(r["train_seconds"])
                runner_acc.append(r["test_accuracy"])
    p_fit, r_fit = statistics.median(plain), statistics.median(runner)
    return {
        "comparison": "dlwp fit: runner vs plain Keras (15,000 train / 10,000 val, 4 epochs, batch 512), median",
        "repeats": repeat,
        "plain_keras_fit_seconds": p_fit,
        "runner_fit_seconds": r_fit,
        "overhead_percent": round(100 * (r_fit - p_fit) / p_fit, 1),
        "plain_keras_test_accuracy": plain_acc,
        "runner_test_accuracy": runner_acc,
        "all_plain_fit_seconds": plain,
        "all_runner_fit_seconds": runner,
        "load_average": os.getloadavg(),  # other work on the machine makes every timing here noisier
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default=DEFAULT_PRESETS,
                        help=f"comma-separated presets to train (default {DEFAULT_PRESETS}; 'none' for none)")
    parser.add_argument("--limit", type=int, help="train on only this many reviews (default: all the preset allows)")
    parser.add_argument("--epochs", type=int, help="override every preset's epochs (e.g. 1 to time one lstm epoch)")
    parser.add_argument("--repeat", type=int, default=1, help="repeat the overhead comparison and take the median")
    parser.add_argument("--no-overhead", action="store_true", help="skip the runner vs plain Keras comparison")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SENTIMENT_LAB_HOME with the runs")
    args = parser.parse_args(argv)

    from core.errors import LabError

    home = Path(tempfile.mkdtemp(prefix="sentiment-lab-bench-"))
    os.environ["SENTIMENT_LAB_HOME"] = str(home)
    try:
        from core.data import imdb

        emit({"data": imdb.load_corpus().source.describe(), "cpus": os.cpu_count(), "load_average": os.getloadavg()})
        names = [] if args.presets == "none" else [n.strip() for n in args.presets.split(",") if n.strip()]
        for name in names:
            emit(train_preset(name, args.limit, args.epochs))
        if not args.no_overhead:
            emit(overhead(max(1, args.repeat)))
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"runs kept in {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The `fast` preset on 3 classes: the airline tweets (negative, neutral, positive), against scikit-learn.

    IMDB_DATA_DIR=../shared/data python benchmarks/bench_tweets.py [--repeat 3] [name=value ...]

The tweets (`text/Tweets.csv` in the data folder) are imported as `python -m core datasets add` imports them (the
stratified 80/20 split, seed 113) into a temporary SENTIMENT_LAB_HOME, and trained on as `python -m core train
--dataset tweets --preset fast` trains: `core.training.train` with the `fast` preset fitted to the data set
(`hparams.for_dataset`: validation and batches scaled to its size), 3 classes (naive-Bayes ratios one class against
the rest, a softmax over 3 logits, sparse categorical cross-entropy), tested on all test tweets. It prints test
accuracy, the seconds of training (`model.fit`) and of each phase. `name=value` arguments override settings.

With scikit-learn installed (`pip install scikit-learn`; not a dependency of the lab) it also prints the baseline:
TF-IDF word 1-2-grams and a logistic regression on the raw text of the same split, fitted on every training tweet.
Medians of `--repeat` runs are printed with the load average, since other work on the machine slows both.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from core import hparams, training  # noqa: E402
from core.data import datasets, text_import, text_source

DEFAULT_DATA = REPO.parent / "shared" / "data"


def data_dir() -> Path:
    return Path(os.environ.get("IMDB_DATA_DIR") or DEFAULT_DATA).expanduser()


def lab_run(dataset: datasets.Dataset, hp: hparams.HParams, out_dir: Path) -> dict:
    """Train and test the fast preset on the tweets with the lab's own training function; seconds of each phase."""
    phases: list[tuple[str, float]] = []
    hooks = training.Hooks(phase=lambda name, _batches: phases.append((name, time.perf_counter())))
    started, cpu = time.perf_counter(), time.process_time()
    result = training.train(hp, dataset, (), out_dir, hooks)
    ended = time.perf_counter()
    marks = phases + [("done", ended)]
    seconds = {name: round(marks[n + 1][1] - at, 2) for n, (name, at) in enumerate(phases)}
    return {"what": "lab fast, 3 classes", "test_accuracy": round(result.test_accuracy, 4),
            "val_accuracy": [round(e["val_accuracy"], 4) for e in result.history],
            "train_tweets": len(dataset.corpus.train) - hp.val_size, "val_tweets": hp.val_size,
            "test_tweets": len(dataset.corpus.test), "training_seconds": round(result.train_seconds, 2),
            "phase_seconds": seconds, "whole_seconds": round(ended - started, 2),
            "cpu_seconds": round(time.process_time() - cpu, 2), "load_average": round(os.getloadavg()[0], 1)}


def sklearn_run(csv: Path) -> dict | None:
    """TF-IDF 1-2-grams + logistic regression on the raw tweets of the lab's split; None without scikit-learn."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return None
    started = time.perf_counter()
    source = text_import.read(csv, text_source.ReadOptions())
    labels = tuple(text_source.label_order(source.labels))
    y = np.array([labels.index(label) for label in source.labels])
    train_idx, test_idx = datasets.stratified_split(y, datasets.TEST_SIZE)
    texts = np.array(source.texts, dtype=object)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    x_train = vectorizer.fit_transform(texts[train_idx])
    model = LogisticRegression(max_iter=1000).fit(x_train, y[train_idx])
    accuracy = float((model.predict(vectorizer.transform(texts[test_idx])) == y[test_idx]).mean())
    return {"what": "scikit-learn TF-IDF 1-2-grams + logistic regression", "test_accuracy": round(accuracy, 4),
            "train_tweets": len(train_idx), "test_tweets": len(test_idx),
            "seconds": round(time.perf_counter() - started, 2), "load_average": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (medians are reported)")
    parser.add_argument("--no-sklearn", action="store_true", help="skip the scikit-learn baseline")
    parser.add_argument("settings", nargs="*", metavar="name=value", help="fast preset settings to override")
    args = parser.parse_args()
    csv = data_dir() / "text" / "Tweets.csv"
    if not csv.is_file():
        sys.exit(f"error: {csv} is missing (set IMDB_DATA_DIR to the data folder that holds text/Tweets.csv).")
    settings = dict(arg.split("=", 1) for arg in args.settings)
    with tempfile.TemporaryDirectory() as home:
        os.environ["SENTIMENT_LAB_HOME"] = home
        datasets.add(csv, name="tweets")
        dataset = datasets.load("tweets")
        hp = hparams.make("fast", dataset="tweets", **settings)
        print(json.dumps({"command": " ".join(["python", *sys.argv]), "settings": hp.to_dict(),
                          "cpus": os.cpu_count(), "load_average_at_start": [round(v, 1) for v in os.getloadavg()]}))
        rows: dict[str, list[dict]] = {"lab": [], "sklearn": []}
        for n in range(args.repeat):
            rows["lab"].append(lab_run(dataset, hp, Path(home) / f"run-{n}"))
            print(json.dumps(rows["lab"][-1]), flush=True)
            baseline = None if args.no_sklearn else sklearn_run(csv)
            if baseline is not None:
                rows["sklearn"].append(baseline)
                print(json.dumps(baseline), flush=True)
    lab = rows["lab"]
    print(json.dumps({"median": "lab", "runs": len(lab), **{
        name: round(statistics.median(r[name] for r in lab), 4) for name in (
            "test_accuracy", "training_seconds", "whole_seconds", "cpu_seconds", "load_average")},
        "target": "test accuracy >= 0.80 with at most 10 s of training"}))
    if rows["sklearn"]:
        print(json.dumps({"median": "sklearn", "runs": len(rows["sklearn"]), **{
            name: round(statistics.median(r[name] for r in rows["sklearn"]), 4) for name in (
                "test_accuracy", "seconds", "load_average")}}))
    else:
        print(json.dumps({"sklearn": "not installed: pip install scikit-learn for the baseline"}))


if __name__ == "__main__":
    main()

"""The `fast` preset on 3 classes: the airline tweets (negative, neutral, positive), against scikit-learn.

    IMDB_DATA_DIR=../shared/data python benchmarks/bench_tweets.py [--repeat 3] [name=value ...]

The tweets (`text/Tweets.csv` in the data folder) are imported as `python -m core datasets add` imports them (the
stratified 80/20 split, seed 113) into a temporary SENTIMENT_LAB_HOME. The lab's side is the `fast` preset's
n-gram featuriser and model with 3 classes (naive-Bayes ratios one class against the rest, a softmax over 3
logits, sparse categorical cross-entropy), fitted on the training tweets less the first `val_size` for validation
and tested on all test tweets; it prints test accuracy and the seconds of featurising, of `model.fit` (the
training) and of scoring. The fast preset's IMDB settings suit 25,000 long reviews; for ~9,000 short tweets
TWEET_SETTINGS are used instead (batches of 256, a smaller validation split, 4 epochs, 1-2-grams), and
`name=value` arguments override them.

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

from core import data, datasets, features, hparams, text_import, text_source  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
TWEET_SETTINGS = {"ngrams": 2, "batch_size": 256, "epochs": 4, "learning_rate": 0.005, "val_size": 1000}


def data_dir() -> Path:
    return Path(os.environ.get("IMDB_DATA_DIR") or DEFAULT_DATA).expanduser()


def lab_run(dataset: datasets.Dataset, hp: hparams.HParams) -> dict:
    """Featurise, fit and test the fast preset's model on the tweets; seconds of each step."""
    import keras

    from core import models
    from core.ngram_model import build_model

    corpus, k = dataset.corpus, dataset.info.num_classes
    train_idx, val_idx = data.train_val_indices(len(corpus.train), hp.val_size, hp.limit)
    train, val = corpus.train.take(train_idx), corpus.train.take(val_idx)
    started = time.perf_counter()
    featurizer = features.for_hparams(hp)
    featurizer.fit(train.x, train.y)
    x_train, x_val = featurizer.transform(train.x), featurizer.transform(val.x)
    featurised = time.perf_counter()
    keras.utils.set_random_seed(hp.seed)
    model = build_model(hp, featurizer, num_classes=k)
    model.compile(optimizer=models.optimizer(hp), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    fit_started, fit_cpu = time.perf_counter(), time.process_time()
    history = model.fit(x_train, train.y, batch_size=hp.batch_size, epochs=hp.epochs, validation_data=(x_val, val.y),
                        verbose=0, shuffle=True)
    fitted, fitted_cpu = time.perf_counter(), time.process_time()
    scores = np.asarray(model.predict(featurizer.transform(corpus.test.x), batch_size=1024, verbose=0))
    accuracy = float((scores.argmax(axis=1) == corpus.test.y).mean())
    return {"what": "lab fast, 3 classes", "test_accuracy": round(accuracy, 4),
            "val_accuracy": [round(v, 4) for v in history.history["val_accuracy"]],
            "train_tweets": len(train), "val_tweets": len(val), "test_tweets": len(corpus.test),
            "features": featurizer.n_features - 1, "featurising_seconds": round(featurised - started, 2),
            "training_seconds": round(fitted - fit_started, 2), "training_cpu_seconds": round(fitted_cpu - fit_cpu, 2),
            "scoring_seconds": round(time.perf_counter() - fitted, 2),
            "load_average": round(os.getloadavg()[0], 1)}


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
    settings = {**TWEET_SETTINGS, **dict(arg.split("=", 1) for arg in args.settings)}
    hp = hparams.make("fast", **settings)
    print(json.dumps({"command": " ".join(["python", *sys.argv]), "fast_settings_changed": settings,
                      "cpus": os.cpu_count(), "load_average_at_start": [round(v, 1) for v in os.getloadavg()]}))
    with tempfile.TemporaryDirectory() as home:
        os.environ["SENTIMENT_LAB_HOME"] = home
        datasets.add(csv, name="tweets")
        dataset = datasets.load("tweets")
        rows: dict[str, list[dict]] = {"lab": [], "sklearn": []}
        for _ in range(args.repeat):
            rows["lab"].append(lab_run(dataset, hp))
            print(json.dumps(rows["lab"][-1]), flush=True)
            baseline = None if args.no_sklearn else sklearn_run(csv)
            if baseline is not None:
                rows["sklearn"].append(baseline)
                print(json.dumps(baseline), flush=True)
    lab = rows["lab"]
    print(json.dumps({"median": "lab", "runs": len(lab), **{
        name: round(statistics.median(r[name] for r in lab), 4) for name in (
            "test_accuracy", "featurising_seconds", "training_seconds", "training_cpu_seconds", "scoring_seconds",
            "load_average")},
        "target": "test accuracy >= 0.80 with at most 10 s of training"}))
    if rows["sklearn"]:
        print(json.dumps({"median": "sklearn", "runs": len(rows["sklearn"]), **{
            name: round(statistics.median(r[name] for r in rows["sklearn"]), 4) for name in (
                "test_accuracy", "seconds", "load_average")}}))
    else:
        print(json.dumps({"sklearn": "not installed: pip install scikit-learn for the baseline"}))


if __name__ == "__main__":
    main()

"""Every preset on small and short labelled text, beside the baseline on the same split (issue 20's targets).

    IMDB_DATA_DIR=../shared/data python benchmarks/bench_small_data.py [--presets fast,dlwp] [--sets amazon,tweets600]
        [--seeds 0,1,2] [--splits 6]

The data sets are imported as `python -m core datasets add` imports them (the lab's stratified 80/20 split, seed 113)
into a temporary SENTIMENT_LAB_HOME: the UCI amazon and imdb sentences (`text/*_labelled.txt`), 600 airline tweets
(`Tweets.csv` sampled with pandas `sample(600, random_state=0)`) and all the airline tweets. Each preset is trained
as `python -m core train --dataset NAME --preset P` trains it (`core.training.train` with the preset fitted to the
data set by `hparams.for_dataset`) and tested on the whole test split; the baseline (`core.runner.reference`, as
every run gets it: the majority class, and TF-IDF 1-2 grams + logistic regression) is fitted on the same training
texts. With several `--seeds` every preset is trained once per seed and the table shows the mean test accuracy ±
its standard deviation over the seeds (a test set of 121 or 200 texts moves by a point or more from seed to seed).
With `--splits K` each set is also imported K - 1 more times from a copy of its file with the rows reshuffled
(seeds 1..K-1), so the lab's same stratified split draws other training and test texts, and every figure, the
baseline's too, is the mean over the K splits: one split's test set of 200 texts decides a 2-point gap by 4 texts,
so which model is better is a question for several splits.
It prints one JSON line per training, then a Markdown table and, per data set, which targets hold (on the means): no preset at the majority
class's level (at least 5 points above it where the baseline is), every preset within 5 points of the baseline,
`fast` at most 1 point below it. The load average is printed at the start and the end, since other work on the
machine slows every figure (accuracies do not depend on it).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core import hparams, runner, training  # noqa: E402
from core.data import datasets
from core.evaluation import best_epoch  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
SETS = ("amazon", "imdb-sentences", "tweets600", "tweets")
TITLES = {"amazon": "UCI amazon sentences", "imdb-sentences": "UCI imdb sentences",
          "tweets600": "600 airline tweets", "tweets": "airline tweets, all"}
TWEETS_SAMPLE = 600


def data_dir() -> Path:
    return Path(os.environ.get("IMDB_DATA_DIR") or DEFAULT_DATA).expanduser()


def import_sets(text: Path, names: list[str], scratch: Path, splits: int = 1) -> dict[str, list[str]]:
    """The chosen sets, imported into the current SENTIMENT_LAB_HOME as a user would import them, each once per
    split (the file as given, then reshuffled); the imported names of each set's splits."""
    sources = {"amazon": text / "amazon_cells_labelled.txt", "imdb-sentences": text / "imdb_labelled.txt",
               "tweets": text / "Tweets.csv"}
    if "tweets600" in names:
        import pandas as pd

        sources["tweets600"] = scratch / "tweets600.csv"
        pd.read_csv(text / "Tweets.csv").sample(TWEETS_SAMPLE, random_state=0).to_csv(sources["tweets600"],
                                                                                      index=False)
    imported: dict[str, list[str]] = {}
    for name in names:
        imported[name] = [name] + [f"{name}-split{k}" for k in range(1, splits)]
        datasets.add(sources[name], name=name)
        for k, split_name in enumerate(imported[name][1:], start=1):
            datasets.add(reshuffled(sources[name], k, scratch), name=split_name)
    return imported


def reshuffled(source: Path, seed: int, scratch: Path) -> Path:
    """A copy of a labelled file with its rows in another order (a CSV keeps its header first), so that the lab's
    split of it holds other texts."""
    import pandas as pd

    copy = scratch / f"split{seed}-{source.name}"
    if source.suffix == ".csv":
        pd.read_csv(source).sample(frac=1.0, random_state=seed).to_csv(copy, index=False)
    else:
        lines = source.read_text(encoding="utf-8").splitlines()
        random.Random(seed).shuffle(lines)
        copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return copy


def load_average() -> float:
    return round(os.getloadavg()[0], 1)


def run(name: str, split: int, imported: str, preset: str, seed: int, home: Path) -> dict:
    """One preset trained and tested on one split of a data set (imported as `imported`), with the baseline of the
    same split."""
    dataset = datasets.load(imported)
    hp = hparams.make(preset, dataset=imported, seed=seed)
    started = time.perf_counter()
    result = training.train(hp, dataset, (), home / "runs" / f"{imported}-{preset}-{seed}")
    seconds = time.perf_counter() - started
    reference = runner.reference(dataset, hp)  # computed once per split, as the lab computes it for a run
    return {"dataset": name, "split": split, "preset": preset, "seed": seed,
            "rows": dataset.info.train_size + dataset.info.test_size,
            "classes": dataset.info.num_classes, "test_accuracy": round(result.test_accuracy, 4),
            "baseline": round(reference.tfidf_accuracy, 4), "majority": round(reference.majority_accuracy, 4),
            "epochs": len(result.history), "epoch_budget": hp.epochs,
            "best_epoch": best_epoch(result.history), "val_size": hp.val_size, "batch_size": hp.batch_size,
            "maxlen": hp.maxlen, "num_words": hp.num_words, "seconds": round(seconds, 1),
            "load_average": load_average()}


def accuracies(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """Each preset's mean test accuracy over its seeds and splits, and their standard deviation."""
    by_preset: dict[str, list[float]] = {}
    for r in rows:
        by_preset.setdefault(r["preset"], []).append(r["test_accuracy"])
    return {p: (statistics.fmean(a), statistics.pstdev(a)) for p, a in by_preset.items()}


def targets(rows: list[dict]) -> dict:
    """Issue 20's targets on one data set's rows (accuracies in points; a preset's mean over its seeds and splits,
    the baseline's over the splits)."""
    base, majority = split_mean(rows, "baseline"), split_mean(rows, "majority")
    floor = majority + 0.05 if base >= majority + 0.05 else majority
    means = {p: mean for p, (mean, _) in accuracies(rows).items()}
    return {"above_majority": all(a > floor for a in means.values()),
            "within_5_of_baseline": all(a >= base - 0.05 for a in means.values()),
            "fast_within_1_of_baseline": means["fast"] >= base - 0.01 if "fast" in means else None}


def split_mean(rows: list[dict], key: str) -> float:
    """The mean over the splits of one data set's rows of a figure each split has once (`baseline`, `majority`)."""
    return statistics.fmean({r["split"]: r[key] for r in rows}.values())


def table(rows: list[dict], presets: list[str]) -> str:
    head = ["data set (rows, classes)", *presets, "TF-IDF + LR", "majority class"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in rows if r["dataset"] == name]
        means = accuracies(mine)
        several = len({(r["seed"], r["split"]) for r in mine}) > 1
        cells = [(f"{means[p][0]:.3f}" + (f" ± {means[p][1]:.3f}" if several else "")) if p in means else ""
                 for p in presets]
        lines.append(f"| {TITLES[name]} ({mine[0]['rows']:,}, {mine[0]['classes']}) | " + " | ".join(cells)
                     + f" | {split_mean(mine, 'baseline'):.3f} | {split_mean(mine, 'majority'):.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(hparams.PRESETS), help="comma-separated (default: all)")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of {', '.join(SETS)}")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds (default: 0)")
    parser.add_argument("--splits", type=int, default=1,
                        help="splits of each set: the file as given, then reshuffled copies (default: 1)")
    args = parser.parse_args()
    presets = [hparams.preset_name(p) for p in args.presets.split(",")]
    names = args.sets.split(",")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        sys.exit(f"error: --seeds {args.seeds!r} is not a comma-separated list of whole numbers")
    if args.splits < 1:
        sys.exit(f"error: --splits {args.splits} must be 1 or more")
    unknown = set(names) - set(SETS)
    text = data_dir() / "text"
    if unknown or not text.is_dir():
        sys.exit(f"error: unknown set {', '.join(sorted(unknown))}" if unknown else
                 f"error: {text} is missing (set IMDB_DATA_DIR to the data folder that holds text/).")
    print(json.dumps({"command": " ".join(["python", *sys.argv]), "cpus": os.cpu_count(),
                      "load_average_at_start": [round(v, 1) for v in os.getloadavg()]}), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as home:
        os.environ["SENTIMENT_LAB_HOME"] = home
        imported = import_sets(text, names, Path(home), args.splits)
        for name in names:
            for split, imported_name in enumerate(imported[name]):
                for preset in presets:
                    for seed in seeds:
                        rows.append(run(name, split, imported_name, preset, seed, Path(home)))
                        print(json.dumps(rows[-1]), flush=True)
            print(json.dumps({"dataset": name, **targets([r for r in rows if r["dataset"] == name])}), flush=True)
    print(json.dumps({"load_average_at_end": [round(v, 1) for v in os.getloadavg()]}))
    print(table(rows, presets))


if __name__ == "__main__":
    main()

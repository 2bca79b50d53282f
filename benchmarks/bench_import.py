"""Benchmark importing labelled text: Kaggle's 50,000-review `IMDB Dataset.csv`, and the airline tweets.

    IMDB_DATA_DIR=/path/to/data python benchmarks/bench_import.py [--repeat 3] [--keep]

1. Builds `IMDB Dataset.csv` (columns review, sentiment; `<br />` tags kept) from the Stanford archive in
   IMDB_DATA_DIR into a temporary folder, as Kaggle ships it.
2. Times `python -m core datasets add` of it in a fresh process, `--repeat` times, and prints wall seconds, CPU
   seconds and the peak memory of each import (the child's own `ru_maxrss`, from `os.wait4`), then their medians.
   Targets: <= 30 s on this 2-core machine, <= 2 GB peak. Wall time depends on what else runs on the machine (the
   load average is printed with each figure); CPU seconds much less.
3. Imports `text/Tweets.csv` the same way and prints its class counts and split.

Everything is written to a temporary SENTIMENT_LAB_HOME that is removed at the end (unless --keep).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from kaggle_csv import ARCHIVE, write_kaggle_csv  # noqa: E402


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def timed_import(path: Path, name: str, env: dict[str, str]) -> dict:
    """`python -m core datasets add PATH --name NAME` in a child process: its output, wall and CPU time, peak memory."""
    out, err = tempfile.TemporaryFile(mode="w+"), tempfile.TemporaryFile(mode="w+")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "core", "datasets", "add", str(path), "--name", name],
                             cwd=REPO, env=env, stdout=out, stderr=err)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        err.seek(0)
        raise SystemExit(f"error: importing {path.name} failed: {err.read().strip()}")
    out.seek(0)
    return {
        "result": json.loads(out.read()),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "load_average_1min_before": round(load, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="imports of the Kaggle CSV to take the median of")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()
    data_dir = Path(os.environ.get("IMDB_DATA_DIR", REPO.parent / "shared" / "data")).expanduser()
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    env = {**os.environ, "SENTIMENT_LAB_HOME": str(work / "home"), "IMDB_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    emit({"command": " ".join([Path(sys.executable).name, *sys.argv]), "cpus": os.cpu_count(), "work": str(work)})
    try:
        csv_path = work / "IMDB Dataset.csv"
        started = time.perf_counter()
        rows = write_kaggle_csv(data_dir / ARCHIVE, csv_path)
        emit({"built": csv_path.name, "rows": rows, "mb": round(csv_path.stat().st_size / 2**20, 1),
              "seconds": round(time.perf_counter() - started, 1)})
        runs = []
        for i in range(args.repeat):
            run = timed_import(csv_path, f"kaggle-{i}", env)
            info = run.pop("result")
            emit({"import": csv_path.name, "run": i + 1, **run, "train_size": info["train_size"],
                  "test_size": info["test_size"], "vocab_size": info["vocab_size"],
                  "in_process_seconds": info["report"]["seconds"]})
            runs.append(run)
        emit({
            "import": csv_path.name, "repeats": args.repeat,
            "median_wall_seconds": statistics.median(r["wall_seconds"] for r in runs),
            "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
            "max_peak_mb": max(r["peak_mb"] for r in runs),
            "targets": "<= 30 s wall on 2 cores, <= 2048 MB peak",
        })
        tweets = timed_import(data_dir / "text" / "Tweets.csv", "tweets", env)
        info = tweets.pop("result")
        emit({"import": "Tweets.csv", **tweets, "labels": info["labels"], "train_size": info["train_size"],
              "test_size": info["test_size"], "vocab_size": info["vocab_size"],
              "class_counts": info["report"]["class_counts"], "split": info["report"]["split"]})
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

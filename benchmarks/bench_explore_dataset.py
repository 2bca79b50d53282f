"""Benchmark Explore's first view of an imported 50,000-review data set (server time, the script run of the page).

    IMDB_DATA_DIR=/path/to/data python benchmarks/bench_explore_dataset.py [--repeat 3]

Builds Kaggle's `IMDB Dataset.csv` from the Stanford archive (tests/kaggle_csv.py), imports it once into a temporary
SENTIMENT_LAB_HOME, then in `--repeat` fresh processes opens Explore at `?dataset=kaggle` through AppTest (after a
warm-up view of the Home page, so Streamlit's and the lab's imports are not counted) and prints the first view's
server time, wall and CPU seconds of the script runs themselves (AppTest's own start-up and polling are not counted),
and the second view's (the cached one). Target: the first view within 2 s.
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
sys.path.insert(0, str(REPO))

NAME = "kaggle"


def _timed_script_runs() -> list[tuple[float, float]]:
    """(wall, CPU) seconds of every script run from now on, measured around Streamlit's own script execution in
    its script thread: what the server spends on a page view, without AppTest's start-up and polling."""
    from streamlit.runtime.scriptrunner import script_runner

    runs: list[tuple[float, float]] = []
    original = script_runner.ScriptRunner._run_script

    def timed(self, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            runs.append((time.perf_counter() - wall, time.thread_time() - cpu))

    script_runner.ScriptRunner._run_script = timed
    return runs


def one_view() -> None:
    """In this (fresh) process: the Home page, then Explore's first and second view of the imported data set."""
    from pagetest import open_page

    open_page("pages/home.py")
    runs = _timed_script_runs()
    figures = {}
    for view in ("first", "second"):
        start = len(runs)
        at = open_page("pages/explore.py", dataset=NAME)
        figures[view] = {"wall_seconds": round(sum(w for w, _ in runs[start:]), 3),
                         "cpu_seconds": round(sum(c for _, c in runs[start:]), 3), "script_runs": len(runs) - start}
        assert not at.warning and not at.error, [w.value for w in at.warning] + [e.value for e in at.error]
        assert any("40,000 training and 10,000 test reviews" in c.value for c in at.caption)
    print(json.dumps({**figures, "load": round(os.getloadavg()[0], 1)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--view", action="store_true", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--home", help="a lab home that already holds the data set `kaggle` (kept)")
    args = parser.parse_args()
    if args.view:
        one_view()
        return
    from core import config
    from core.data import datasets
    from kaggle_csv import ARCHIVE, write_kaggle_csv

    home = Path(args.home or tempfile.mkdtemp(prefix="bench-explore-"))
    try:
        os.environ["SENTIMENT_LAB_HOME"] = str(home)
        if NAME not in datasets.names():
            csv_path = home / "IMDB Dataset.csv"
            write_kaggle_csv(Path(config.data_dir()) / ARCHIVE, csv_path)
            datasets.add(csv_path, NAME)
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, __file__, "--view"], cwd=REPO, env=dict(os.environ),
                                 capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(runs[-1]), flush=True)
        print(json.dumps({"median_first_wall_seconds": statistics.median(r["first"]["wall_seconds"] for r in runs),
                          "median_first_cpu_seconds": statistics.median(r["first"]["cpu_seconds"] for r in runs)}))
    finally:
        if not args.home:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

"""What the `ray` executor costs against the `thread` executor, on this machine, with a local Ray.

    IMDB_DATA_DIR=/path/to/data python benchmarks/bench_executors.py [--repeat 3] [--queue 8] [--limit N]

1. One `dlwp` training, submitted to the runner until its results are saved, with each executor (alternating,
   `--repeat` times each); prints the medians, the overhead in seconds and percent, and apart from it the fixed
   start-up cost paid once per server (starting Ray, putting the data in the object store).
2. `--queue` `dlwp` trainings submitted at once: the thread executor runs them one at a time (the default
   SENTIMENT_LAB_MAX_TRAININGS=1); the ray executor lets Ray run as many as the CPUs allow (`--ray-cpus` each).
   Prints the time until the last one is done and the time per training.

Runs go to a temporary SENTIMENT_LAB_HOME that is removed at the end. Requires requirements-cluster.txt.
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


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def timed_runs(runner, hp, count: int) -> tuple[float, list]:
    """Submit `count` trainings at once; seconds until the last has finished, and their snapshots."""
    started = time.perf_counter()
    runs = [runner.submit(hp, owner="benchmark", probes=()) for _ in range(count)]
    snaps = [run.wait() for run in runs]
    wall = time.perf_counter() - started
    failed = [s for s in snaps if s.status != "finished"]
    if failed:
        raise SystemExit(f"error: a training ended {failed[0].status}: {failed[0].error}")
    return wall, snaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queue", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="train on fewer reviews")
    parser.add_argument("--ray-cpus", type=int, default=1, help="CPUs one training takes on Ray")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="bench-executors-")
    os.environ["SENTIMENT_LAB_HOME"] = home
    import ray

    from core import hparams
    from core.data import imdb
    from core.execution.base import ThreadExecutor
    from core.execution.ray_executor import RayExecutor
    from core.runner import Runner
    from core.store import RunStore
    from core.data.vocab import load_vocabulary

    hp = hparams.make("dlwp", **({"limit": args.limit} if args.limit else {}))
    corpus, vocabulary = imdb.load_corpus(), load_vocabulary()
    store = RunStore()
    thread = Runner(store, executor=ThreadExecutor(), max_concurrent=1)
    executor = RayExecutor(num_cpus=args.ray_cpus)
    cluster = Runner(store, executor=executor)

    started = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - started
    started = time.perf_counter()
    executor.share(corpus, vocabulary)
    data_put = time.perf_counter() - started
    emit({"fixed_start_up": "once per server", "ray_init_seconds": round(ray_start, 2),
          "data_to_object_store_seconds": round(data_put, 2), "cpus_in_ray": ray.cluster_resources().get("CPU")})

    walls: dict[str, list[float]] = {"thread": [], "ray": []}
    fits: dict[str, list[float]] = {"thread": [], "ray": []}
    for i in range(args.repeat):
        for name in (("thread", "ray") if i % 2 == 0 else ("ray", "thread")):
            wall, (snap,) = timed_runs(thread if name == "thread" else cluster, hp, 1)
            walls[name].append(round(wall, 2))
            fits[name].append(round(snap.train_seconds, 2))
            emit({"executor": name, "repeat": i + 1, "wall_seconds": round(wall, 2),
                  "train_seconds": round(snap.train_seconds, 2), "test_accuracy": round(snap.test_accuracy, 4)})
    t, r = statistics.median(walls["thread"]), statistics.median(walls["ray"])
    emit({"one_dlwp_training": "submit to saved results, medians", "thread_seconds": t, "ray_seconds": r,
          "ray_overhead_seconds": round(r - t, 2), "ray_overhead_percent": round(100 * (r - t) / t, 1),
          "thread_fit_seconds": statistics.median(fits["thread"]), "ray_fit_seconds": statistics.median(fits["ray"]),
          "all_thread": walls["thread"], "all_ray": walls["ray"]})

    for name, runner in (("thread", thread), ("ray", cluster)):
        wall, _ = timed_runs(runner, hp, args.queue)
        emit({"queued_dlwp_trainings": args.queue, "executor": name, "wall_seconds": round(wall, 2),
              "seconds_per_training": round(wall / args.queue, 2),
              "at_once": 1 if name == "thread" else int(ray.cluster_resources().get("CPU", 1) // args.ray_cpus)})
    ray.shutdown()
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

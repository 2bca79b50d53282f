"""The memory estimate (core/memory.py) against the peak resident memory a real training reaches.

Each configuration trains in its own `python -m core train` process (in a throw-away SENTIMENT_LAB_HOME), started by
a small wrapper process that reports its child's peak RSS (`getrusage(RUSAGE_CHILDREN).ru_maxrss`), so every figure
is one training's peak and nothing else.

    IMDB_DATA_DIR=../shared/data python benchmarks/bench_memory.py [--only dlwp,fast] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core import hparams, memory  # noqa: E402

CONFIGS: dict[str, tuple[str, dict[str, int]]] = {
    "dlwp": ("dlwp", {}),
    "mslearn": ("mslearn", {}),
    "lstm": ("lstm", {"epochs": 1, "limit": 2000}),
    "fast": ("fast", {}),
    "dlwp-50k-words": ("dlwp", {"num_words": 50_000, "limit": 14_900, "epochs": 1}),
    "mslearn-wide": ("mslearn", {"maxlen": 1500, "embedding_dim": 128, "batch_size": 1024, "limit": 5000, "epochs": 1}),
}

WRAPPER = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
           "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def peak_rss(preset: str, overrides: dict[str, int], home: Path) -> tuple[int, float]:
    """Exit status and peak RSS in bytes of one training process."""
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in overrides.items()]
    env = {**os.environ, "SENTIMENT_LAB_HOME": str(home), "SENTIMENT_LAB_MAX_TRAINING_GB": "4096",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
    out = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-m", "core", "train", "--preset", preset,
                          *flags], capture_output=True, text=True, env=env, cwd=REPO, check=True).stdout.split()
    return int(out[0]), int(out[1]) * 1024  # ru_maxrss is in kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated configuration names (default: all)")
    parser.add_argument("--json", action="store_true", help="one JSON line per configuration instead of a table")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(CONFIGS)
    if not args.json:
        print(f"{'configuration':<16} {'estimate GB':>11} {'peak RSS GB':>11} {'error':>7}   largest part")
    for name in names:
        preset, overrides = CONFIGS[name]
        hp = hparams.make(preset, **overrides)
        found = memory.estimate(hp)
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as home:
            rc, peak = peak_rss(preset, overrides, Path(home))
        error = (found.total - peak) / peak
        row = {"configuration": name, "rc": rc, "estimate_gb": round(found.total / memory.GB, 3),
               "peak_rss_gb": round(peak / memory.GB, 3), "error_percent": round(100 * error, 1),
               "parts_gb": {k: round(getattr(found, k) / memory.GB, 3)
                            for k in ("runtime", "features", "weights", "activations")}}
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            status = "" if rc == 0 else f"  (exit {rc})"
            print(f"{name:<16} {row['estimate_gb']:>11.2f} {row['peak_rss_gb']:>11.2f} {row['error_percent']:>+6.0f}%"
                  f"   {memory.PART_NAMES[found.largest()]}{status}", flush=True)


if __name__ == "__main__":
    main()

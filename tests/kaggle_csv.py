"""Kaggle's `IMDB Dataset.csv`, rebuilt from the Stanford archive: columns `review` and `sentiment`
(positive/negative), `<br />` tags kept, the 50,000 labelled reviews in a shuffled order.

Used by the data-set tests (a small slice) and benchmarks/bench_import.py (all of it); never written into the repository.
"""
from __future__ import annotations

import csv
import random
import tarfile
from pathlib import Path

ARCHIVE = "aclImdb_v1_labeled.tar.gz"
SENTIMENT = {"pos": "positive", "neg": "negative"}


def write_kaggle_csv(archive: Path, out: Path, per_class: int | None = None, seed: int = 0) -> int:
    """Write the CSV from `archive`; `per_class` caps each sentiment (reading stops once both are full).

    Returns the number of rows written.
    """
    rows: list[tuple[str, str]] = []
    taken = dict.fromkeys(SENTIMENT.values(), 0)
    with tarfile.open(archive, mode="r|gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 4 or parts[1] not in ("train", "test") or parts[2] not in SENTIMENT:
                continue
            sentiment = SENTIMENT[parts[2]]
            if per_class is not None and taken[sentiment] >= per_class:
                if all(n >= per_class for n in taken.values()):
                    break
                continue
            rows.append((tar.extractfile(member).read().decode("utf-8"), sentiment))
            taken[sentiment] += 1
    random.Random(seed).shuffle(rows)
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "sentiment"])
        writer.writerows(rows)
    return len(rows)

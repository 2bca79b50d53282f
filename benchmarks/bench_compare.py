"""Server time of issue 24's views, in AppTest (the page script's whole run, as the server runs it) and in core:
- comparing 5 models (one run of each preset) on one review: target under 1 s;
- the models x examples grid, 5 x 6: target under 2 s;
- the word map of 5,000 words: under 3 s on first view, cached after;
- exporting each preset's raw-text model (no target; for the record).

    IMDB_DATA_DIR=/work/shared/data python benchmarks/bench_compare.py [--home LAB_HOME]

Without --home it trains one tiny run of each preset (2,000 reviews, 1 epoch) in a temporary lab home first.
Models are loaded once before timing (a class server keeps them loaded); each figure is the median of 3.
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

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REVIEW = "This movie was not bad at all, and the ending was not boring either."


def timed(action, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", help="a lab home with finished runs (default: train tiny ones)")
    args = parser.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="bench-compare-"))
    os.environ["SENTIMENT_LAB_HOME"] = str(home)

    from conftest import TINY
    from pagetest import open_page, trained_home

    from core import compare, predict, raw_text_model, word_map
    from core.store import RunStore

    if not args.home:
        trained_home(home, list(TINY), TINY)
    runs = compare.best_per_preset(RunStore(home).list())[:5]
    for run in runs:
        predict.scorer(run.model_dir)  # loaded, as on a running server
    examples = ["A wonderful film with a brilliant cast.", "Boring, badly acted and far too long.",
                "This movie was not bad at all.", "Oh great, another two hours of my life I will never get back.",
                "The acting was superb, but the plot was a mess.", "It was fine, I guess. Nothing special."]
    figures = {"models": [r.preset for r in runs], "load_average": os.getloadavg()[0]}
    figures["core_compare_5_models_s"] = timed(lambda: compare.compare(REVIEW, runs))
    figures["core_grid_5x6_s"] = timed(lambda: compare.grid(examples, runs))
    big = max(runs, key=lambda r: RunStore(home).get(r.id).config.get("num_words", 0))
    start = time.perf_counter()
    word_map.shared(big.model_dir, 5_000)
    figures["word_map_5000_first_s"] = time.perf_counter() - start
    figures["word_map_5000_cached_s"] = timed(lambda: word_map.shared(big.model_dir, 5_000))
    figures["word_map_run"] = big.preset

    at = open_page("pages/predict.py")
    at.text_area(key="predict_text").input(REVIEW).run()
    at.button(key="compare_go").click().run()  # first view: the page's own imports and charts warm up
    figures["apptest_compare_view_s"] = timed(lambda: at.button(key="compare_go").click().run())
    at.button(key="compare_grid_go").click().run()
    figures["apptest_compare_and_grid_view_s"] = timed(lambda: at.button(key="compare_grid_go").click().run())
    page = open_page("pages/word_map.py")
    page.selectbox(key="map_run").set_value(big.id).run()
    page.slider(key="map_words").set_value(5_000).run()
    figures["apptest_word_map_5000_cached_view_s"] = timed(lambda: page.run())
    for run in runs:
        out = Path(tempfile.mkdtemp()) / "model.keras"
        start = time.perf_counter()
        raw_text_model.export(run.model_dir, out)
        figures[f"export_{run.preset}_s"] = time.perf_counter() - start
        figures[f"export_{run.preset}_mb"] = out.stat().st_size / 1e6
    figures["load_average_end"] = os.getloadavg()[0]
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()

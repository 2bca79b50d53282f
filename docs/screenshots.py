"""Retake the README's screenshots (docs/*.png) with the lab at its best: a fresh lab home, the `fast` and `dlwp`
presets trained from the Train page with their default settings on the whole IMDB training split, the README's
review scored on Predict, the Runs page, and a small CSV imported on Data sets.

    IMDB_DATA_DIR=/work/shared/data python docs/screenshots.py [--out docs]

Runs the real app (`streamlit run app.py`) in headless Chromium through Playwright, with the same helpers as
tests/test_e2e.py; a few minutes on 2 cores. Predict shows whichever run scores the review higher, and the script
stops before that screenshot unless the verdict is Positive with a score of 0.8 or more, so a weak model never
reaches the README. The Pretrained page and the projector view are
taken by tests/test_e2e.py and tests/test_e2e_board.py.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from e2e_server import StreamlitServer  # noqa: E402
from test_e2e import VIEWPORT, open_page, score_review, screenshot, settle  # noqa: E402

DOCS = Path(__file__).resolve().parent

TRAIN_SECONDS = 1200  # a whole-split training on a busy 2-core machine
CONFIDENT = 0.8  # the positive score the README's review must reach: far outside the unsure band (0.4 to 0.6)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def train(page, server: StreamlitServer, preset: str) -> int:
    """Train `preset` with its default settings from the Train page; its run id once it has finished."""
    open_page(page, server, f"/train?preset={preset}")
    start = page.get_by_role("button", name="▶ Start training")
    if not start.is_visible():  # once this browser has a run, the settings are folded away under its results
        page.locator('[data-testid="stExpander"] summary').filter(has_text="Settings").first.click()
    start.click()
    title = page.get_by_text(re.compile(rf"Run #\d+ · {preset} · finished"))
    title.first.wait_for(timeout=TRAIN_SECONDS * 1000)
    page.get_by_text("Test accuracy").first.wait_for(timeout=60_000)
    settle(page)
    return int(re.search(r"#(\d+)", title.first.inner_text()).group(1))


def score(page, server: StreamlitServer, run_id: int) -> float:
    """Score the README's review with run `run_id` on Predict; the score shown (the verdict must be Positive)."""
    shown = score_review(page, server, f"/predict?run={run_id}")
    if not page.get_by_text(re.compile(r"^Positive$")).first.is_visible():
        raise SystemExit(f"Run #{run_id} does not call the review positive ({shown}): the "
                         "screenshots were not all retaken.")
    return float(re.search(r"score (\d\.\d{3})", shown).group(1))


def import_tweets(page, server: StreamlitServer, folder: Path) -> None:
    """Upload 300 airline tweets (three classes) on Data sets and import them."""
    tweets = Path(os.environ.get("IMDB_DATA_DIR") or REPO.parent / "shared" / "data") / "text" / "Tweets.csv"
    with tweets.open(encoding="utf-8", newline="") as f:
        rows = [row for _, row in zip(range(301), csv.reader(f))]
    small = folder / "airline-tweets.csv"
    with small.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    open_page(page, server, "/datasets")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(small))
    page.get_by_text(re.compile(r"300 labelled rows")).first.wait_for(timeout=60_000)
    settle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text(re.compile(r"Imported airline-tweets: 3 classes")).first.wait_for(timeout=60_000)
    settle(page)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="where the PNGs go (default: docs/)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    data_dir = Path(os.environ.get("IMDB_DATA_DIR") or REPO.parent / "shared" / "data")
    with tempfile.TemporaryDirectory(prefix="screenshots-") as work:
        work = Path(work)
        with StreamlitServer(data_dir, work / "lab", work / "streamlit.log") as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(60_000)
            for path, name in (("/", "home"), ("/explore", "explore")):
                open_page(page, server, path)
                screenshot(page, name, args.out)
            fast = train(page, server, "fast")
            dlwp = train(page, server, "dlwp")
            open_page(page, server, "/train")  # afresh: the run's results, its settings folded away, from the top
            page.get_by_text(f"Run #{dlwp} · dlwp · finished").first.wait_for(timeout=60_000)
            page.get_by_text("Where it goes wrong").first.wait_for(timeout=60_000)
            settle(page)
            screenshot(page, "train", args.out)
            scores = {fast: score(page, server, fast), dlwp: score(page, server, dlwp)}
            best = max(scores, key=scores.get)
            if scores[best] < CONFIDENT:
                raise SystemExit(f"No run is confident that the review is positive ({scores}): Predict was not "
                                 "retaken.")
            if best != dlwp:
                score(page, server, best)
            screenshot(page, "predict", args.out)
            open_page(page, server, f"/runs?run={fast}")  # compared with the newest run, dlwp
            screenshot(page, "runs", args.out)
            import_tweets(page, server, work)
            screenshot(page, "datasets", args.out)
            browser.close()
    sizes = ", ".join(f"{p.name} {p.stat().st_size // 1000} KB" for p in sorted(args.out.glob("*.png")))
    print(f"runs #{fast} fast and #{dlwp} dlwp; the review scores {scores[fast]:.3f} with fast and "
          f"{scores[dlwp]:.3f} with dlwp (shown: #{best}); {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

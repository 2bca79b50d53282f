"""What one page view costs, one user at a time: seconds until drawn, and CPU seconds in the browser and the server.

    IMDB_DATA_DIR=/work/shared/data python benchmarks/view_cost.py [--repeat 5] [--port 8670]

The load test (load_test.py) shows how views slow down when many browsers share a machine; this script says why,
by measuring each kind of view alone on an otherwise idle machine:
- a cold first load of /, /explore and /predict in a fresh browser context (nothing cached);
- a move between Explore and Predict with the sidebar, in a tab opened on /predict (the first move to a page
  in a tab also loads the code of that page's widgets);
- scoring a review on Predict: the first score in a tab, and later ones;
- the Train page watching a 100-epoch dlwp training: CPU per second in the browser and in the server.
Browser CPU is Chromium and the Playwright driver together (every process this script started, except the server).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_test as lt  # noqa: E402  (the server, the browser and the timing helpers are shared)

SETTLE_S = 1.0  # after a view is drawn, what the browser still does for it (layout, fonts) is counted too


def cpu_split(server_pid: int) -> tuple[float, float]:
    """(browser, server) CPU seconds so far: this script's descendants other than the server, and the server."""
    procs, me = lt.processes(), os.getpid()
    browser = 0.0
    for pid, (parent, cpu) in procs.items():
        if pid in (me, server_pid):
            continue
        while parent and parent in procs and parent not in (me, server_pid):
            parent = procs[parent][0]
        if parent == me:
            browser += cpu
    return browser, procs.get(server_pid, (0, 0.0))[1]


class Meter:
    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.rows: dict[str, list[tuple[float, float, float]]] = {}

    async def measure(self, name: str, view) -> None:
        browser0, server0 = cpu_split(self.server_pid)
        seconds = await view()
        await asyncio.sleep(SETTLE_S)
        browser1, server1 = cpu_split(self.server_pid)
        self.rows.setdefault(name, []).append((seconds, browser1 - browser0, server1 - server0))

    def report(self) -> None:
        print(f"{'view':<38}{'count':>6}{'drawn in s':>12}{'browser CPU s':>15}{'server CPU s':>14}   (medians)")
        for name, rows in self.rows.items():
            print(f"{name:<38}{len(rows):>6}{statistics.median(r[0] for r in rows):>12.2f}"
                  f"{statistics.median(r[1] for r in rows):>15.2f}{statistics.median(r[2] for r in rows):>14.3f}")


async def measure_views(base: str, server_pid: int, repeat: int, timeout: float) -> Meter:
    from playwright.async_api import async_playwright

    meter = Meter(server_pid)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=lt.CHROMIUM, args=lt.CHROMIUM_ARGS)
        try:
            warm = await browser.new_context()
            await lt.open_page(await warm.new_page(), base, "/explore", timeout)  # data loaded, caches filled
            await warm.close()
            for _ in range(repeat):
                for path in ("/", "/explore", "/predict"):
                    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = await context.new_page()
                    await meter.measure(f"cold first load {path}", lambda: lt.open_page(page, base, path, timeout))
                    if path == "/predict":
                        for n, review in enumerate(lt.REVIEWS):
                            name = "score: first in the tab" if n == 0 else "score: later"
                            await meter.measure(name, lambda: lt.score(page, review, timeout))
                        for n, target in enumerate(("/explore", "/predict", "/explore", "/predict")):
                            when = "first in the tab" if n < 2 else "later"  # the first loads the page's widget code
                            await meter.measure(f"switch to {target}: {when}",
                                                lambda: lt.switch_page(page, target, timeout))
                    await context.close()
        finally:
            await browser.close()
    return meter


async def measure_training_watch(base: str, server_pid: int, seconds: float, timeout: float) -> tuple[float, float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=lt.CHROMIUM, args=lt.CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 1000})
            await lt.start_training(context, base, 100, timeout)
            await asyncio.sleep(3)
            browser0, server0, started = *cpu_split(server_pid), time.monotonic()
            await asyncio.sleep(seconds)
            browser1, server1 = cpu_split(server_pid)
            took = time.monotonic() - started
            return (browser1 - browser0) / took, (server1 - server0) / took
        finally:
            await browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="cold loads of each page (default 5)")
    parser.add_argument("--port", type=int, default=8670)
    parser.add_argument("--watch-seconds", type=float, default=15, help="how long to watch the training (default 15)")
    parser.add_argument("--view-timeout", type=float, default=60)
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="sentiment-lab-views-"))
    env = lt.lab_env(home)
    lt.seed_model(env)
    server = lt.start_server(args.port, env, home / "server.log")
    base = f"http://127.0.0.1:{args.port}"
    try:
        meter = asyncio.run(measure_views(base, server.pid, args.repeat, args.view_timeout))
        watch = asyncio.run(measure_training_watch(base, server.pid, args.watch_seconds, args.view_timeout))
    finally:
        lt.stop_server(server)
    print()
    meter.report()
    print(f"Train page watching a 100-epoch dlwp training: the browser used {watch[0]:.2f} CPU s per second, "
          f"the server (training included) {watch[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

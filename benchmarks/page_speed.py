"""Page speed in a real browser while a training runs: first paint and full view of every page.

    IMDB_DATA_DIR=/work/shared/data python benchmarks/page_speed.py [--visits 3] [--train-epochs 100]

One throw-away lab home with a tiny model (so Predict and Runs have something to show), `streamlit run app.py`,
one browser tab that starts a long `dlwp` training on Train and keeps watching it, then, in a fresh tab each time,
`--visits` full loads of every page. For each load it prints:

- first paint: from the request to the page's own title (its h1) on screen, the moment a visitor sees the page;
- full view: to the page finished drawing (the script done, no "Running…", no element still loading: the same
  test as benchmarks/load_test.py);
- CPU seconds the view cost, from the request to the full view: the server's own threads at normal priority (the
  page scripts; the training's threads run niced and are left out) and the browser (Chromium and the Playwright
  driver), less what both spend meanwhile without the view (the training's own tab, measured for 2 s before each
  view). Unlike the seconds, these change little with the machine's load, so runs on a busy machine compare.

`/train (its run)` is the Train page opened in the browser that started the training, so it draws the live run.

Then the same figures for moving between pages as a student does in an app that is already open: a click on each
page's link in the sidebar of one open tab (`--visits` rounds through every page), and, in the training's own tab,
from Train to Runs and back to Train (its run). No full load happens there: the browser keeps the app and only the
page's script runs again.

For scale, the full loads end with `--visits` loads of a one-line Streamlit app (`st.title` alone, the lab's
.streamlit settings, its own server), and of the same with one small Plotly chart, in the same browser while the
training runs: what any Streamlit page, and any page with a chart, costs this browser before the lab draws anything.

The targets are first paint under 1 s and full view under 2 s. The browser runs on the same machine as the server
and the training, so the figures include its own work; say the load average (printed) with them.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_test import (CHROMIUM, CHROMIUM_ARGS, CLOCK_TICKS, lab_env, processes, rendered,  # noqa: E402
                       seed_model, start_server, start_training, stop_server)

PAGES = {"/": "IMDB Sentiment Lab", "/explore": "Explore the reviews", "/train": "Train a model",
         "/predict": "Score a review", "/runs": "Runs", "/board": "Class board", "/datasets": "Data sets",
         "/pretrained": "Pretrained word vectors", "/teacher": "Teacher"}
OWN_TRAIN = "/train (its run)"
BARE = ("/ (a one-line Streamlit app)", "/?chart=1 (the same with one Plotly chart)")
BARE_APP = """import plotly.graph_objects as go
import streamlit as st

st.title("IMDB Sentiment Lab")  # the home page's heading: the same wait
if st.query_params.get("chart"):
    st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])), width="stretch")
"""
Timings = dict[str, list[tuple[float, ...]]]  # page -> (first paint, full view, server CPU, browser CPU) per view
TARGETS = (1.0, 2.0)  # first paint, full view (s)
TITLE_JS = """(heading) => new Promise((resolve) => {
  const seen = () => { const h = document.querySelector('[data-testid="stMain"] h1');
                       return h && h.textContent.includes(heading) && h.getClientRects().length > 0; };
  if (seen()) { resolve(Date.now()); return; }
  const observer = new MutationObserver(() => { if (seen()) { observer.disconnect(); resolve(Date.now()); } });
  observer.observe(document, {subtree: true, childList: true, characterData: true});
})"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_cpu(pid: int) -> float:
    """CPU seconds so far of the server's threads at normal priority: the page scripts, not the niced training."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended while we looked
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[16]) == 0:  # nice
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def browser_cpu(server_pid: int) -> float:
    """CPU seconds so far of this script's descendants other than the server: Chromium and the Playwright driver."""
    procs, me, total = processes(), os.getpid(), 0.0
    for pid, (parent, cpu) in procs.items():
        if pid == server_pid:
            continue
        while parent and parent in procs and parent not in (me, server_pid):
            parent = procs[parent][0]
        total += cpu if parent == me else 0.0
    return total


async def background(server_pid: int, seconds: float = 2.0) -> tuple[float, float]:
    """(server, browser) CPU seconds per second spent with no view loading: the training's tab and its polling."""
    before = server_cpu(server_pid), browser_cpu(server_pid)
    await asyncio.sleep(seconds)
    after = server_cpu(server_pid), browser_cpu(server_pid)
    return (after[0] - before[0]) / seconds, (after[1] - before[1]) / seconds


async def timed(page, heading: str, act, timeout_s: float, server_pid: int, watch_first: bool) -> tuple[float, ...]:
    """(first paint, full view, server CPU, browser CPU) of the view `act()` opens on `page`: seconds from the
    request, CPU seconds until the full view less the background's. `watch_first`: the title's observer goes into
    the page before `act` (a click in an open tab, where the page exists already)."""
    rates = await background(server_pid)
    cpu0 = server_cpu(server_pid), browser_cpu(server_pid)
    title = asyncio.ensure_future(page.evaluate(TITLE_JS, heading)) if watch_first else None
    if watch_first:
        await asyncio.sleep(0.05)  # the title's observer is in the page before the click
    started = time.time()
    await act()
    title = title or asyncio.ensure_future(page.evaluate(TITLE_JS, heading))
    drawn = await rendered(page, timeout_s, heading=heading)
    cpu1 = server_cpu(server_pid), browser_cpu(server_pid)
    spent = time.time() - started
    return ((await title) / 1000 - started, drawn - started, cpu1[0] - cpu0[0] - rates[0] * spent,
            cpu1[1] - cpu0[1] - rates[1] * spent)


async def visit(context, base: str, path: str, timeout_s: float, server_pid: int) -> tuple[float, ...]:
    """The figures of `timed` for one full load of `path` in a new tab."""
    page = await context.new_page()
    route = path.split(" ")[0]
    try:
        return await timed(page, PAGES[route.split("?")[0]],
                           lambda: page.goto(base + route, wait_until="commit", timeout=timeout_s * 1000),
                           timeout_s, server_pid, watch_first=False)
    finally:
        await page.close()


async def move(page, path: str, timeout_s: float, server_pid: int) -> tuple[float, ...]:
    """The figures of `timed` for a click on `path`'s sidebar link in an open tab."""
    route = path.split(" ")[0]
    link = page.locator(f'[data-testid="stSidebarNav"] a[href$="{route}"]').first
    return await timed(page, PAGES[route], lambda: link.click(timeout=timeout_s * 1000), timeout_s, server_pid,
                       watch_first=True)


async def moves(visitor, trainer, base: str, args: argparse.Namespace, server_pid: int) -> Timings:
    """Every page reached by its sidebar link in one open tab, and Train (its run) from Runs in the training's tab."""
    out: Timings = {path: [] for path in [*PAGES, OWN_TRAIN]}
    tab, own = await visitor.new_page(), trainer.pages[0]
    await tab.goto(base + "/", wait_until="commit")
    await rendered(tab, args.view_timeout, heading=PAGES["/"])
    order = [*list(PAGES)[1:], "/"]
    for _ in range(args.visits):
        for path in order:
            out[path].append(await move(tab, path, args.view_timeout, server_pid))
        await move(own, "/runs", args.view_timeout, server_pid)
        out[OWN_TRAIN].append(await move(own, OWN_TRAIN, args.view_timeout, server_pid))
    await tab.close()
    return out


async def drive(base: str, bare: str, args: argparse.Namespace, server_pid: int) -> tuple[Timings, Timings]:
    """(full loads, moves) of every page while a training runs; the full loads end with the bare app's, at `bare`."""
    from playwright.async_api import async_playwright

    out: Timings = {path: [] for path in [*PAGES, OWN_TRAIN]}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        trainer = await browser.new_context(viewport={"width": 1400, "height": 1000})
        await start_training(trainer, base, args.train_epochs, args.view_timeout)
        visitor = await browser.new_context(viewport={"width": 1400, "height": 1000})
        await visit(visitor, base, "/", args.view_timeout, server_pid)  # the browser's cache warm, as for a
        for _ in range(args.visits):  # returning student
            for path in PAGES:
                out[path].append(await visit(visitor, base, path, args.view_timeout, server_pid))
            out[OWN_TRAIN].append(await visit(trainer, base, OWN_TRAIN, args.view_timeout, server_pid))
        for path in BARE:
            out[path] = [await visit(visitor, bare, path, args.view_timeout, server_pid) for _ in range(args.visits)]
        moved = await moves(visitor, trainer, base, args, server_pid)
        await browser.close()
    return out, moved


def report(found: Timings, how: str) -> bool:
    """The table; whether every page of the lab met the targets (the bare app's row is there for scale)."""
    load = os.getloadavg()
    width = max(map(len, found))
    print(f"\n{how}: load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; a training ran throughout")
    print(f"{'page':<{width}} {'first paint median / worst':>27} {'full view median / worst':>25} "
          f"{'server CPU s':>13} {'browser CPU s':>14}   (CPU: medians, less the background's)")
    ok = True
    for path, rows in found.items():
        paints, views = [r[0] for r in rows], [r[1] for r in rows]
        good = max(paints) < TARGETS[0] and max(views) < TARGETS[1]
        ok &= good or path in BARE
        verdict = "for scale (the lab's server CPU)" if path in BARE else "ok" if good else "over target"
        print(f"{path:<{width}} {statistics.median(paints):>16.2f} s / {max(paints):.2f} s "
              f"{statistics.median(views):>14.2f} s / {max(views):.2f} s "
              f"{statistics.median(r[2] for r in rows):>13.2f} {statistics.median(r[3] for r in rows):>14.2f}"
              f"   {verdict}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visits", type=int, default=3, help="full loads of each page")
    parser.add_argument("--train-epochs", type=int, default=100, help="the training that runs meanwhile")
    parser.add_argument("--view-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="page-speed-"))
    env = lab_env(home)
    seed_model(env)
    port, bare_port = free_port(), free_port()
    (home / "bare_app.py").write_text(BARE_APP)
    server = start_server(port, env, home / "streamlit.log")
    bare = start_server(bare_port, env, home / "bare.log", script=str(home / "bare_app.py"))
    try:
        loads, moved = asyncio.run(drive(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}", args,
                                         server.pid))
    finally:
        stop_server(bare)
        stop_server(server)
    ok = [report(loads, "full loads in a new tab"), report(moved, "moves by the sidebar's links in an open tab")]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    raise SystemExit(main())

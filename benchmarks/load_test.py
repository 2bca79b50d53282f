"""Load test: one student training, ten students browsing. Are pages still drawn within 2 seconds?

    IMDB_DATA_DIR=/work/shared/data python benchmarks/load_test.py [--users 10] [--iterations 3] [--pause 0]

What it does, all on localhost:
1. Makes a throw-away SENTIMENT_LAB_HOME (or uses --home) and, unless --no-seed-model, trains one tiny model
   there with `python -m core train` so the Predict page has something to score with.
2. Starts the app itself (`streamlit run app.py --server.port P --server.headless true`) and waits for
   /_stcore/health. One visit to / runs app.py once (and loads the data), before anything is timed.
3. In one Playwright browser context, opens /train?preset=dlwp&epochs=100 (change with --train-epochs), presses
   "▶ Start training" and leaves that page open, watching the run as a student would. 100 epochs outlast the
   browsing, so every view is timed while the model trains.
4. Meanwhile `--users` more contexts of the same Chromium each repeat `--iterations` times: open /explore,
   open /predict, type a review and press the score button, pausing `--pause` seconds (±50%) after each to
   read. They arrive spread evenly over `--arrival` seconds (default 2: a class opening the app together). The first round opens the pages by URL (a full page load, timed as "first load"); later rounds move
   between them with the sidebar links ("switch"), as a student does in an app that is already open. Each
   page view is timed from the request to the moment the page has finished rendering: the app's script state
   is `notRunning`, no status widget ("Running…") is visible, no element is still a loading skeleton, and the
   page's title (and, for scoring, the score) is on screen. A MutationObserver in the page checks this on
   every change and reports the page's own clock, so the driver adds no polling and no reply delay.
5. Prints count, median and 95th percentile per page, whether p95 is under 2 s, whether the training ran
   while the pages were timed, and how the machine's CPU was shared between the server and the browsers.

The browsers run on the same machine as the server and the training, so the times include their own work:
a cold first load alone costs headless Chromium about 1.5-1.9 s of CPU, and ten of them share two cores.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REVIEWS = (
    "A warm, funny film with a wonderful cast; I loved every minute of it.",
    "Dull and far too long. The plot made no sense and the acting was wooden.",
    "Not bad at all, though the ending dragged a little.",
)
TARGET_S = 2.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The page is drawn: the script finished, nothing says "Running…", and the page title is there. The check runs in
# the page on every DOM change (at most once per 20 ms) and resolves with the page's own clock (ms since the epoch,
# the same clock as time.time() here), so neither driver polling nor the reply's trip back adds to a timing.
RENDERED_JS = """(arg) => new Promise((resolve, reject) => {
  const drawn = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.dataset.testScriptState !== 'notRunning') return false;
    const widget = document.querySelector('[data-testid="stStatusWidget"]');
    if (widget && widget.getClientRects().length > 0) return false;
    const main = document.querySelector('[data-testid="stMain"]');
    const h1 = main && main.querySelector('h1');
    if (!h1 || (arg.heading && !h1.textContent.includes(arg.heading))) return false;
    if (main.querySelector('[data-testid="stSkeleton"]')) return false;  // an element still loading its code
    if (!arg.needResult) return true;
    return /score\\s+[01]\\.\\d{3}|\\b(Positive|Negative)\\b/.test(main.innerText)
        || main.querySelector('[data-testid="stAlert"]') !== null;
  };
  let observer = null, timer = null, sweep = null, queued = false;
  const finish = (ok) => {
    if (observer) observer.disconnect();
    clearTimeout(timer);
    clearInterval(sweep);
    ok ? resolve(Date.now()) : reject(new Error(`not drawn within ${arg.timeoutMs} ms`));
  };
  const check = () => { queued = false; if (drawn()) finish(true); };
  if (drawn()) { resolve(Date.now()); return; }
  observer = new MutationObserver(() => { if (!queued) { queued = true; setTimeout(check, 20); } });
  observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  sweep = setInterval(check, 250);  // a change no mutation reports (a style) is still seen
  timer = setTimeout(() => finish(false), arg.timeoutMs);
})"""


@dataclass
class Timings:
    values: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: int = 0  # score attempts on a Predict page without a review box (no model yet)
    window: list[float] = field(default_factory=lambda: [float("inf"), 0.0])  # first start, last end (epoch s)
    cpu: tuple[float, float, float] | None = None  # machine busy, machine total, server: CPU s while browsing
    rows: list[tuple[str, int, float, float]] = field(default_factory=list)  # page, user, started, seconds

    def write_csv(self, path: Path) -> None:
        """Every timed view, for a timeline: which views were slow, and what else was happening then."""
        with open(path, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(("page", "user", "started_s", "seconds"))
            first = min((row[2] for row in self.rows), default=0.0)
            writer.writerows((page, user, f"{started - first:.2f}", f"{seconds:.3f}")
                             for page, user, started, seconds in sorted(self.rows, key=lambda r: r[2]))

    def add(self, page: str, seconds: float, started: float, user: int) -> None:
        self.values.setdefault(page, []).append(seconds)
        self.rows.append((page, user, started, seconds))
        self.window[0] = min(self.window[0], started)
        self.window[1] = max(self.window[1], started + seconds)

    def fail(self, page: str, message: str) -> None:
        self.errors.setdefault(page, []).append(message)


def p95(values: list[float]) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


# --- the server ---------------------------------------------------------------------------------------------
def lab_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("IMDB_DATA_DIR", str(REPO.parent / "shared" / "data"))
    env.update(SENTIMENT_LAB_HOME=str(home), TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
               PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def seed_model(env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "core", "train", "--preset", "dlwp", "--limit", "1000", "--val-size", "300",
               "--epochs", "2"]
    print("setup: training a tiny model for the Predict page:", " ".join(command[1:]), flush=True)
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"seeding a model failed:\n{result.stderr[-2000:]}")


def start_server(port: int, env: dict[str, str], log: Path, script: str = "app.py") -> subprocess.Popen:
    """`streamlit run script` (the lab's app.py unless told), with the lab's .streamlit settings, once healthy."""
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
               "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    print(f"setup: {' '.join(command[2:])} (log: {log})", flush=True)
    with open(log, "w") as out:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
    return wait_healthy(server, port, log)


def wait_healthy(server: subprocess.Popen, port: int, log: Path) -> subprocess.Popen:
    """The server, once /_stcore/health on `port` answers ok; it is stopped if it does not within 90 s."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
                if reply.read().strip() == b"ok":
                    return server
        except OSError:
            pass
        time.sleep(0.5)
    stop_server(server)
    raise SystemExit(f"the server did not answer /_stcore/health within 90 s; see {log}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


# --- the browsers -------------------------------------------------------------------------------------------
HEADINGS = {"/explore": "Explore the reviews", "/predict": "Score a review"}


async def rendered(page, timeout_s: float, need_result: bool = False, heading: str = "") -> float:
    """Wait until the page is drawn; the moment it was, as time.time()."""
    drawn_ms = await page.evaluate(RENDERED_JS, {"needResult": need_result, "heading": heading,
                                                 "timeoutMs": timeout_s * 1000})
    return drawn_ms / 1000


async def open_page(page, base: str, path: str, timeout_s: float) -> float:
    """A full page load: the browser fetches and starts the whole app, as on a student's first visit."""
    started = time.time()
    await page.goto(base + path, wait_until="commit", timeout=timeout_s * 1000)
    return await rendered(page, timeout_s, heading=HEADINGS.get(path, "")) - started


async def switch_page(page, path: str, timeout_s: float) -> float:
    """A click on the page's link in the sidebar, as a student moves around the open app."""
    started = time.time()
    await page.locator(f'[data-testid="stSidebarNav"] a[href$="{path}"]').first.click(timeout=timeout_s * 1000)
    await page.wait_for_url(f"**{path}", timeout=timeout_s * 1000)
    return await rendered(page, timeout_s, heading=HEADINGS[path]) - started


async def start_training(context, base: str, epochs: int, timeout_s: float) -> None:
    page = await context.new_page()
    await page.goto(f"{base}/train?preset=dlwp&epochs={epochs}", wait_until="commit")
    await rendered(page, timeout_s)
    button = page.get_by_role("button", name="▶ Start training")
    await button.wait_for(timeout=timeout_s * 1000)
    await button.click()
    await page.get_by_text(re.compile(r"Run #\d+")).first.wait_for(timeout=timeout_s * 1000)
    print(f"trainer: started dlwp with {epochs} epochs; the Train page stays open", flush=True)


async def score(page, review: str, timeout_s: float) -> float:
    """Type a review and press the score button; LookupError when this Predict page offers no way to score."""
    box = page.get_by_label(re.compile(r"^Review"))
    if await box.count() == 0:
        box = page.locator("[data-testid='stMain'] textarea")
    button = page.get_by_role("button", name=re.compile("Score"))
    if await box.count() == 0 or await button.count() == 0:
        shown = " ".join((await page.locator("[data-testid='stMain']").inner_text()).split())
        raise LookupError(f"no 'Review' box or 'Score' button; the page shows: {shown[:160]!r}")
    await box.first.fill(review)
    started = time.time()
    await button.first.click()
    await asyncio.sleep(0.05)  # let the click reach the server before checking the script state
    return await rendered(page, timeout_s, need_result=True) - started


async def student(n: int, browser, base: str, args: argparse.Namespace, timings: Timings) -> None:
    iterations, timeout_s = args.iterations, args.view_timeout
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    jitter = random.Random(n)

    async def read() -> None:
        """The student looks at what was drawn before the next click: --pause seconds on average, ±50%."""
        if args.pause:
            await asyncio.sleep(args.pause * jitter.uniform(0.5, 1.5))

    await asyncio.sleep(args.arrival * n / max(args.users, 1))  # people do not click at the same millisecond
    try:
        for i in range(iterations):
            opened = False
            for name, path in (("explore", "/explore"), ("predict", "/predict")):
                started = time.time()
                first = i == 0
                name = f"{name}: first load" if first else f"{name}: switch"
                try:
                    took = await (open_page(page, base, path, timeout_s) if first else switch_page(page, path, timeout_s))
                    timings.add(name, took, started, n)
                    opened = path == "/predict"
                except Exception as exc:  # noqa: BLE001 - a failed view is counted, the run goes on
                    timings.fail(name, f"user {n} #{i}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                await read()
            if not opened:
                continue
            started = time.time()
            try:
                took = await score(page, REVIEWS[(n + i) % len(REVIEWS)], timeout_s)
                timings.add("predict: score", took, started, n)
            except LookupError as exc:  # the page offers no way to score (no model yet): skipped, not failed
                timings.skipped += 1
                timings.notes.append(f"scoring skipped: {exc}")
            except Exception as exc:  # noqa: BLE001
                timings.fail("predict: score", f"user {n} #{i}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            await read()
    finally:
        await context.close()


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / CLOCK_TICKS, sum(fields) / CLOCK_TICKS


def process_stat(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds used so far by all its threads) of one process, from /proc; OSError once it ended."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_cpu(pid: int) -> float:
    """CPU seconds used so far by one process, all its threads together."""
    return process_stat(pid)[1]


def processes() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used) for every process on the machine."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                out[int(entry)] = process_stat(int(entry))
            except OSError:  # it ended while we looked
                continue
    return out


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by a process and every process under it (a lab started by `python -m core serve`)."""
    procs = processes()
    total = 0.0
    for pid, (parent, cpu) in procs.items():
        while pid != root and parent in procs:
            pid, parent = parent, procs[parent][0]
        total += cpu if pid == root else 0.0
    return total


async def drive(base: str, args: argparse.Namespace, timings: Timings, server_pid: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            warm = await browser.new_context()
            page = await warm.new_page()
            took = await open_page(page, base, "/", args.view_timeout)
            print(f"warm-up: / drawn in {took:.1f} s (app.py run once, data loaded; not counted)", flush=True)
            await warm.close()
            trainer = await browser.new_context(viewport={"width": 1400, "height": 1000})
            if args.train_epochs:
                await start_training(trainer, base, args.train_epochs, args.view_timeout)
            before = machine_cpu(), process_cpu(server_pid)
            await asyncio.gather(*(student(n, browser, base, args, timings) for n in range(args.users)))
            after = machine_cpu(), process_cpu(server_pid)
            timings.cpu = (after[0][0] - before[0][0], after[0][1] - before[0][1], after[1] - before[1])
            await trainer.close()
        finally:
            await browser.close()


# --- report -------------------------------------------------------------------------------------------------
def training_overlap(home: Path, window: list[float]) -> str:
    sys.path.insert(0, str(REPO))
    from core.store import RunStore

    runs = [r for r in RunStore(home).list(with_history=True) if r.owner != "cli"]
    if not runs:
        return "no training was started from the Train page"
    run = runs[0]
    start, end = run.started_at or run.created_at, run.finished_at or time.time()
    first, last = window
    overlap = max(0.0, min(end, last) - max(start, first))
    share = overlap / (last - first) if last > first else 0.0
    return (f"run #{run.id} ({run.preset}, {len(run.history)} of {run.config.get('epochs')} epochs, {run.status}) "
            f"trained for {share:.0%} of the {last - first:.0f} s in which pages were timed")


def report(timings: Timings, args: argparse.Namespace, home: Path) -> bool:
    print()
    print(f"{args.users} users x {args.iterations} iterations, "
          + f"arriving within {args.arrival:g} s, "
          + (f"reading each page for {args.pause:g} s on average" if args.pause else "no pause between clicks")
          + (f", a dlwp training of {args.train_epochs} epochs started first" if args.train_epochs else ", no training"))
    print(f"{'page':<22}{'count':>6}{'errors':>8}{'median s':>10}{'p95 s':>8}{'max s':>8}   p95 < {TARGET_S:g} s")
    ok = True
    for name in ("explore: first load", "predict: first load", "explore: switch", "predict: switch", "predict: score"):
        values, errors = timings.values.get(name, []), timings.errors.get(name, [])
        if not values and not errors:
            continue
        if values:
            under = p95(values) < TARGET_S
            ok &= under and not errors
            print(f"{name:<22}{len(values):>6}{len(errors):>8}{statistics.median(values):>10.2f}{p95(values):>8.2f}"
                  f"{max(values):>8.2f}   {'yes' if under else 'NO'}")
        else:
            ok = False
            print(f"{name:<22}{0:>6}{len(errors):>8}{'–':>10}{'–':>8}{'–':>8}   NO")
    if timings.window[1] > 0:
        print("training:", training_overlap(home, timings.window))
    if timings.cpu:
        busy, total, server = timings.cpu
        print(f"CPU while browsing: the machine was {busy / total:.0%} busy ({busy:.0f} of {total:.0f} core-seconds); "
              f"the server (pages, scoring and the training) used {server / total:.0%}, the browsers and their driver "
              f"{(busy - server) / total:.0%}")
    for name, errors in timings.errors.items():
        for error in errors[:5]:
            print(f"error ({name}): {error}")
    if timings.skipped:
        print(f"note: scoring skipped {timings.skipped} time(s)")
    for note in dict.fromkeys(timings.notes):
        print("note:", note)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10, help="browsing contexts besides the trainer (default 10)")
    parser.add_argument("--iterations", type=int, default=3, help="explore/predict/score rounds per user (default 3)")
    parser.add_argument("--port", type=int, default=8650)
    parser.add_argument("--train-epochs", type=int, default=100,
                        help="epochs of the dlwp training, enough to outlast the browsing (default 100; 0: no training)")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds a student reads each page before the next click, on average (default 0: "
                             "back to back, a stress test)")
    parser.add_argument("--arrival", type=float, default=2.0,
                        help="seconds over which the users open the app, evenly spread (default 2: all at once)")
    parser.add_argument("--csv", type=Path, help="also write every timed view to this CSV file")
    parser.add_argument("--home", type=Path, help="SENTIMENT_LAB_HOME to use (default: a new temporary folder)")
    parser.add_argument("--no-seed-model", action="store_true", help="do not train a tiny model for Predict first")
    parser.add_argument("--view-timeout", type=float, default=60, help="seconds one page view may take (default 60)")
    parser.add_argument("--timeout", type=float, default=540, help="hard limit for the whole browsing part (s)")
    args = parser.parse_args(argv)

    temporary = args.home is None
    home = Path(tempfile.mkdtemp(prefix="sentiment-lab-load-")) if temporary else args.home
    env = lab_env(home)
    timings = Timings()
    server = None
    try:
        if not args.no_seed_model:
            seed_model(env)
        server = start_server(args.port, env, home / "server.log")
        base = f"http://127.0.0.1:{args.port}"
        try:
            asyncio.run(asyncio.wait_for(drive(base, args, timings, server.pid), timeout=args.timeout))
        except asyncio.TimeoutError:
            timings.notes.append(f"stopped at the hard timeout of {args.timeout:g} s; the figures cover what finished")
        ok = report(timings, args, home)
        if args.csv:
            timings.write_csv(args.csv)
            print(f"every view: {args.csv}")
    finally:
        if server is not None:
            stop_server(server)
            print("server stopped", flush=True)
        if temporary:
            shutil.rmtree(home, ignore_errors=True)
    print("RESULT:", "every p95 under 2 s" if ok else "NOT every page under 2 s at p95 (or views failed)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

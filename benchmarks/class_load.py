"""A class on one server, without browsers: N simulated students speaking Streamlit's own protocol.

    IMDB_DATA_DIR=/work/shared/data python benchmarks/class_load.py [--sessions 30 60 120] [--seconds 40]
        [--web-processes N [--class-runs 30 --class-preset dlwp]]

Headless browsers cannot be the clients here (ten Chromium saturate two cores by themselves), so each student is
a small WebSocket client at /_stcore/stream (subprotocol `streamlit`, an `Origin` header) that sends `BackMsg`
protobuf messages and reads `ForwardMsg` ones, as the browser does. A view is timed from sending its
`rerun_script` to the `script_finished` message that ends it: the server's time per view, with no drawing.

What it does, all on localhost:
1. A throw-away SENTIMENT_LAB_HOME with one tiny trained model (`python -m core train`), so Predict can score.
2. `streamlit run app.py`, or with `--web-processes N` the class server `python -m core serve` (N Streamlit
   processes behind its relay, the training queue in a trainer process of its own); one warm-up view of each page
   in each process (not counted).
3. A trainer session opens /train?preset=dlwp&epochs=E and presses "▶ Start training", so a training runs in the
   server (inside the Streamlit process, or in the trainer process), and keeps watching it: its page's live fragment asks for a rerun every second, as
   the browser's timer would (timed as "watch").
4. For each N in --sessions: N students arrive over --arrival seconds. Each opens the app (first view), then
   repeats: switch to a page (Predict, Explore, Runs, the class board, by `page_name`), score a review on Predict
   (the review box and the button as widget values), pausing about a second (0.5-1.5 s) between views. Any live
   fragment on a page they are on is rerun at its interval, as a browser would (timed as "watch").
5. Prints count, p50 and p95 per kind of view for each N, the server's CPU (share of one core, all its processes)
   and the machine's,
   and whether the training was still running at the end of each level.
   With `--class-runs N` (and `--web-processes`), N students first each submit a run of `--class-preset` to the
   trainer service, as a class pressing Start at once; the levels browse while those train, and each level says how
   many of them had ended.

The client library, `websockets`, is installed with Streamlit (one of its dependencies). The browser-based load_test.py measures what a student sees; this one measures the server alone.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_test as lt  # noqa: E402  (the lab home, the model seeding and the server are shared)

sys.path.insert(0, str(lt.REPO))  # for the lab's own modules, imported where used (the store, the trainer client)

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

FINISHED = ForwardMsg.ScriptFinishedStatus
PAGES = ("predict", "explore", "runs", "board")
REVIEWS = lt.REVIEWS
TARGET_S = 1.0
START_LABEL = "▶ Start training"
SCORE_LABEL = "Score review"
SCORED = "score <b>"  # in the verdict Predict draws


@dataclass
class Results:
    values: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, seconds: float) -> None:
        self.values.setdefault(kind, []).append(seconds)

    def fail(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Session:
    """One browser tab's conversation with the server: views on request, fragment reruns on their timers."""

    def __init__(self, url: str, origin: str, results: Results, timeout: float) -> None:
        self.url, self.origin, self.results, self.timeout = url, origin, results, timeout
        self.widgets: dict[tuple[str, str], str] = {}  # (element kind, label) -> widget id, on the current page
        self.page_hash = ""
        self.html: list[str] = []  # st.html bodies drawn by the current view
        self.fragments: dict[str, float] = {}  # fragment id -> interval (s) asked for by the current page
        self._view: asyncio.Future | None = None
        self._fragment_sent: dict[str, float] = {}
        self._ws = None
        self._tasks: list[asyncio.Task] = []

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        self._ws = await connect(self.url, subprotocols=["streamlit"], origin=self.origin, max_size=None,
                                 open_timeout=self.timeout, ping_interval=None)
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._auto_reruns())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._ws is not None:
            await self._ws.close()

    def _note(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session" and not msg.metadata.run.fragment_ids:  # a full run starts: the page's timers
            self.fragments.clear()  # are set anew, and fragment reruns still waiting are dropped by the server
            self._fragment_sent.clear()
        elif kind == "navigation":  # st.navigation names the page being drawn
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            which = element.WhichOneof("type")
            widget = getattr(element, which, None)
            if widget is not None and hasattr(widget, "id") and hasattr(widget, "label"):
                self.widgets[(which, widget.label)] = widget.id
            elif which == "html":
                self.html.append(element.html.body)
        elif kind == "auto_rerun":
            self.fragments[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "script_finished":
            status = msg.script_finished
            if status == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                self._fragment_done(msg.metadata.run.fragment_ids)
            elif status in (FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_WITH_COMPILE_ERROR):
                if self._view is not None and not self._view.done():
                    self._view.set_result(status == FINISHED.FINISHED_SUCCESSFULLY)

    def _fragment_done(self, fragment_ids) -> None:
        now = time.perf_counter()
        for fragment_id in fragment_ids:
            sent = self._fragment_sent.pop(fragment_id, None)
            if sent is not None:
                self.results.add("watch", now - sent)

    async def _read(self) -> None:
        async for raw in self._ws:
            if isinstance(raw, bytes):
                self._note(ForwardMsg.FromString(raw))

    async def _send(self, *, page_name: str = "", page_hash: str = "", query: str = "", fragment_id: str = "",
                    widgets: tuple[WidgetState, ...] = (), auto: bool = False) -> None:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = query
        state.page_name = page_name
        state.page_script_hash = page_hash
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.widget_states.widgets.extend(widgets)
        await self._ws.send(msg.SerializeToString())

    async def view(self, kind: str, **request) -> bool:
        """Send one rerun and wait for the script to finish; records its time under `kind`."""
        self._view = asyncio.get_running_loop().create_future()
        self.html.clear()
        started = time.perf_counter()
        await self._send(**request)
        try:
            ok = await asyncio.wait_for(self._view, self.timeout)
        except asyncio.TimeoutError:
            self.results.fail(kind)
            return False
        finally:
            self._view = None
        if ok:
            self.results.add(kind, time.perf_counter() - started)
        else:
            self.results.fail(kind)
        return ok

    async def page(self, kind: str, name: str, query: str = "") -> bool:
        self.widgets.clear()
        started = time.perf_counter()
        ok = await self.view(kind, page_name=name, query=query)
        if ok and kind == "page switch":  # per page too, to see which one costs
            self.results.add(f"  to {name}", time.perf_counter() - started)
        return ok

    async def press(self, kind: str, label: str, expect: str = "", **values: str) -> bool:
        """Press the button `label` on the current page, with text widgets (by label) set to `values`; with
        `expect`, the view counts only when an st.html element holding that text was drawn."""
        button = self.widgets.get(("button", label))
        if button is None:
            self.results.fail(kind)
            return False
        states = [WidgetState(id=button, trigger_value=True)]
        for (which, widget_label), widget_id in self.widgets.items():
            if widget_label in values:
                states.append(WidgetState(id=widget_id, string_value=values[widget_label]))
        if not await self.view(kind, page_hash=self.page_hash, widgets=tuple(states)):
            return False
        if expect and not any(expect in body for body in self.html):
            self.results.values[kind].pop()
            self.results.fail(f"{kind} (no result drawn)")
            return False
        return True

    async def _auto_reruns(self) -> None:
        """The browser's fragment timers: each live fragment of the current page reruns at its interval."""
        last: dict[str, float] = {}
        while True:
            await asyncio.sleep(0.1)
            now = time.perf_counter()
            for fragment_id, sent in list(self._fragment_sent.items()):
                if now - sent > self.timeout:  # never answered: counted as a failure, and the timer goes on
                    self.results.fail("watch")
                    del self._fragment_sent[fragment_id]
            for fragment_id, interval in list(self.fragments.items()):
                if self._view is not None or fragment_id in self._fragment_sent:
                    continue  # a browser skips a tick while the page is being drawn
                if now - last.get(fragment_id, now - interval) >= interval:
                    last[fragment_id] = now
                    self._fragment_sent[fragment_id] = now
                    await self._send(page_hash=self.page_hash, fragment_id=fragment_id, auto=True)


async def student(n: int, url: str, origin: str, results: Results, stop_at: float, args: argparse.Namespace) -> None:
    session = Session(url, origin, results, args.view_timeout)
    rng = random.Random(n)
    try:
        await session.open()
        await session.view("first view", page_name="", query="")
        pages = itertools.cycle(PAGES[n % len(PAGES):] + PAGES[:n % len(PAGES)])
        while time.perf_counter() < stop_at:
            await asyncio.sleep(rng.uniform(0.5, 1.5))
            name = next(pages)
            await session.page("page switch", name)
            if name == "predict":
                await asyncio.sleep(rng.uniform(0.5, 1.5))
                await session.press("score", SCORE_LABEL, expect=SCORED, Review=rng.choice(REVIEWS))
    except (OSError, asyncio.TimeoutError) as exc:
        results.fail(f"connection ({type(exc).__name__})")
    finally:
        await session.close()


async def start_training(trainer: Session, args: argparse.Namespace) -> None:
    """Open the Train page with the run's settings in the address and press Start, as a student does."""
    await trainer.page("trainer", "train", query=f"preset=dlwp&epochs={args.train_epochs}")
    if not await trainer.press("trainer", START_LABEL):
        raise SystemExit(f"could not press {START_LABEL!r} on the Train page (widgets seen: {sorted(trainer.widgets)})")


def summary(results: Results) -> list[str]:
    lines = []
    order = ("first view", "page switch", *(f"  to {name}" for name in PAGES), "score", "watch")
    for kind, values in sorted(results.values.items(), key=lambda kv: (order + (kv[0],)).index(kv[0])):
        values = sorted(values)
        p95 = lt.p95(values)
        lines.append(f"  {kind:<13} n={len(values):>5}  p50 {statistics.median(values):6.3f} s  p95 {p95:6.3f} s"
                     f"  max {values[-1]:6.2f} s  {'ok' if p95 < TARGET_S else 'OVER'}")
    for kind, count in sorted(results.errors.items()):
        lines.append(f"  {kind:<13} {count} failed or timed out")
    return lines


async def level(n: int, url: str, origin: str, args: argparse.Namespace, server_pid: int, trainer: Session,
                home: Path) -> None:
    results = Results()
    trainer.results = results  # the trainer's watching counts in this level
    if not any(state in training_state(home) for state in ("running", "queued")):  # it ended: start another
        await start_training(trainer, args)
    stop_at = time.perf_counter() + args.arrival + args.seconds
    machine0, server0, wall0 = lt.machine_cpu(), lt.tree_cpu(server_pid), time.perf_counter()
    client0 = time.process_time()
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(student(i, url, origin, results, stop_at, args)))
        await asyncio.sleep(args.arrival / n)
    await asyncio.gather(*tasks)
    machine1, server1, wall1 = lt.machine_cpu(), lt.tree_cpu(server_pid), time.perf_counter()
    client = time.process_time() - client0
    wall = wall1 - wall0
    busy, total = machine1[0] - machine0[0], machine1[1] - machine0[1]
    print(f"\n{n} sessions, {wall:.0f} s (arrival {args.arrival:.0f} s + {args.seconds:.0f} s), one training running: "
          f"{training_state(home)}{class_state(home)}", flush=True)
    print("\n".join(summary(results)))
    print(f"  server CPU {100 * (server1 - server0) / wall:.0f}% of one core ({server1 - server0:.0f} CPU s); "
          f"these clients {100 * client / wall:.0f}%; machine {100 * busy / total:.0f}% busy of {lt.os.cpu_count()} "
          "cores (other work on the machine included)", flush=True)


def start_lab(port: int, env: dict[str, str], log: Path, web_processes: int) -> lt.subprocess.Popen:
    """`python -m core serve` on `port`, once its relay answers /_stcore/health."""
    command = [sys.executable, "-m", "core", "serve", "--port", str(port), "--address", "127.0.0.1",
               "--web-processes", str(web_processes)]
    print(f"setup: {' '.join(command[1:])} (log: {log})", flush=True)
    with open(log, "w") as out:
        server = lt.subprocess.Popen(command, cwd=lt.REPO, env=env, stdout=out, stderr=lt.subprocess.STDOUT,
                                     stdin=lt.subprocess.DEVNULL, start_new_session=True)
    lt.wait_healthy(server, port, log)
    return server


CLASS_OWNER = "class-student-"


def _in_class(run) -> bool:
    """Whether `--class-runs` submitted this run (not the trainer session's own)."""
    return (run.owner or "").startswith(CLASS_OWNER)


def training_state(home: Path) -> str:
    from core.store import RunStore

    runs = [r for r in RunStore(home).list(with_history=True) if r.owner != "cli" and not _in_class(r)]
    if not runs:
        return "NO training was started"
    run = runs[0]
    return f"run #{run.id} {run.status}, {len(run.history)} of {run.config.get('epochs')} epochs"


def submit_class(home: Path, preset: str, runs: int) -> None:
    """A class pressing Start at once: `runs` students each submit one run of `preset` to the trainer service, as
    the Train page does (benchmarks/class_throughput.py times such a class alone)."""
    from core import hparams
    from core.classroom.people import Actor
    from core.serving.trainer_client import RunnerClient
    from core.store import RunStore

    client = RunnerClient(RunStore(home), home / "trainer.sock")
    for n in range(runs):
        client.submit(hparams.make(preset), Actor(f"{CLASS_OWNER}{n:03d}", f"Class student {n + 1}"))


def class_state(home: Path) -> str:
    from core.store import RunStore

    runs = [r for r in RunStore(home).list() if _in_class(r)]
    if not runs:
        return ""
    done = sum(not r.active for r in runs)
    return f"; the class's runs: {done} of {len(runs)} ended"


async def costs(url: str, origin: str, args: argparse.Namespace, server_pid: int) -> None:
    """One session alone, each kind of view `--cost` times in a row: the server's CPU seconds per view (read from
    /proc, so a cost below 10 ms shows only as an average over the repeats)."""
    session = Session(url, origin, Results(), args.view_timeout)
    await session.open()
    print(f"\nserver CPU per view, one session alone, {args.cost} views each (no training):")
    try:
        for label, name in (("home", ""),) + tuple((page, page) for page in PAGES):  # Home is the default page
            await session.page("warm-up", name)
            before = lt.tree_cpu(server_pid)
            for _ in range(args.cost):
                await session.page("warm-up", name)
            print(f"  {label:<8} {1000 * (lt.tree_cpu(server_pid) - before) / args.cost:5.0f} ms", flush=True)
        await session.page("warm-up", "predict")
        await session.press("warm-up", SCORE_LABEL, expect=SCORED, Review=REVIEWS[0])  # loads the model, once
        before = lt.tree_cpu(server_pid)
        for n in range(args.cost):
            await session.press("warm-up", SCORE_LABEL, expect=SCORED, Review=REVIEWS[n % len(REVIEWS)])
        print(f"  {'score':<8} {1000 * (lt.tree_cpu(server_pid) - before) / args.cost:5.0f} ms", flush=True)
    finally:
        await session.close()


async def drive(args: argparse.Namespace, port: int, server_pid: int, home: Path) -> None:
    url, origin = f"ws://127.0.0.1:{port}/_stcore/stream", f"http://127.0.0.1:{port}"
    warm = [Session(url, origin, Results(), args.view_timeout) for _ in range(max(args.web_processes, 1))]
    for session in warm:  # opened one after another, so the relay gives each its own process
        await session.open()
    for session in warm:
        for name in ("",) + PAGES + ("train",):
            await session.page("warm-up", name)
        await session.close()
    if args.cost:
        await costs(url, origin, args, server_pid)
    if not args.sessions:
        return
    if args.class_runs:
        submit_class(home, args.class_preset, args.class_runs)
        print(f"class: {args.class_runs} runs of {args.class_preset} submitted to the trainer", flush=True)
    trainer = Session(url, origin, Results(), args.view_timeout)
    await trainer.open()
    await start_training(trainer, args)
    print(f"training: {training_state(home)} (started from the Train page, inside the server)", flush=True)
    try:
        for n in args.sessions:
            await level(n, url, origin, args, server_pid, trainer, home)
    finally:
        await trainer.press("trainer", "⏹ Stop")
        await trainer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="*", default=[30, 60, 120],
                        help="students at each level (none: only --cost)")
    parser.add_argument("--seconds", type=float, default=40.0, help="how long each level browses after arriving")
    parser.add_argument("--arrival", type=float, default=10.0, help="students arrive evenly over this many seconds")
    parser.add_argument("--train-epochs", type=int, default=100,
                        help="epochs of the dlwp run (1-100; a level that starts after it ended starts another)")
    parser.add_argument("--view-timeout", type=float, default=60.0)
    parser.add_argument("--cost", type=int, default=0, metavar="N",
                        help="first measure the server's CPU per view with one session alone, N views of each kind")
    parser.add_argument("--port", type=int, default=8690)
    parser.add_argument("--web-processes", type=int, default=0, metavar="N",
                        help="serve with `python -m core serve --web-processes N` (N Streamlit processes behind one "
                             "port, the trainer in a process of its own); 0: one `streamlit run` process, with the "
                             "training inside it")
    parser.add_argument("--class-runs", type=int, default=0, metavar="N",
                        help="with --web-processes: first N students each submit a run of --class-preset to the "
                             "trainer (a class pressing Start at once); the levels then browse while they train")
    parser.add_argument("--class-preset", default="dlwp")
    parser.add_argument("--home", type=Path, help="lab home to use (default: a throw-away one, removed after)")
    args = parser.parse_args(argv)
    if (any(n < 1 for n in args.sessions) or args.seconds <= 0 or args.train_epochs < 1 or args.cost < 0
            or args.web_processes < 0 or args.class_runs < 0 or (args.class_runs and not args.web_processes)):
        print("error: --sessions, --seconds and --train-epochs must be positive, --cost, --web-processes and "
              "--class-runs 0 or more, and --class-runs needs --web-processes", file=sys.stderr)
        return 2
    home = args.home or Path(tempfile.mkdtemp(prefix="class-load-"))
    env = lt.lab_env(home)
    try:
        lt.seed_model(env)
        server = (start_lab(args.port, env, home / "lab.log", args.web_processes) if args.web_processes
                  else lt.start_server(args.port, env, home / "streamlit.log"))
        try:
            asyncio.run(drive(args, args.port, server.pid, home))
        finally:
            lt.stop_server(server)
    finally:
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

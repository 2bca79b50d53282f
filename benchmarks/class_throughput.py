"""A class presses Start at once: N students each submit one run to `python -m core serve`'s trainer service.

    IMDB_DATA_DIR=/work/shared/data python benchmarks/class_throughput.py [--preset dlwp] [-n 30]
        [--executor thread|ray] [--set epochs=2 --set limit=5000 ...] [--max-trainings K] [--web-processes W]

What it does, all on localhost:
1. A fresh SENTIMENT_LAB_HOME, and `python -m core serve` started on it as a teacher would (its trainer service
   and web processes; `--executor ray` sets SENTIMENT_LAB_EXECUTOR=ray, which starts a local Ray of the machine's
   CPUs when the first training starts; `--max-trainings` sets SENTIMENT_LAB_MAX_TRAININGS, else the server's
   default applies).
2. Once the trainer answers, N students (one name and owner token each) submit one run each of the preset with
   the `--set` settings through `core/serving/trainer_client.py`, as the Train page does; the queue's forecast for
   each run (`queue_info`, what the Train page shows) is read right after the submissions, and again (`later`, what
   the board shows) once the first 4 results are in and the server has runs of its own to go by.
3. Follows the runs until every one has ended, then prints one line per run (status, test accuracy, its phases'
   seconds, when its result came, what was forecast for it), the time from the first submission to the first and
   the last result, and the CPU seconds the server's processes used meanwhile (on a shared machine a steadier
   figure than the wall time).
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core import hparams  # noqa: E402
from core.classroom.people import Actor  # noqa: E402
from core.serving.trainer_client import RunnerClient  # noqa: E402
from core.run_record import RunRecord  # noqa: E402
from core.store import RunStore  # noqa: E402

LATER_AFTER = 4  # results in before the forecasts are read again: the server then has runs of its own to go by
PHASES = ("preparing", "training", "evaluating", "saving", "baseline")


def _phases(run: RunRecord) -> dict[str, float]:
    """The seconds of each finished phase, which only the trainer's live state of the run holds."""
    return run.live.phase_seconds if run.live else {}


def _free_port(count: int) -> int:
    """A port with `count` free ports after it (serve uses port + 1 ... port + count for its web processes)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + count < 65535:
            return port
    raise SystemExit("error: no free port found")


def _settings(preset: str, pairs: list[str]) -> hparams.HParams:
    overrides: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --set takes NAME=VALUE, not {pair!r}")
        overrides[key.strip()] = value.strip()
    base = hparams.preset(preset).to_dict()
    return hparams.from_dict({**base, **overrides})


def _start_server(home: Path, executor: str, max_trainings: int | None, web_processes: int) -> subprocess.Popen:
    env = {**os.environ, "SENTIMENT_LAB_HOME": str(home), "SENTIMENT_LAB_EXECUTOR": executor}
    if max_trainings is not None:
        env["SENTIMENT_LAB_MAX_TRAININGS"] = str(max_trainings)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    log = open(home / "serve.log", "wb")  # noqa: SIM115 - kept open for the server's life
    return subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(_free_port(web_processes + 1)),
                             "--web-processes", str(web_processes)], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_trainer(server: subprocess.Popen, client: RunnerClient, home: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"error: serve exited ({server.returncode}):\n{(home / 'serve.log').read_text()[-3000:]}")
        try:
            client.runs()
            if "Teacher key" in (home / "serve.log").read_text(errors="replace"):
                return  # every web process is up too
        except Exception:  # noqa: BLE001 - not answering yet
            pass
        time.sleep(0.5)
    raise SystemExit("error: the trainer service did not answer within 180 s")


def _cpu_seconds(session: int) -> float:
    """CPU seconds used so far by every process of the server's session (trainer, web processes, a local Ray), with
    those of its children that have ended (a Ray worker after its task): a figure the machine's other load does not
    inflate as much as wall time."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # field 6 of stat: the session id
            total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def _forecast_error(forecast: dict[int, float | None], runs: list[RunRecord], t0: float) -> str:
    """The forecast for the run whose result came last, against when it came."""
    last = max(runs, key=lambda r: r.finished_at or 0)
    guess = forecast.get(last.id)
    return "none" if guess is None else f"{guess:.0f} s for {last.finished_at - t0:.0f} s"


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="dlwp", choices=sorted(hparams.PRESETS))
    parser.add_argument("-n", "--students", type=int, default=30)
    parser.add_argument("--executor", default="thread", choices=("thread", "ray"))
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting of the run")
    parser.add_argument("--max-trainings", type=int, default=None, help="SENTIMENT_LAB_MAX_TRAININGS for the server")
    parser.add_argument("--web-processes", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the last result")
    args = parser.parse_args()
    hp = _settings(args.preset, args.set)

    home = Path(tempfile.mkdtemp(prefix="lab-"))  # short: the trainer's socket path has a length limit
    server = _start_server(home, args.executor, args.max_trainings, args.web_processes)
    load_before = os.getloadavg()
    try:
        client = RunnerClient(RunStore(home), home / "trainer.sock")
        _wait_for_trainer(server, client, home)
        print(f"serve is up ({args.executor}); {args.students} students submit {args.preset} "
              f"{' '.join(args.set)}; load average before {load_before[0]:.2f}", flush=True)
        cpu0 = _cpu_seconds(server.pid)
        t0 = time.time()
        runs = [client.submit(hp, Actor(f"bench-student-{n:03d}", f"Student {n + 1}"))
                for n in range(args.students)]
        forecast = {}
        for run in runs:
            info = client.queue_info(run)
            forecast[run.id] = None if info is None else info.result_seconds
        later: dict[int, float] = {}  # the forecasts again, once the first results are in (seconds from t0)
        while True:
            snaps = [run.snapshot() for run in runs]
            if not any(s.active for s in snaps):
                break
            if not later and sum(s.status == "finished" for s in snaps) >= LATER_AFTER:
                now = time.time() - t0
                later = {i: now + result for i, (_, result) in client.forecasts().items()}
            if time.time() - t0 > args.timeout:
                raise SystemExit(f"error: not every run had ended after {args.timeout:.0f} s")
            time.sleep(0.5)
        load_after = os.getloadavg()
        cpu = _cpu_seconds(server.pid) - cpu0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

    print(f"{'run':>4} {'status':9} {'acc':>6} " + " ".join(f"{p:>10}" for p in PHASES)
          + f" {'result at':>9} {'forecast':>8} {'later':>6}")
    for s in sorted(snaps, key=lambda s: s.finished_at or 0):
        acc = f"{s.test_accuracy:.4f}" if s.test_accuracy is not None else "-"
        phases = " ".join(f"{_phases(s).get(p, 0.0):10.2f}" for p in PHASES)
        guess, again = forecast.get(s.id), later.get(s.id)
        print(f"{s.id:>4} {s.status:9} {acc:>6} {phases} {s.finished_at - t0:9.1f} "
              f"{'-' if guess is None else f'{guess:8.0f}'} {'-' if again is None else f'{again:6.0f}'}")
    ends = [s.finished_at - t0 for s in snaps]
    per_run = [sum(_phases(s).get(p, 0.0) for p in PHASES[:4]) for s in snaps]
    accs = [s.test_accuracy for s in snaps if s.test_accuracy is not None]
    failed = [s for s in snaps if s.status != "finished"]
    print(f"\n{args.preset} N={args.students} executor={args.executor}: first result {min(ends):.1f} s, "
          f"last result {max(ends):.1f} s ({_minutes(max(ends))}); per run (prepare to save) median "
          f"{statistics.median(per_run):.2f} s; test accuracy {min(accs, default=0):.4f}-{max(accs, default=0):.4f}; "
          f"{len(failed)} not finished; server CPU {cpu:.0f} s in all, {cpu / len(snaps):.1f} s per run; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} at the end")
    print(f"forecast of the last result: {_forecast_error(forecast, snaps, t0)} at submission; "
          f"{_forecast_error(later, snaps, t0)} once {LATER_AFTER} results were in")
    for s in failed:
        print(f"  run {s.id} {s.status}: {s.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

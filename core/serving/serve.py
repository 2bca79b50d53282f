"""`python -m core serve`: the lab for a whole class on one machine.

One Streamlit process runs every page script of its sessions under one interpreter lock, so a class of 60 waits
on itself however many cores the machine has. This starts the trainer service (one fair training queue, outside
the web processes), `--web-processes` Streamlit processes on local ports, and a relay on the public port that
keeps each browser on one of them (`core.serving.web_proxy`). Stopping it (Ctrl+C or SIGTERM) stops them all; a training
in progress is stopped and kept as a stopped run with its finished epochs.

A web process that dies is started again on its port (its browsers reconnect to a live one meanwhile); the lab
stops only when the trainer dies, since the class's queue and trainings live there. Every child is started with a
parent-death signal, so a `serve` killed outright (kill -9) takes its trainer and web processes with it instead of
leaving them on their ports.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core import concurrency, config
from core.classroom import people
from core.serving import trainer_wire, web_proxy
from core.errors import ConfigError, LabError

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0
MAX_WEB_PROCESSES = 16
MAX_SOCKET_PATH = 100  # Linux allows 107 bytes for a Unix socket's path
RESTART_GAP_S = 10.0  # a web process that keeps dying is started again at most this often
PR_SET_PDEATHSIG = 1


def _wait_until(ready, what: str, children: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        for child in children:
            if child.poll() is not None:
                raise LabError(f"The {what} exited with status {child.returncode} while starting; see its output "
                               "above.")
        if time.monotonic() > deadline:
            raise LabError(f"The {what} did not start within {START_TIMEOUT_S:.0f} s.")
        time.sleep(0.3)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
            return reply.read().strip() == b"ok"
    except OSError:
        return False


def _dies_with(parent: int):
    """A preexec_fn: the child gets SIGTERM when `parent` ends (Linux), and ends at once if it already has."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
    return arm


def _child(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            preexec_fn=_dies_with(os.getpid()))


def _web_process(port: int, env: dict[str, str]) -> subprocess.Popen:
    return _child([sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port),
                   "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats",
                   "false", "--server.maxUploadSize", str(_upload_limit_mb())], env)


def _upload_limit_mb() -> int:
    """Streamlit's own upload cap, the same as the lab's (SENTIMENT_LAB_MAX_UPLOAD_MB), in whole megabytes."""
    return max(1, -(-config.max_upload_bytes() // 2**20))


def _stop(children: list[subprocess.Popen]) -> None:
    """Web processes first, the trainer last (it stops a training in progress and records it)."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=90)
        except subprocess.TimeoutExpired:
            child.kill()


class _Watch:
    """The running children: web processes by port, and the trainer (always last in `children`)."""

    def __init__(self, ports: list[int], children: list[subprocess.Popen], env: dict[str, str]) -> None:
        self.ports, self.children, self.env = ports, children, env
        self.started = {port: time.monotonic() for port in ports}

    def check(self) -> bool:
        """Start again each web process that died (at most once per RESTART_GAP_S); False when the trainer died."""
        trainer = self.children[-1]
        if trainer.poll() is not None:
            print(f"error: the trainer service exited with status {trainer.returncode}; stopping the lab.",
                  file=sys.stderr, flush=True)
            return False
        for n, port in enumerate(self.ports):
            child = self.children[n]
            if child.poll() is None or time.monotonic() - self.started[port] < RESTART_GAP_S:
                continue
            print(f"warning: the web process on port {port} exited with status {child.returncode}; starting it "
                  "again (its browsers reconnect to the others meanwhile).", file=sys.stderr, flush=True)
            self.children[n] = _web_process(port, self.env)
            self.started[port] = time.monotonic()
        return True


async def _relay_until_stopped(address: str, port: int, watch: _Watch) -> int:
    server = await web_proxy.serve(address, port, watch.ports)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        while not stop.is_set():
            if not watch.check():
                return 1
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass
    return 0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def serve(port: int, web_processes: int, address: str = "") -> int:
    """Run the lab until stopped; 0 when stopped on request, 1 when the trainer died."""
    signal.signal(signal.SIGTERM, _interrupt)  # while starting: stop what has started (`finally` below)
    if not 1 <= web_processes <= MAX_WEB_PROCESSES:
        raise ConfigError(f"--web-processes must be 1 to {MAX_WEB_PROCESSES} (about one per CPU core).")
    if not 1 <= port <= 65535 - web_processes:
        raise ConfigError(f"--port must be 1 to {65535 - web_processes}.")
    home = config.lab_home()
    socket_path = home / "trainer.sock"
    if len(str(socket_path).encode()) > MAX_SOCKET_PATH:
        raise ConfigError(f"The lab home's path is too long for the trainer's socket (at most {MAX_SOCKET_PATH} "
                          f"bytes with /trainer.sock): point {config.HOME_ENV} at a shorter folder.")
    env = {**os.environ, config.HOME_ENV: str(home), trainer_wire.TRAINER_ENV: str(socket_path),
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # One secret for every web process, so a cookie signed by one is accepted by the others.
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_urlsafe(32))
    concurrency.share_cores(env)  # the trainer's trainings share the cores, one thread each on 2 cores
    ports = [port + 1 + n for n in range(web_processes)]
    trainer_wire.claim(socket_path)  # before anything starts: a lab already serving this home is refused
    children = [_child([sys.executable, "-m", "core", "trainer", "--socket", str(socket_path)], env)]
    try:
        _wait_until(socket_path.exists, "trainer service", children)
        children[:0] = [_web_process(p, env) for p in ports]
        for p in ports:
            _wait_until(lambda: _healthy(p), f"web process on port {p}", children)
        print(f"The lab is at http://localhost:{port} ({web_processes} web processes, one trainer; lab home {home})",
              flush=True)
        print(people.startup_line(home), flush=True)
        return asyncio.run(_relay_until_stopped(address, port, _Watch(ports, children, env)))
    finally:
        _stop(children)

"""Start the real Streamlit server for the browser tests, and stop it (its whole process group) afterwards."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_pids(pid: int) -> list[int]:
    """The processes `pid` started (every thread's children), from /proc."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its parent does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


class StreamlitServer:
    """`streamlit run app.py` on a free port, with the given data folder and a throw-away lab home."""

    def __init__(self, data_dir: Path, lab_home: Path, log_path: Path, port: int | None = None,
                 env: dict[str, str] | None = None, web_processes: int = 0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = Path(data_dir)
        self.lab_home = Path(lab_home)
        self.log_path = Path(log_path)
        self.env = dict(env or {})  # more settings for the server (e.g. the teacher key)
        self.web_processes = web_processes  # > 0: `python -m core serve` with this many web processes
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 60.0) -> "StreamlitServer":
        env = dict(os.environ)
        env.update(
            IMDB_DATA_DIR=str(self.data_dir),
            SENTIMENT_LAB_HOME=str(self.lab_home),
            TF_CPP_MIN_LOG_LEVEL="2",
            PYTHONUNBUFFERED="1",
            **self.env,
        )
        cmd = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.port", str(self.port), "--server.address", "127.0.0.1", "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
        ] if not self.web_processes else [
            sys.executable, "-m", "core", "serve", "--port", str(self.port), "--address", "127.0.0.1",
            "--web-processes", str(self.web_processes),
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode} before answering:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=5) as reply:
                    body = reply.read().decode().strip()
                if body == "ok":
                    return
                last = f"health said {body!r}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.5)
        raise TimeoutError(f"streamlit did not answer ok on {self.url}/_stcore/health in {timeout:.0f} s "
                           f"({last}):\n{self.log()}")

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            pgid = os.getpgid(self.proc.pid)
            os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "StreamlitServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def serving(tmp_path_factory, name: str, env: dict[str, str] | None = None,
            web_processes: int = 0) -> Iterator[StreamlitServer]:
    """A started server with the test data, a fresh lab home and a log folder named after `name`."""
    data_dir = Path(os.environ.get("IMDB_DATA_DIR") or REPO.parent / "shared" / "data")
    home = tmp_path_factory.mktemp(f"{name}-lab-home")
    logs = tmp_path_factory.mktemp(f"{name}-logs")
    with StreamlitServer(data_dir, home, logs / "streamlit.log", env=env, web_processes=web_processes) as srv:
        yield srv

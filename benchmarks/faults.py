"""Every fault and bad input of issue 9, tried against `python -m core` in a throw-away SENTIMENT_LAB_HOME.

For each case it prints the exit code, the seconds the command took, the first line of its message (the `error:`
line, or the first output line when it succeeded) and whether the user's data came through intact.

    IMDB_DATA_DIR=../shared/data python benchmarks/faults.py [--repo FOLDER]
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("IMDB_DATA_DIR") or REPO.parent / "shared" / "data").resolve()
TINY = ["--epochs", "1", "--limit", "300", "--val-size", "200"]


@dataclass
class Result:
    case: str
    rc: int
    seconds: float
    message: str
    intact: bool | None


def digest(path: Path) -> str:
    """A fingerprint of a file or of a whole folder (names and contents), to tell whether anything changed."""
    h = hashlib.sha256()
    if not path.exists():
        return "absent"
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        h.update(str(f.relative_to(path.parent)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


class Lab:
    """A throw-away lab home and data folder, and a way to run the CLI against them."""

    def __init__(self, root: Path, shared: Path, repo: Path) -> None:
        self.root = root
        self.shared = shared  # where the one tiny trained run lives, for every case that needs one
        self.repo = repo  # whose `core` is tried: this checkout, or an export of an older one (--repo)
        self.home = root / "lab"
        self.env = {**os.environ, "SENTIMENT_LAB_HOME": str(self.home), "IMDB_DATA_DIR": str(DATA),
                    "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(repo)}

    def cli(self, *args: str, stdin: str | None = None, **env: str) -> tuple[int, float, str, str]:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "core", *args], input=stdin, capture_output=True, text=True,
                              env={**self.env, **env}, cwd=self.repo)
        seconds = time.perf_counter() - started
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        tracebacks = "Traceback" in proc.stderr
        last = ([line for line in proc.stderr.splitlines() if line.strip()] or [""])[-1]
        first = (f"TRACEBACK ({last}) " if tracebacks else "") + (errors[0] if errors else
                                                                 (proc.stdout.splitlines() or [""])[0])
        return proc.returncode, seconds, first, proc.stdout

    def python(self, code: str) -> tuple[int, float, str, str]:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=self.env, cwd=self.repo)
        lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        return proc.returncode, time.perf_counter() - started, (lines[-1] if lines else ""), proc.stdout

    def trained(self, name: str = "base") -> Path:
        """A tiny finished run in its own --out folder (trained once, reused)."""
        out = self.shared / f"trained-{name}"
        if not (out / "model.keras").exists():
            rc, _, message, _ = self.cli("train", "--preset", "dlwp", *TINY, "--out", str(out))
            assert rc == 0, message
        return out

    def store_runs(self, n: int) -> Path:
        """n recorded runs with folders under runs/ (no training), the database checkpointed; returns its path."""
        code = (f"from core.store import RunStore; s = RunStore()\n"
                f"for _ in range({n}):\n"
                f"    r = s.create('dlwp', {{'preset': 'dlwp'}}); (s.runs_dir / str(r)).mkdir(parents=True)\n"
                f"    s.set_model_dir(r, s.runs_dir / str(r))")  # works with an older lab's store too
        subprocess.run([sys.executable, "-c", code], env=self.env, cwd=self.repo, check=True)
        path = self.home / "runs.sqlite3"
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for folder in (self.home / "runs").iterdir():  # what a finished run leaves in its folder
            (folder / "config.json").write_text(json.dumps({"preset": "dlwp", "architecture": "multihot_mlp"}))
            (folder / "history.json").write_text(json.dumps([{"epoch": 1, "loss": 0.5}]))
            (folder / "model.keras").write_bytes(f"the model of run {folder.name}".encode())
        return path


def npz_with(folder: Path, x_train: bytes) -> Path:
    """A data folder whose imdb.npz has the right names, with x_train as given (raw .npy bytes)."""
    folder.mkdir(parents=True)

    def npy(array: np.ndarray) -> bytes:
        buf = io.BytesIO()
        np.save(buf, array, allow_pickle=True)
        return buf.getvalue()

    reviews = np.empty(2, dtype=object)
    reviews[:] = [[1, 14, 22], [1, 5, 9]]
    with zipfile.ZipFile(folder / "imdb.npz", "w") as archive:
        for name, payload in (("x_train", x_train), ("y_train", npy(np.array([0, 1]))), ("x_test", npy(reviews)),
                              ("y_test", npy(np.array([0, 1])))):
            archive.writestr(name + ".npy", payload)
    (folder / "imdb_word_index.json").symlink_to(DATA / "imdb_word_index.json")
    return folder


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# --- the cases ----------------------------------------------------------------------------------------------------------
def delete_user_folder(lab: Lab) -> Result:
    thesis = lab.root / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("my work")
    before = digest(thesis)
    rc, s, msg, _ = lab.cli("train", "--preset", "dlwp", *TINY, "--out", str(thesis))
    if rc == 0:  # the run was allowed into the folder: delete it as the Runs page does
        lab.python("from core.classroom.people import CLI; from core.store import RunStore; s = RunStore(); "
                   "s.delete(s.list()[0].id, actor=CLI)")
    return Result("1 --out into a user's folder, then delete the run", rc, s, msg,
                  (thesis / "chapter1.tex").exists() and digest(thesis) == before)


def delete_legacy_record(lab: Lab) -> Result:
    thesis = lab.root / "thesis-old"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("my work")
    for name in ("model.keras", "config.json", "history.json"):
        (thesis / name).write_text("x")
    rc, s, msg, _ = lab.python(
        "from core.classroom.people import CLI; from core.store import RunStore; s = RunStore(); r = s.create('dlwp', {}); "
        f"s.set_model_dir(r, {str(thesis)!r}); s.finish(r, 'finished'); s.delete(r, actor=CLI); "
        "print('deleted run', r)")
    return Result("1 delete a run recorded (by an older lab) with a user's folder", rc, s, msg,
                  thesis.is_dir() and sorted(p.name for p in thesis.iterdir()) == ["chapter1.tex"])


def out_other_run(lab: Lab) -> Result:
    first = lab.trained()
    before = digest(first)
    rc, s, msg, _ = lab.cli("train", "--preset", "dlwp", *TINY, "--out", str(first))
    return Result("2 --out into another run's folder", rc, s, msg, digest(first) == before)


def database_damaged(how: str) -> Callable[[Lab], Result]:
    def case(lab: Lab) -> Result:
        path = lab.store_runs(3)
        whole = path.read_bytes()
        if how == "emptied":
            path.write_bytes(b"")
        elif how == "deleted":
            path.unlink()
        elif how == "garbage":
            path.write_bytes(os.urandom(len(whole)))
        else:
            path.write_bytes(whole[: len(whole) // 2])
        file_before, runs_before = digest(path), digest(lab.home / "runs")
        results = [lab.cli("runs"), lab.cli("train", "--preset", "dlwp", *TINY)]
        rc, s, msg, _ = max(results, key=lambda r: r[0] == 0)  # report a success if either command had one
        return Result(f"3 database {how} beside 3 run folders: runs, train", rc, s, msg,
                      digest(path) == file_before and digest(lab.home / "runs") == runs_before)
    return case


def rebuild(lab: Lab) -> Result:
    path = lab.store_runs(3)
    path.write_bytes(b"")
    before = digest(lab.home / "runs")
    rc, s, msg, _ = lab.cli("runs", "rebuild")
    listed = lab.cli("runs")[3]
    return Result("3 runs rebuild after the database was emptied", rc, s, msg,
                  len(listed.splitlines()) == 3 and digest(lab.home / "runs") == before)


def stuck_running(lab: Lab) -> Result:
    path = lab.store_runs(1)
    (lab.home / "runs" / "1" / ".model.partial.keras").write_text("half a model")
    with sqlite3.connect(path) as db:  # a restarted container: pid 1 again, but a different process
        db.execute("UPDATE runs SET status='running', pid=1, started_at=?", (time.time(),))
        if "process" in {row[1] for row in db.execute("PRAGMA table_info(runs)")}:
            db.execute("UPDATE runs SET process=?, heartbeat_at=NULL",
                       (f"{Path('/proc/sys/kernel/random/boot_id').read_text().strip()}:1",))
    rc, s, msg, out = lab.cli("runs")
    status = json.loads(out.splitlines()[0])["status"] if out.strip() else "(none listed)"
    return Result("4-5 run left 'running' by pid 1 of a restarted container", rc, s, f"status: {status}",
                  status == "interrupted" and not (lab.home / "runs" / "1" / ".model.partial.keras").exists())


def other_host(lab: Lab) -> Result:
    path = lab.store_runs(1)
    with sqlite3.connect(path) as db:  # a re-created container: another hostname, and no heartbeat for 10 minutes
        db.execute("UPDATE runs SET status='running', host='old-container', started_at=?", (time.time() - 600,))
        if "heartbeat_at" in {row[1] for row in db.execute("PRAGMA table_info(runs)")}:
            db.execute("UPDATE runs SET heartbeat_at=?", (time.time() - 600,))
    rc, s, msg, out = lab.cli("runs")
    status = json.loads(out.splitlines()[0])["status"] if out.strip() else "(none listed)"
    return Result("4 run left 'running' by a container that no longer exists", rc, s, f"status: {status}",
                  status == "interrupted")


def too_large(args: list[str], label: str, **env: str) -> Callable[[Lab], Result]:
    def case(lab: Lab) -> Result:
        if lab.repo != REPO:  # an older lab would really allocate it: not on a shared machine
            return Result(f"6 {label}", -1, 0.0, "not run: it would allocate many gigabytes", None)
        rc, s, msg, _ = lab.cli("train", *args, **env)
        return Result(f"6 {label}", rc, s, msg, None)
    return case


def setting(name: str, value: str) -> Callable[[Lab], Result]:
    def case(lab: Lab) -> Result:
        rc, s, msg, _ = lab.cli("train", "--preset", "dlwp", *TINY, **{name: value})
        return Result(f"8 {name}={value}", rc, s, msg, None)
    return case


def bad_npz(label: str, array: np.ndarray) -> Callable[[Lab], Result]:
    def case(lab: Lab) -> Result:
        folder = npz_with(lab.root / "data", npy_bytes(array))
        rc, s, msg, _ = lab.cli("info", IMDB_DATA_DIR=str(folder))
        return Result(f"9 imdb.npz with {label} inside", rc, s, msg, None)
    return case


def strings() -> np.ndarray:
    out = np.empty(2, dtype=object)
    out[:] = [["good", "film"], ["bad"]]
    return out


def bad_word_index(lab: Lab) -> Result:
    folder = lab.root / "data"
    folder.mkdir()
    (folder / "imdb.npz").symlink_to(DATA / "imdb.npz")
    (folder / "imdb_word_index.json").write_text(json.dumps({"the": 1, "film": "two"}))
    rc, s, msg, _ = lab.cli("info", IMDB_DATA_DIR=str(folder))
    return Result("9 word index with a rank that is not an integer", rc, s, msg, None)


def featurizer_mismatch(lab: Lab) -> Result:
    import shutil

    broken = lab.root / "edited"
    shutil.copytree(lab.trained(), broken)
    state = json.loads((broken / "featurizer.json").read_text())
    state["num_words"] //= 2
    (broken / "featurizer.json").write_text(json.dumps(state))
    rc, s, msg, _ = lab.cli("predict", "--model", str(broken), "a good film")
    return Result("9 featurizer.json that does not match model.keras", rc, s, msg, None)


def home_under_file(lab: Lab) -> Result:
    blocker = lab.root / "a-file"
    blocker.write_text("keep")
    rc, s, msg, _ = lab.cli("runs", SENTIMENT_LAB_HOME=str(blocker / "lab"))
    return Result("9 SENTIMENT_LAB_HOME under a regular file", rc, s, msg, blocker.read_text() == "keep")


def home_read_only(lab: Lab) -> Result:
    rc, s, msg, _ = lab.cli("runs", SENTIMENT_LAB_HOME="/sys")
    return Result("9 SENTIMENT_LAB_HOME on a read-only file system (/sys)", rc, s, msg, None)


def huge_id(lab: Lab) -> Result:
    lab.store_runs(1)
    rc, s, msg, _ = lab.cli("runs", "show", "1180591620717411303424")
    return Result("9 runs show 1180591620717411303424", rc, s, msg, None)


def out_under_file(lab: Lab) -> Result:
    blocker = lab.root / "a-file"
    blocker.write_text("keep")
    rc, s, msg, _ = lab.cli("train", "--preset", "dlwp", *TINY, "--out", str(blocker / "run"))
    return Result("9 --out under a regular file (seconds: refused before training?)", rc, s, msg,
                  blocker.read_text() == "keep")


def crafted_pickle(lab: Lab) -> Result:
    marker = lab.root / "pwned"
    header = io.BytesIO()
    template = np.empty(1, dtype=object)
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(template))
    evil = np.empty(1, dtype=object)
    evil[0] = Payload(marker)
    raw = b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + pickle.dumps(evil, protocol=3)
    folder = npz_with(lab.root / "data", raw)
    rc, s, msg, _ = lab.cli("info", IMDB_DATA_DIR=str(folder))
    return Result("11 imdb.npz whose pickle writes a marker file", rc, s, msg + f" [marker written: {marker.exists()}]",
                  not marker.exists())


CASES: list[Callable[[Lab], Result]] = [
    delete_user_folder, delete_legacy_record, out_other_run,
    database_damaged("emptied"), database_damaged("deleted"), database_damaged("garbage"),
    database_damaged("cut in half"), rebuild, stuck_running, other_host,
    too_large(["--preset", "mslearn", "--maxlen", "2500", "--embedding-dim", "512", "--units", "1024"],
              "mslearn maxlen 2500, embedding 512, units 1024"),
    too_large(["--preset", "mslearn", "--maxlen", "2500", "--embedding-dim", "512", "--batch-size", "4096"],
              "embedding model, batch 4096, maxlen 2500, dim 512"),
    too_large(["--preset", "dlwp", "--num-words", "88588", "--limit", "24900", "--val-size", "100"],
              "dlwp, whole vocabulary, 24,900 reviews (limit 4 GB)", SENTIMENT_LAB_MAX_TRAINING_GB="4"),
    setting("SENTIMENT_LAB_MAX_TRAININGS", "999999999"), setting("SENTIMENT_LAB_MAX_TRAININGS", "abc"),
    setting("SENTIMENT_LAB_MAX_TRAININGS", "0"), setting("SENTIMENT_LAB_MAX_TRAININGS", "-1"),
    bad_npz("lists of strings", strings()), bad_npz("plain integers", np.array([3, 4])), bad_word_index,
    featurizer_mismatch, home_under_file, home_read_only, huge_id, out_under_file, crafted_pickle,
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="try the `core` of another checkout, e.g. an export of main (`git archive main`)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faults-") as shared:
        print(f"{'case':<62} {'exit':>4} {'s':>5}  {'intact':<6} message")
        for case in CASES:
            with tempfile.TemporaryDirectory(prefix="fault-") as tmp:
                result = case(Lab(Path(tmp), Path(shared), args.repo.resolve()))
            intact = "-" if result.intact is None else ("yes" if result.intact else "NO")
            print(f"{result.case[:62]:<62} {result.rc:>4} {result.seconds:>5.1f}  {intact:<6} {result.message[:150]}",
                  flush=True)


if __name__ == "__main__":
    main()

"""Shared test setup: the real IMDB data from IMDB_DATA_DIR, a throw-away SENTIMENT_LAB_HOME, and one tiny trained run.

Nothing here mocks the lab's own code: fixtures load the real data and train real (tiny) models.

Tiers. `python -m pytest -q` is the quick tier (meant for at most 4 minutes on 2 cores; about 6 here, README "Test
it"): it trains real tiny models and renders every page with every preset. `python -m pytest -q --full` (what
`.ci/run` runs) adds the tests marked

- `e2e`: a real browser (Playwright + Chromium) on a real server;
- `ray`: a local Ray cluster;
- `serve`: `python -m core serve` or its trainer service in processes of their own;
- `slow`: anything else over about 5 s whose code path a quicker test already covers (a training in a
  subprocess, a second full-size import, a learning curve).

A new test lands in the quick tier unless it carries one of these marks (on the test, or `pytestmark` for a module);
`--strict-markers` refuses a misspelt one. Naming files or tests on the command line, or choosing with `-m`, runs
what is named whatever its tier. Keep quick tests quick with what this file and gate.py offer: `trained_run` (one
finished run per session) and `clone_run` (a copy of it for another owner or lab home) instead of training again;
`short_test_split()` for `Runner(dataset=...)` when a test does not read all 25,000 test scores; `GateExecutor`
(gate.py) through `Runner(executor=...)` when a test needs only a run that holds the trainer (queue, permissions,
stop); and the `core_main` fixture to run the CLI in this process for validation and message tests (a subprocess
only for what must hold before TensorFlow is imported, and one real run per command).
"""
from __future__ import annotations

import dataclasses
import io
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np
import pytest

if TYPE_CHECKING:
    from core.data.datasets import Dataset

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = (REPO / ".." / "shared" / "data").resolve()
DATA_FILES = ("imdb.npz", "imdb_word_index.json")

# Before anything imports TensorFlow: keep its C++ logging to errors only.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if not os.environ.get("IMDB_DATA_DIR", "").strip():
    os.environ["IMDB_DATA_DIR"] = str(DEFAULT_DATA_DIR)
DATA_DIR = Path(os.environ["IMDB_DATA_DIR"]).expanduser()

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _data_problem() -> str | None:
    missing = [name for name in DATA_FILES if not (DATA_DIR / name).is_file()]
    if not missing:
        return None
    return (
        f"The tests need the IMDB data on disk, but {DATA_DIR} has no {', '.join(missing)}. "
        f"Set IMDB_DATA_DIR to a folder holding {' and '.join(DATA_FILES)} "
        f"(by default the tests look in {DEFAULT_DATA_DIR})."
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    problem = _data_problem()
    if problem:
        raise pytest.UsageError(problem)


# --- tiers ------------------------------------------------------------------------------------------------------------
FULL_ONLY = ("e2e", "ray", "serve", "slow")  # marks of the tests only the full run (`--full`, CI) runs


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true",
                     help=f"the full run: also the tests marked {', '.join(FULL_ONLY)} (what .ci/run runs)")


def _quick_tier(config: pytest.Config) -> bool:
    """The quick tier applies to a plain run: not with --full, a -m expression, or files or tests named."""
    named = config.args_source == pytest.Config.ArgsSource.ARGS
    return not (config.getoption("--full") or config.getoption("markexpr") or named)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _quick_tier(config):
        return
    full = [item for item in items if any(item.get_closest_marker(mark) for mark in FULL_ONLY)]
    if full:
        config.hook.pytest_deselected(items=full)
        left = set(full)
        items[:] = [item for item in items if item not in left]
        config.stash[_LEFT_FOR_FULL] = len(full)


_LEFT_FOR_FULL = pytest.StashKey[int]()
MAX_WORKERS = 4  # each test process holds TensorFlow and the IMDB arrays (about 2 GB); more rarely pays here


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """A tier's tests spread over the cores (a test keeps about one busy); what is named on the command line runs in
    this process, without the workers' start-up."""
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return 0
    return max(1, min(len(os.sched_getaffinity(0)), MAX_WORKERS))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    left = config.stash.get(_LEFT_FOR_FULL, 0)
    if left:
        terminalreporter.write_line(f"quick tier: {left} tests marked {', '.join(FULL_ONLY)} were not run; "
                                    "`python -m pytest -q --full` runs every test (CI does).")


@pytest.fixture(scope="session", autouse=True)
def lab_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh SENTIMENT_LAB_HOME for the whole session: never the user's home, never inside the repository."""
    home = tmp_path_factory.mktemp("sentiment-lab-home")
    assert REPO not in home.resolve().parents, f"test lab home {home} must not be inside the repository"
    previous = os.environ.get("SENTIMENT_LAB_HOME")
    os.environ["SENTIMENT_LAB_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("SENTIMENT_LAB_HOME", None)
    else:
        os.environ["SENTIMENT_LAB_HOME"] = previous


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


@pytest.fixture(scope="session")
def corpus():
    from core.data.imdb import load_corpus

    return load_corpus()


@pytest.fixture(scope="session")
def vocabulary():
    from core.data.vocab import load_vocabulary

    return load_vocabulary()


@pytest.fixture(scope="session")
def run_store(lab_home: Path):
    from core.store import RunStore

    return RunStore(lab_home)


def short_test_split(reviews: int = 1000) -> Callable[[str], Dataset]:
    """A data-set loader for `Runner(dataset=...)` whose test split is the first `reviews` test reviews (the split is
    shuffled, so they are a fair sample): for runs whose tests do not read the whole split's scores. Scoring all
    25,000 IMDB test reviews is a good part of a tiny run; the lab itself always tests on the whole split."""
    from core.data import datasets
    from core.data.imdb import Corpus

    def load(name: str):
        whole = datasets.load(name)
        test = whole.corpus.test.take(np.arange(min(reviews, len(whole.corpus.test))))
        return dataclasses.replace(whole, corpus=Corpus(whole.corpus.train, test, whole.corpus.source))

    return load


def clone_run(source: Path, run_id: int, store, owner: str | None = "tests", owner_name: str | None = None) -> int:
    """A copy of finished run `run_id` of the lab home `source` as a new run of `store` (another lab home, or
    another owner): its record, epochs and run folder as the runner leaves them, without training it again.
    Returns the new run's id."""
    from core.store import RunStore

    record = RunStore(source).get(run_id)
    new = store.create(record.preset, record.config, owner, owner_name=owner_name)
    folder = store.claim_folder(new)
    shutil.copytree(record.model_dir, folder, dirs_exist_ok=True)
    if record.dataset_fingerprint:
        store.set_dataset_fingerprint(new, record.dataset_fingerprint)
    store.mark_running(new)
    for epoch in record.history:
        store.add_epoch(new, epoch, epoch.get("probes"))
    store.finish(new, record.status, train_seconds=record.train_seconds, test_accuracy=record.test_accuracy,
                 test_loss=record.test_loss, error=record.error)
    return new


@pytest.fixture()
def core_main(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch):
    """`python -m core ARGS` run in this process by `cli.main`, for validation and message tests: the same exit
    status and output as the command, without a new process importing TensorFlow again. Set environment values
    with monkeypatch first; `stdin` is what the command reads. Returns a CompletedProcess, as `subprocess.run`."""
    from core import cli

    def run(*args: str, stdin: str | bytes | None = None) -> subprocess.CompletedProcess:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data or b""), encoding="utf-8"))
        capsys.readouterr()
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["python", "-m", "core", *args], code, out, err)

    return run


@pytest.fixture(scope="session")
def train_run(run_store):
    """A function that trains a run (`dlwp` unless preset= says otherwise) through the real Runner and
    returns its final RunRecord (with its live state); `test_reviews=N` tests it on the first N test reviews only (`short_test_split`)."""
    from core import hparams
    from core.data import datasets
    from core.runner import Runner

    def train(preset: str = "dlwp", timeout: float = 600, test_reviews: int | None = None, **overrides):
        hp = hparams.make(preset, **overrides)
        loader = datasets.load if test_reviews is None else short_test_split(test_reviews)
        run = Runner(run_store, dataset=loader).submit(hp, owner="tests")
        snap = run.wait(timeout=timeout)
        assert snap.status == "finished", f"training did not finish: {snap.status} {snap.error}"
        return snap

    return train


@pytest.fixture(scope="session")
def trained_run(train_run):
    """A tiny finished `dlwp` run (2,000 reviews, 2 epochs), shared by every test that only reads it."""
    return train_run(limit=2000, val_size=500, epochs=2)


@pytest.fixture(scope="session")
def scoring_run(train_run):
    """A `dlwp` run trained a little more (4,000 reviews, 2 epochs): enough to rank clear reviews correctly."""
    return train_run(limit=4000, val_size=500, epochs=2)


@pytest.fixture(scope="session")
def cli_env(lab_home: Path) -> dict[str, str]:
    """The environment for `python -m core` subprocesses: the test data, the test lab home, quiet TensorFlow."""
    env = dict(os.environ)
    env.update(
        IMDB_DATA_DIR=str(DATA_DIR),
        SENTIMENT_LAB_HOME=str(lab_home),
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="session")
def transfer_run(train_run):
    """A tiny finished `transfer` run (1,000 reviews of at most 100 ids, 5,000 words, 2 epochs at batch 32)."""
    return train_run("transfer", limit=1000, val_size=500, epochs=2, maxlen=100, num_words=5000, batch_size=32,
                     learning_rate=0.01)


def _import_dataset(lab_home: Path, file_name: str, name: str):
    """A real labelled-text file of ../shared/data/text imported into the session's lab home (once per session)."""
    from core.data import datasets

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SENTIMENT_LAB_HOME", str(lab_home))
        if name not in datasets.names():
            datasets.add(DATA_DIR / "text" / file_name, name)
        return datasets.info(name)


@pytest.fixture(scope="session")
def tweets_dataset(lab_home: Path):
    """The airline tweets (3 classes: negative, neutral, positive) as data set `tweets`; its DatasetInfo."""
    return _import_dataset(lab_home, "Tweets.csv", "tweets")


@pytest.fixture(scope="session")
def amazon_dataset(lab_home: Path):
    """The UCI Amazon sentences (2 classes, labels "0" and "1", headerless TSV) as data set `amazon`; its
    DatasetInfo."""
    return _import_dataset(lab_home, "amazon_cells_labelled.txt", "amazon")


@pytest.fixture(scope="session")
def tweets_run(tweets_dataset, train_run):
    """A function: the finished run of `preset` trained on the tweets for 1 epoch on 3,000 of them (short
    sequences: tweets are short; a small LSTM, 16 units over 16-d embeddings, a third of the preset's time), trained
    once per preset and session."""
    runs = {}

    def run(preset: str = "dlwp"):
        if preset not in runs:
            extra = {} if preset in ("dlwp", "fast") else {"maxlen": 40}
            if preset == "lstm":
                extra.update(units=16, embedding_dim=16)
            runs[preset] = train_run(preset, dataset=tweets_dataset.name, limit=3000, val_size=500, epochs=1,
                                     **extra)
        return runs[preset]

    return run


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test of the session (Playwright's sync API allows one at a time)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"the browser tests need Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


TINY = {  # a few thousand reviews, one epoch: enough to load, score, explain and draw with each featuriser
    "dlwp": dict(limit=2000, val_size=300, epochs=1),
    "mslearn": dict(limit=2000, val_size=300, epochs=1, maxlen=100),
    "lstm": dict(limit=2000, val_size=300, epochs=1, maxlen=60, units=8, embedding_dim=8),
    "fast": dict(limit=2000, val_size=300, epochs=1),
    "transfer": dict(limit=2000, val_size=300, epochs=1, maxlen=100, num_words=5000),
}
PAGE_OWNER = "page-tests"  # the browser token under which the pages' own runner trained `every_preset_home`


@pytest.fixture(scope="session")
def every_preset_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A lab home with one tiny finished run of every preset, and each preset's run id, for the page tests.

    The runs are trained by the pages' own runner for that home (the one `pages.ui.runner()` caches for the
    server), under the browser token PAGE_OWNER, so the Train page shows them as that visitor's runs; the Runs,
    Predict and Pretrained pages read them from the store. Page tests that only read may use the home itself;
    those that change it work on a copy (`pagetest.copy_home`).
    """
    from core import hparams
    from pagetest import open_page

    assert set(TINY) == set(hparams.PRESETS), "a new preset needs its tiny training here"
    home = tmp_path_factory.mktemp("every-preset")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SENTIMENT_LAB_HOME", str(home))
        open_page("pages/home.py")  # imports pages.ui the way the server does, inside a script run
        from pages import ui

        runner, ids = ui.runner(), {}
        for preset in hparams.PRESETS:
            snap = runner.submit(hparams.make(preset, **TINY[preset]), owner=PAGE_OWNER).wait(timeout=600)
            assert snap.status == "finished", (preset, snap.error)
            ids[preset] = snap.id
    return home, ids


@pytest.fixture
def terminal_ctrl_c() -> Iterator[None]:
    """SIGINT as a command typed in a terminal has it (Python's KeyboardInterrupt), whatever the test process's own
    is (a CI job may run it with SIGINT ignored); put back after."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)

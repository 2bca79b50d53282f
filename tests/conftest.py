"""Shared test setup: the real IMDB data from IMDB_DATA_DIR, a throw-away SENTIMENT_LAB_HOME, and one tiny trained run.

Nothing here mocks the lab's own code: fixtures load the real data and train real (tiny) models.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

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
    from core.data import load_corpus

    return load_corpus()


@pytest.fixture(scope="session")
def vocabulary():
    from core.vocab import load_vocabulary

    return load_vocabulary()


@pytest.fixture(scope="session")
def run_store(lab_home: Path):
    from core.store import RunStore

    return RunStore(lab_home)


@pytest.fixture(scope="session")
def train_run(run_store):
    """A function that trains a run (`dlwp` unless preset= says otherwise) through the real Runner and
    returns its final Snapshot."""
    from core import hparams
    from core.runner import Runner

    def train(preset: str = "dlwp", timeout: float = 600, **overrides):
        hp = hparams.make(preset, **overrides)
        run = Runner(run_store).submit(hp, owner="tests")
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
    from core import datasets

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
    sequences: tweets are short), trained once per preset and session."""
    runs = {}

    def run(preset: str = "dlwp"):
        if preset not in runs:
            extra = {} if preset in ("dlwp", "fast") else {"maxlen": 40}
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

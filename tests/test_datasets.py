"""Importing labelled text through `python -m core datasets ...`, the data-set seam, and the atomic store.

Every source is a real file: the UCI sentences, the airline tweets, the Stanford archive, and Kaggle's
`IMDB Dataset.csv` rebuilt from that archive.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import _thread
from pathlib import Path

import numpy as np
import pytest

from core import features, hparams
from core.data import datasets, imdb, text_import
from core.classroom import guarded, permissions
from core.data.imdb import INDEX_FROM, OOV, START
from core.errors import DatasetError
from core.classroom.people import Actor, PermissionDenied
from kaggle_csv import ARCHIVE, write_kaggle_csv
from test_cli import assert_one_line_error, core_cli, json_lines
from test_runner import _wait_for

REPO = Path(__file__).resolve().parents[1]
TWEET_CLASSES = {"negative": 9178, "neutral": 3099, "positive": 2363}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A lab home of this test's own, for the CLI and for in-process calls alike."""
    path = tmp_path / "home"
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(path))
    return path


@pytest.fixture
def env(cli_env, home) -> dict[str, str]:
    return {**cli_env, "SENTIMENT_LAB_HOME": str(home)}


def add(env: dict[str, str], path: Path | str, *args: str) -> dict:
    proc = core_cli("datasets", "add", str(path), *args, env=env)
    assert proc.returncode == 0, proc.stderr
    (line,) = json_lines(proc.stdout)
    return line


@pytest.fixture(scope="module")
def kaggle_small(tmp_path_factory, data_dir) -> Path:
    """Kaggle's CSV shape, 1,000 reviews of each sentiment taken from the Stanford archive."""
    path = tmp_path_factory.mktemp("kaggle") / "IMDB Dataset.csv"
    assert write_kaggle_csv(data_dir / ARCHIVE, path, per_class=1000) == 2000
    return path


def folder_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --- each source through the CLI ---------------------------------------------------------------------------------------
def test_tweets_import_with_three_classes_and_a_stratified_split(env, data_dir):
    out = add(env, data_dir / "text" / "Tweets.csv")
    assert out["name"] == "Tweets" and out["labels"] == ["negative", "neutral", "positive"]
    report = out["report"]
    assert report["layout"]["text_column"] == "text" and report["layout"]["label_column"] == "airline_sentiment"
    assert report["layout"]["delimiter"] == "comma" and report["layout"]["header"] is True
    counts = report["class_counts"]
    assert {k: counts["train"][k] + counts["test"][k] for k in TWEET_CLASSES} == TWEET_CLASSES  # quoted newlines kept rows whole
    for label, total in TWEET_CLASSES.items():
        assert abs(counts["test"][label] - 0.2 * total) <= 1
    assert out["train_size"] + out["test_size"] == 14_640
    assert report["split"] == {"kind": "stratified", "test_size": 0.2, "seed": imdb.SEED}

    dataset = datasets.load("Tweets")
    assert dataset.info.to_dict() == {k: v for k, v in out.items() if k != "report"}
    assert "☺️👍" in dataset.vocabulary.word_to_rank  # emoji stay words, as Keras keeps them
    assert "virginamerica" in dataset.vocabulary.word_to_rank
    assert np.bincount(dataset.corpus.test.y).tolist() == list(counts["test"].values())


@pytest.mark.parametrize("name", ["amazon_cells_labelled", "imdb_labelled"])
def test_headerless_tab_sentences_import_without_quote_handling(env, data_dir, name):
    out = add(env, data_dir / "text" / f"{name}.txt")
    layout = out["report"]["layout"]
    assert (layout["delimiter"], layout["header"], layout["quoting"]) == ("tab", False, False)
    assert (layout["text_column"], layout["label_column"]) == ("column 1", "column 2")
    assert out["labels"] == ["0", "1"] and (out["train_size"], out["test_size"]) == (800, 200)
    assert out["report"]["class_counts"]["test"] == {"0": 100, "1": 100}


def test_amazon_quotes_stay_inside_their_sentence(data_dir):
    source = text_import.read(data_dir / "text" / "amazon_cells_labelled.txt")
    assert len(source.texts) == 1000
    assert 'The design is very odd, as the ear "clip" is not very comfortable at all.' in source.texts
    assert "Looks great and is strong.\"" in source.texts
    assert all("\t" not in t for t in source.texts) and set(source.labels) == {"0", "1"}


def test_kaggle_imdb_csv_imports_without_html_tags(env, kaggle_small):
    out = add(env, kaggle_small)
    assert out["name"] == "IMDB-Dataset" and out["labels"] == ["negative", "positive"]
    assert (out["report"]["layout"]["text_column"], out["report"]["layout"]["label_column"]) == ("review", "sentiment")
    assert (out["train_size"], out["test_size"]) == (1600, 400)
    vocabulary = datasets.load("IMDB-Dataset").vocabulary
    assert "br" not in vocabulary.word_to_rank and vocabulary.word(1) == "the"


@pytest.mark.slow
def test_stanford_archive_keeps_its_own_test_split(env, data_dir):
    out = add(env, data_dir / ARCHIVE, "--name", "aclImdb")
    assert out["labels"] == ["neg", "pos"] and (out["train_size"], out["test_size"]) == (25_000, 25_000)
    assert out["report"]["split"]["kind"] == "source"
    assert out["report"]["class_counts"] == {"train": {"neg": 12_500, "pos": 12_500},
                                            "test": {"neg": 12_500, "pos": 12_500}}
    dataset = datasets.load("aclImdb")
    # shuffled, so validation (the first training reviews) holds both classes
    assert 0.4 < dataset.corpus.train.y[:1000].mean() < 0.6
    assert dataset.corpus.source.describe() == "imported data set aclImdb"


def test_folder_of_label_folders_imports_and_splits(env, tmp_path, data_dir):
    source = text_import.read(data_dir / "text" / "imdb_labelled.txt")
    root = tmp_path / "reviews"
    for i, (text, label) in enumerate(zip(source.texts[:60], source.labels[:60])):
        folder = root / "train" / ("good" if label == "1" else "bad")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.txt").write_text(text, encoding="utf-8")
    (root / "README.txt").write_text("not a review")
    out = add(env, root)
    assert out["name"] == "reviews" and out["labels"] == ["bad", "good"]
    assert out["train_size"] + out["test_size"] == 60 and out["report"]["split"]["kind"] == "stratified"
    assert out["report"]["layout"]["kind"] == "folder"


def test_preview_shows_first_rows_columns_and_class_counts(env, data_dir):
    proc = core_cli("datasets", "preview", str(data_dir / "text" / "Tweets.csv"), "--rows", "3", env=env)
    assert proc.returncode == 0, proc.stderr
    (out,) = json_lines(proc.stdout)
    assert len(out["rows"]) == 3 and out["rows"][0][10] == "@VirginAmerica What @dhepburn said."
    assert out["class_counts"] == TWEET_CLASSES and out["rows_read"] == 14_640 and not out["has_test_split"]
    assert out["layout"]["columns"][1] == "airline_sentiment"
    assert not (Path(env["SENTIMENT_LAB_HOME"]) / "datasets").exists()  # a preview stores nothing


def test_overrides_choose_columns_delimiter_and_header(env, data_dir):
    out = add(env, data_dir / "text" / "Tweets.csv", "--name", "by-airline", "--label-column", "airline",
              "--text-column", "11", "--test-size", "0.25", "--delimiter", "comma", "--header")
    assert out["report"]["layout"]["label_column"] == "airline" and out["report"]["layout"]["text_column"] == "text"
    assert len(out["labels"]) == 6 and out["report"]["split"]["test_size"] == 0.25
    assert abs(out["test_size"] - 0.25 * 14_640) <= 6


def test_list_show_and_remove(env, home, data_dir):
    add(env, data_dir / "text" / "amazon_cells_labelled.txt", "--name", "amazon")
    listed = json_lines(core_cli("datasets", "list", env=env).stdout)
    assert [d["name"] for d in listed] == ["imdb", "amazon"]
    assert listed[0]["labels"] == ["negative", "positive"] and listed[0]["max_id"] == 88_587
    shown = json_lines(core_cli("datasets", "show", "amazon", env=env).stdout)[0]
    assert shown["report"]["file"] == "amazon_cells_labelled.txt" and shown["train_size"] == 800
    proc = core_cli("datasets", "remove", "amazon", env=env)
    assert proc.returncode == 0 and json_lines(proc.stdout) == [{"removed": "amazon"}]
    assert list((home / "datasets").iterdir()) == []
    assert_one_line_error(core_cli("datasets", "show", "amazon", env=env), "No data set named 'amazon'")
    assert_one_line_error(core_cli("datasets", "remove", "imdb", env=env), "built-in", "cannot be removed")


# --- the seam: IMDB and imported sets alike -----------------------------------------------------------------------------
def test_imdb_is_the_default_data_set_and_reads_as_today(corpus, vocabulary):
    imdb = datasets.load()
    assert imdb.corpus is corpus and imdb.vocabulary is vocabulary
    info = datasets.info()
    assert info.name == "imdb" and info.labels == ("negative", "positive") and info.num_classes == 2
    assert (info.train_size, info.test_size, info.vocab_size) == (25_000, 25_000, 88_584)
    assert info.max_id == hparams.MAX_WORD_ID == int(max(corpus.train.x.ids.max(), corpus.test.x.ids.max()))
    assert info.fingerprint == datasets.fingerprint(corpus, vocabulary.word_to_rank, info.labels)
    assert datasets.names()[0] == "imdb"


def test_imported_corpus_feeds_todays_featurisers_and_a_keras_fit(home, data_dir):
    datasets.add(data_dir / "text" / "imdb_labelled.txt", "sentences")
    dataset = datasets.load("sentences")
    corpus, info = dataset.corpus, dataset.info
    assert isinstance(corpus, imdb.Corpus) and corpus.train.y.dtype == np.int8
    assert corpus.train.x.ids.dtype == np.int32 and corpus.train.x.offsets.dtype == np.int64
    assert int(corpus.train.x.ids.max()) == info.max_id == info.vocab_size + INDEX_FROM
    assert all(corpus.train.x[i][0] == START for i in range(len(corpus.train)))
    assert OOV in corpus.test.x.ids  # words only the test split uses are unknown
    # Explore's decoded view: `>` start, words back, `?` unknown
    first = dataset.vocabulary.decode(corpus.train.x[0])
    assert first.startswith("> ") and "?" not in first.split()

    hp = hparams.make("dlwp", num_words=min(10_000, info.max_id + 1), epochs=1)
    featurizer = features.for_hparams(hp)
    featurizer.fit(corpus.train.x, corpus.train.y)
    x_train = featurizer.transform(corpus.train.x)
    assert x_train.shape == (800, info.max_id + 1)
    assert features.Sequences(hp.num_words, 50).transform(corpus.test.x).shape == (200, 50)

    from core import models

    model = models.compile_model(models.build(hp, featurizer), hp)
    history = model.fit(x_train, corpus.train.y, epochs=1, batch_size=128, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(featurizer.transform(corpus.test.x), verbose=0).shape == (200, 1)


def test_same_content_same_fingerprint_and_damage_is_caught(home, data_dir):
    path = data_dir / "text" / "amazon_cells_labelled.txt"
    first, second = datasets.add(path, "one"), datasets.add(path, "two")
    assert first.info.fingerprint == second.info.fingerprint
    stored = home / "datasets" / "two" / datasets.DATA
    arrays = dict(np.load(stored))
    arrays["train_y"] = 1 - arrays["train_y"]
    np.savez(stored, **arrays)
    with pytest.raises(DatasetError, match="'two' is damaged .*fingerprint"):
        datasets.load("two")
    assert datasets.load("one").info == first.info
    (home / "datasets" / "one" / datasets.META).write_text("{not json")
    with pytest.raises(DatasetError, match="'one' is damaged .*meta.json is unreadable"):
        datasets.info("one")
    datasets.remove("one")  # the remedy the message gives works on a damaged data set
    datasets.remove("two")
    assert datasets.names() == ["imdb"]


def test_stored_files_hold_no_pickles(home, data_dir):
    datasets.add(data_dir / "text" / "amazon_cells_labelled.txt", "plain")
    folder = home / "datasets" / "plain"
    assert sorted(p.name for p in folder.iterdir()) == sorted([datasets.META, datasets.WORDS, datasets.DATA])
    with np.load(folder / datasets.DATA, allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)


def as_from_a_terminal() -> None:
    """Ctrl-C reaches a command typed in a terminal: undo a SIGINT that the test worker ignores or blocks, which
    the child would inherit and which would let the import run to its end."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def reading(proc: subprocess.Popen, path: Path) -> bool:
    """Whether `proc` has `path` open once it runs its own command: between fork and exec the child is a copy of
    this test process, with whatever this process holds open (a signal sent then is lost in the exec)."""
    try:
        own = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")[:-1] == [os.fsencode(a) for a in proc.args]
        return own and any(os.readlink(fd) == str(path.resolve()) for fd in Path(f"/proc/{proc.pid}/fd").iterdir())
    except OSError:
        return False


def proc_status(pid: int) -> dict[str, str]:
    """The kernel's /proc/<pid>/status fields (State, SigBlk, SigIgn, SigCgt, ...)."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def catches_ctrl_c(status: dict[str, str]) -> bool:
    """Whether SIGINT reaches the process's handler: caught, and neither ignored nor blocked."""
    bit = 1 << (signal.SIGINT - 1)
    return bool(int(status["SigCgt"], 16) & bit) and not (int(status["SigIgn"], 16) | int(status["SigBlk"], 16)) & bit


# --- atomic writes ------------------------------------------------------------------------------------------------------
def test_an_interrupted_import_leaves_nothing_and_spares_other_data_sets(env, home, data_dir):
    add(env, data_dir / "text" / "amazon_cells_labelled.txt", "--name", "kept")
    before = folder_digest(home / "datasets" / "kept")
    proc = subprocess.Popen([sys.executable, "-m", "core", "datasets", "add", str(data_dir / ARCHIVE), "--name", "cut"],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)
    _wait_for(lambda: reading(proc, data_dir / ARCHIVE), 60, "the import to open the archive", poll=0.05)
    status = proc_status(proc.pid)
    assert catches_ctrl_c(status), ("the import would not see Ctrl-C:",
                                     {key: status[key] for key in ("SigBlk", "SigIgn", "SigCgt")})
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "error: interrupted"
    assert sorted(p.name for p in (home / "datasets").iterdir()) == ["kept"]
    assert folder_digest(home / "datasets" / "kept") == before


def test_ctrl_c_while_an_archive_member_closes_stops_the_import(data_dir, monkeypatch, terminal_ctrl_c):
    """Python's io drops whatever a file's close raises when the garbage collector closes it: the import closes each
    member of an archive itself, so a Ctrl-C that lands in that close still stops it."""
    close = tarfile._FileInFile.close

    def ctrl_c_then_close(self) -> None:
        _thread.interrupt_main()  # Ctrl-C, as it arrives while the member closes
        close(self)  # a Python call: where the interrupt is raised

    monkeypatch.setattr(tarfile._FileInFile, "close", ctrl_c_then_close)
    with pytest.raises(KeyboardInterrupt):
        text_import.read(data_dir / ARCHIVE)


def test_a_killed_imports_temporary_folder_is_swept_and_never_listed(env, home, data_dir):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = home / "datasets" / f"{datasets.TEMP_PREFIX}gone-{dead.pid}-0123abcd"
    leftover.mkdir(parents=True)
    (leftover / datasets.DATA).write_bytes(b"half written")
    assert datasets.names() == ["imdb"]
    add(env, data_dir / "text" / "imdb_labelled.txt", "--name", "next")
    assert sorted(p.name for p in (home / "datasets").iterdir()) == ["next"]


def test_a_failed_import_of_an_existing_name_changes_nothing(env, home, data_dir):
    add(env, data_dir / "text" / "imdb_labelled.txt", "--name", "taken")
    before = folder_digest(home / "datasets" / "taken")
    proc = core_cli("datasets", "add", str(data_dir / "text" / "Tweets.csv"), "--name", "taken", env=env)
    assert_one_line_error(proc, "'taken' already exists")
    assert proc.returncode == 2
    assert folder_digest(home / "datasets" / "taken") == before
    assert sorted(p.name for p in (home / "datasets").iterdir()) == ["taken"]


# --- owners: the importer or the teacher removes or replaces a data set -------------------------------------------------
ADA = Actor("ada-browser-token-0001", "Ada")
BO = Actor("bo-browser-token-00002", "Bo")
TEACHER = Actor("teacher-browser-00003", "Ms T", is_teacher=True)


def test_a_students_data_set_is_removed_only_by_them_or_the_teacher(home, data_dir):
    datasets.add(data_dir / "text" / "amazon_cells_labelled.txt", "adas", by=guarded.importer(ADA))
    datasets.add(data_dir / "text" / "amazon_cells_labelled.txt", "spare", by=guarded.importer(ADA))
    assert datasets.ownership("adas") == datasets.Ownership(ADA.token, "Ada")
    with pytest.raises(PermissionDenied, match="'adas' belongs to Ada: only whoever imported it or the teacher can "
                                               "remove it"):
        datasets.remove("adas", by=guarded.importer(BO))
    with pytest.raises(PermissionDenied, match="belongs to Ada: .* can replace it"):
        datasets.add(data_dir / "text" / "imdb_labelled.txt", "adas", by=guarded.importer(BO), replace=True)
    assert datasets.info("adas").source.startswith("amazon_cells_labelled.txt")
    datasets.remove("adas", by=guarded.importer(ADA))
    datasets.remove("spare", by=guarded.importer(TEACHER))
    assert datasets.names() == ["imdb"]


def test_cli_imports_and_data_sets_without_an_owner_are_the_teachers(env, home, data_dir):
    add(env, data_dir / "text" / "amazon_cells_labelled.txt", "--name", "class-set")
    assert permissions.owner_label(datasets.ownership("class-set")) == "the teacher"
    meta = home / "datasets" / "class-set" / datasets.META
    old = json.loads(meta.read_text())
    del old["owner"], old["owner_name"]  # imported before data sets had owners
    meta.write_text(json.dumps(old))
    assert datasets.ownership("class-set") == datasets.Ownership()
    with pytest.raises(PermissionDenied, match="belongs to the teacher"):
        datasets.remove("class-set", by=guarded.importer(ADA))
    listed = json_lines(core_cli("datasets", "list", env=env).stdout)
    assert [d["owner"] for d in listed] == ["built in", "the teacher"]
    replaced = add(env, data_dir / "text" / "imdb_labelled.txt", "--name", "class-set", "--replace")
    assert replaced["source"].startswith("imdb_labelled.txt")
    assert_one_line_error(core_cli("datasets", "add", str(data_dir / "text" / "imdb_labelled.txt"), "--name",
                                   "class-set", env=env), "already exists", "replace it")


def test_the_class_settings_decide_whether_students_import_and_how_much(home, data_dir, monkeypatch):
    sentences = data_dir / "text" / "amazon_cells_labelled.txt"
    permissions.save_class_settings(TEACHER, student_imports=False)
    with pytest.raises(PermissionDenied, match="turned off importing data sets for students"):
        datasets.add(sentences, "nope", by=guarded.importer(ADA))
    datasets.add(sentences, "teachers", by=guarded.importer(TEACHER))  # the teacher always may
    permissions.save_class_settings(TEACHER, student_imports=True)
    first = datasets.add(sentences, "first", by=guarded.importer(ADA))
    used = datasets.owned_bytes(ADA.token)
    assert used > 0 and datasets.owned_bytes(BO.token) == 0
    monkeypatch.setenv("SENTIMENT_LAB_MAX_STUDENT_DATASETS_MB", str(1.5 * used / 2**20))
    with pytest.raises(PermissionDenied, match=r"over the .* MB each student may import "
                                               r"\(SENTIMENT_LAB_MAX_STUDENT_DATASETS_MB"):
        datasets.add(sentences, "second", by=guarded.importer(ADA))
    assert datasets.names() == ["imdb", "first", "teachers"], "nothing of the refused import is left"
    again = datasets.add(sentences, "first", by=guarded.importer(ADA), replace=True)  # her own, replaced: the same space
    assert again.info.fingerprint == first.info.fingerprint
    datasets.add(sentences, "bos", by=guarded.importer(BO))  # each student has their own space


def test_two_imports_of_one_name_at_once_leave_one_whole_data_set(home, data_dir):
    """Two browsers press Import together: one data set is stored, the other import is told the name is taken."""
    import threading

    sources = [data_dir / "text" / "amazon_cells_labelled.txt", data_dir / "text" / "imdb_labelled.txt"]
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def press(path: Path, who: Actor) -> None:
        start.wait()
        try:
            outcomes.append(datasets.add(path, "shared", by=guarded.importer(who)))
        except DatasetError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=press, args=pair) for pair in zip(sources, (ADA, BO))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    (won,) = [o for o in outcomes if isinstance(o, datasets.Imported)]
    (lost,) = [o for o in outcomes if isinstance(o, str)]
    assert lost.startswith("A data set named 'shared' already exists; choose another name")
    assert datasets.load("shared").info == won.info, "the stored data set is the winner's, whole"
    assert sorted(p.name for p in (home / "datasets").iterdir()) == ["shared"], "no temporary folder is left"


def test_the_cli_does_not_remove_a_data_set_a_queued_run_needs(env, home, data_dir):
    from core.store import RunStore

    add(env, data_dir / "text" / "amazon_cells_labelled.txt", "--name", "phones")
    store = RunStore(home)
    queued = store.create("dlwp", {"preset": "dlwp", "dataset": "phones"}, owner=ADA.token)
    assert_one_line_error(core_cli("datasets", "remove", "phones", env=env),
                          f"run #{queued} is queued or training on it")
    store.finish(queued, "stopped")
    assert core_cli("datasets", "remove", "phones", env=env).returncode == 0

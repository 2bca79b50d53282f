"""`python -m core`: the engine without a browser. Output is JSON lines; bad input is one line on stderr, exit 2."""
from __future__ import annotations

import argparse
import gc
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from core.cli import interrupt
from core.cli.output import emit
from core.errors import LabError
from core.hparams import DEFAULT_DATASET, PARAMS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _info(args: argparse.Namespace) -> int:
    from core.data import imdb

    corpus = imdb.load_corpus()
    words, _ = imdb.load_word_index()
    emit({
        "source": corpus.source.kind,
        "location": corpus.source.location,
        "train_reviews": len(corpus.train),
        "test_reviews": len(corpus.test),
        "train_positive": int(corpus.train.y.sum()),
        "test_positive": int(corpus.test.y.sum()),
        "words_in_index": len(words),
    })
    return 0


OVERRIDES = tuple(PARAMS)  # every setting of every architecture is a flag


def _import_keras() -> None:
    """Import Keras without scikit-learn and without garbage collection, which together cost 2.8 of the 24 CPU
    seconds of `train --preset fast`.

    Keras imports scikit-learn, when it is installed, for its scikit-learn wrappers alone, which the lab never uses
    (1.2-1.6 CPU s); only this import is kept from it, and a later `import sklearn` works as usual. The import
    makes some 340,000 objects that live as long as the process, and the collections they trigger, which walk all
    of them, took 1.7 CPU s while holding the interpreter lock the featurising thread needs; `gc.freeze` keeps
    later collections from walking them again.
    """
    blocked, collecting = "sklearn" not in sys.modules, gc.isenabled()
    if blocked:
        sys.modules["sklearn"] = None  # type: ignore[assignment] - `import sklearn` raises ImportError meanwhile
    gc.disable()
    try:
        import keras  # noqa: F401
    finally:
        if blocked and "sklearn" in sys.modules and sys.modules["sklearn"] is None:
            del sys.modules["sklearn"]
        gc.freeze()
        if collecting:
            gc.enable()


def _train(args: argparse.Namespace) -> int:
    from core import architectures, config, estimate, evaluation, hparams, memory
    from core.data import datasets
    from core.store import RunStore

    # Everything that can be refused is checked before Keras and TensorFlow are imported: a bad command answers
    # at once, with only its error line.
    hp = hparams.make(args.preset, dataset=args.dataset,
                      **{k: getattr(args, k) for k in OVERRIDES if getattr(args, k) is not None})
    memory.refuse_too_large(hp)
    config.training_nice()
    config.max_concurrent_trainings()
    scarce = datasets.too_little_for(hp.dataset)
    if scarce:
        print(f"warning: {scarce}", file=sys.stderr)
    check = architectures.get(hp.architecture).preflight
    for level, text in check(hp) if check else []:  # refuses (LabError) when the architecture cannot train
        print(f"{level}: {text}", file=sys.stderr)
    store = RunStore()
    estimate.refuse_too_long(hp, store.list(with_history=True))
    out = Path(args.out).expanduser() if args.out else None
    if out is not None:
        store.check_folder(out)

    from core.runner import Runner

    run = Runner(store).submit(hp, owner="cli", probes=(), out_dir=out)
    _import_keras()  # TensorFlow loads (seconds) while the run reads and featurises the data

    printed = 0
    while True:
        snap = run.wait(timeout=0.2)
        for epoch in snap.history[printed:]:
            emit(epoch)
        printed = len(snap.history)
        if not snap.active:
            break
    if snap.status == "failed":
        raise LabError(f"Training failed: {snap.error}")
    if snap.error:  # stopped before an epoch ended, or finished but not recorded yet: worth a line
        print(f"warning: {snap.error}", file=sys.stderr, flush=True)
    emit({
        "run_id": snap.id,
        "preset": hp.preset,
        "dataset": hp.dataset,
        "status": snap.status,
        "epochs": len(snap.history),
        "stopped_because": evaluation.stop_reason(snap.history, hp.epochs, hp.patience, snap.status == "stopped"),
        "test_accuracy": snap.test_accuracy,
        "test_loss": snap.test_loss,
        "train_seconds": round(snap.train_seconds or 0.0, 3),
        "phase_seconds": snap.live.phase_seconds,
        "model_path": snap.model_dir,
        **_baseline(snap),
        **_class_results(hp.dataset, snap.model_dir),
    })
    return 0


def _baseline(snap: Any) -> dict[str, Any]:
    """The reference figures of the run's split beside its test accuracy, and a warning when it is no better."""
    from core import baseline
    from core.data import datasets

    labels = datasets.class_names_of(snap.live.hp.dataset)
    warning = baseline.comparison(snap.test_accuracy, snap.baseline, labels)
    return {"majority_accuracy": snap.baseline.majority_accuracy if snap.baseline else None,
            "baseline_accuracy": snap.baseline.tfidf_accuracy if snap.baseline else None,
            "baseline": baseline.line(snap.baseline, labels),
            **({"warning": warning} if warning else {})}


def _class_results(name: str, model_dir: str | None) -> dict[str, Any]:
    """For 3+ classes: each class's precision, recall and support, and the confusion matrix (rows: true class)."""
    from core import evaluation
    from core.data import datasets

    dataset = datasets.load(name)
    if model_dir is None or dataset.info.num_classes < 3:
        return {}
    test = dataset.corpus.test
    report = evaluation.class_report(test.y, evaluation.load_test_scores(model_dir, len(test)),
                                     dataset.info.class_names)
    return {"per_class": [asdict(c) for c in report.per_class], "confusion": report.confusion}


def _predict(args: argparse.Namespace) -> int:
    from core.predict import InputLine, Scorer, read_lines

    lines = [InputLine(t) for t in args.text] if args.text else read_lines(sys.stdin.buffer.read())
    if not lines:
        raise LabError("No text to score: pass TEXT arguments or lines on standard input.")
    scorers = [(folder, Scorer(folder)) for folder in args.model]  # every model loads before any line is printed
    verdicts = [scorer.verdicts([line.text for line in lines]) for _, scorer in scorers]
    for n, line in enumerate(lines):  # with several models, one line per text and model, the text's lines together
        for (folder, scorer), verdict in zip(scorers, (row[n] for row in verdicts)):
            emit({**({"model": folder} if len(scorers) > 1 else {}), **_scored(line, scorer, verdict)})
    return 0


def _scored(line, scorer, verdict) -> dict[str, Any]:
    """One text's JSON line from one model."""
    imported = scorer.hp.dataset != DEFAULT_DATASET
    notes = [note for note in (line.note, verdict.note) if note]
    classes = {"class": verdict.leaning, "probabilities": dict(zip(scorer.labels, (round(p, 6) for p in
                                                                               verdict.probabilities)))}
    return {"text": line.text, "score": round(verdict.score, 6), "verdict": verdict.label,
            **({"dataset": scorer.hp.dataset, **classes} if imported else {}),
            **({"note": "; ".join(notes)} if notes else {})}


def _run_folder(value: str) -> Path:
    """A run given as its number ("12" or "#12", from the run store) or as its folder."""
    text = value.strip().removeprefix("#")
    if text.isdecimal() and len(text) <= 18:
        from core.store import RunStore

        record = RunStore().get(int(text))
        if not record.model_dir:
            raise LabError(f"Run #{record.id} has no model folder: it is {record.status}.")
        return Path(record.model_dir)
    return Path(value).expanduser()


def _export(args: argparse.Namespace) -> int:
    from core import raw_text_model

    out = raw_text_model.export(_run_folder(args.run), args.out)
    emit({"run": args.run, "file": str(out), "bytes": out.stat().st_size})
    return 0


def _runs(args: argparse.Namespace) -> int:
    from core import store as run_store
    from core.store import RunStore

    if args.action == "rebuild":
        store, added, aside, skipped = run_store.rebuild()
        for folder, why in skipped:
            print(f"skipped {folder}: {why}", file=sys.stderr)
        emit({"database": str(store.path), "runs_added": added, "broken_file_moved_to": str(aside) if aside else None,
               "folders_skipped": [{"folder": str(folder), "why": why} for folder, why in skipped],
               "runs": len(store.list())})
        return 0
    store = RunStore()
    if args.action == "show":
        if args.id is None:
            raise LabError("Usage: python -m core runs show ID")
        emit(_shown(store.get(args.id)))
        return 0
    for record in store.list():
        item = _shown(record)
        item.pop("history")
        emit(item)
    return 0


def _shown(record: Any) -> dict[str, Any]:
    """A stored run as `runs` prints it: its fields (it has no live state here) and its best validation accuracy."""
    item = record.to_dict()
    item.pop("live")
    return {**item, "best_val_accuracy": record.best_val_accuracy}


def _serve(args: argparse.Namespace) -> int:
    from core.serving import serve

    return serve.serve(args.port, args.web_processes, args.address)


def _trainer(args: argparse.Namespace) -> int:
    from core.serving import trainer_service

    return trainer_service.run_until_stopped(Path(args.socket))


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one `error:` line too, not argparse's usage block."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def parser() -> argparse.ArgumentParser:
    from core.hparams import PARAMS, PRESETS

    top = _Parser(prog="python -m core", description="IMDB Sentiment Lab engine")
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="where the data comes from, and its counts").set_defaults(func=_info)
    train = sub.add_parser("train", help="train a preset, printing one JSON line per epoch")
    train.add_argument("--preset", required=True, help=f"one of {', '.join(PRESETS)}")
    train.add_argument("--dataset", help="the data set to train on (default imdb; see `datasets list`)")
    for name in OVERRIDES:
        param = PARAMS[name]
        kind = str if param.choices else param.kind
        train.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, help=f"{param.label}: {param.range_text()}")
    train.add_argument("--out", help="run folder for the model (default: under SENTIMENT_LAB_HOME)")
    train.set_defaults(func=_train)
    predict = sub.add_parser("predict", help="score texts with a saved run")
    predict.add_argument("--model", required=True, action="append",
                         help="a run folder; repeat it to compare models (one line per text and model)")
    predict.add_argument("text", nargs="*", help="texts to score (default: lines of standard input)")
    predict.set_defaults(func=_predict)
    export = sub.add_parser("export", help="write a run's model as one .keras file that reads raw text in plain Keras")
    export.add_argument("run", help="a run number (see `runs`) or a run folder")
    export.add_argument("--out", required=True, help="the .keras file to write")
    export.set_defaults(func=_export)
    runs = sub.add_parser("runs", help="list runs, `runs show ID`, or `runs rebuild` (index the run folders again)")
    runs.add_argument("action", nargs="?", choices=("list", "show", "rebuild"), default="list")
    runs.add_argument("id", nargs="?", type=int)
    runs.set_defaults(func=_runs)
    serve = sub.add_parser("serve", help="serve a class: several web processes and one trainer behind one port")
    serve.add_argument("--port", type=int, default=8501, help="the address's port (default 8501)")
    serve.add_argument("--address", default="", help="the interface to listen on (default: all)")
    serve.add_argument("--web-processes", type=int, default=max(2, os.cpu_count() or 1) + 1,
                       help="Streamlit processes serving pages (default: CPU cores + 1, at least 3)")
    serve.set_defaults(func=_serve)
    trainer = sub.add_parser("trainer", help="the training queue of `serve`, on a Unix socket (started by serve)")
    trainer.add_argument("--socket", required=True, help="the socket to listen on")
    trainer.set_defaults(func=_trainer)
    from core.cli.datasets import add_commands

    add_commands(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        interrupt.caught()
        print("error: interrupted", file=sys.stderr)
        return 130

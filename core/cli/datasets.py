"""`python -m core datasets add|preview|list|show|remove`: import and manage labelled-text data sets from a shell."""
from __future__ import annotations

import argparse
import sys

from core.data import datasets, text_import, text_source
from core.errors import DatasetError, LabError
from core.cli.output import emit
from core.classroom import guarded, permissions
from core.classroom.people import CLI  # the command line acts as the teacher: its imports are the teacher's


def _options(args: argparse.Namespace) -> text_source.ReadOptions:
    return text_source.ReadOptions(args.delimiter, args.header, args.text_column, args.label_column)


def _add(args: argparse.Namespace) -> int:
    names = datasets.parse_class_names(args.label_names) if args.label_names else None
    imported = datasets.add(args.path, args.name, _options(args), args.test_size, by=guarded.importer(CLI),
                            replace=args.replace, class_names=names)
    emit({**imported.info.to_dict(), "report": imported.report.to_dict()})
    if imported.report.too_little:
        print(f"warning: {imported.report.too_little}", file=sys.stderr)
    return 0


def _preview(args: argparse.Namespace) -> int:
    emit(text_import.preview(args.path, _options(args), rows=args.rows).to_dict())
    return 0


def _list(args: argparse.Namespace) -> int:
    for name in datasets.names():
        try:
            owner = "built in" if name == datasets.DEFAULT else permissions.owner_label(datasets.ownership(name))
            emit({**datasets.info(name).to_dict(), "owner": owner})
        except DatasetError as exc:  # one damaged data set must not hide the others
            emit({"name": name, "error": str(exc)})
    return 0


def _show(args: argparse.Namespace) -> int:
    info = datasets.info(args.name)
    emit({**info.to_dict(), "report": datasets.report(args.name).to_dict() if args.name != datasets.DEFAULT else {}})
    return 0


def _active_runs(name: str) -> list[int]:
    """The runs queued or training on data set `name`, from the run database (none when it cannot be read: the
    data set may still be removed, and the database's own message comes with its next use)."""
    from core.run_record import ACTIVE
    from core.store import RunStore

    try:
        return [r.id for r in RunStore().list(statuses=ACTIVE, dataset=name)]
    except LabError:
        return []


def _remove(args: argparse.Namespace) -> int:
    datasets.remove(args.name, by=guarded.importer(CLI), active_runs=_active_runs(args.name))
    emit({"removed": args.name})
    return 0


def _reading_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="a CSV or TSV file, a folder of train/<label>/*.txt (and test/...), or its .tar.gz")
    p.add_argument("--text-column", help="the text column, by name or position from 1 (default: the longest text)")
    p.add_argument("--label-column", help="the label column, by name or position from 1 (default: 2-20 values)")
    p.add_argument("--delimiter", help="comma, tab, semicolon, pipe or one character (default: detected)")
    header = p.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_const", const=True, help="the first row names columns")
    header.add_argument("--no-header", dest="header", action="store_const", const=False, help="the first row is data")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `datasets ...` on the CLI's sub-command list."""
    top = sub.add_parser("datasets", help="import labelled text as a data set, list, show or remove data sets")
    commands = top.add_subparsers(dest="datasets_command", required=True, metavar="add|preview|list|show|remove")
    add = commands.add_parser("add", help="import a file or folder as a new data set")
    _reading_options(add)
    add.add_argument("--name", help="letters, digits, - and _ (default: from the file name)")
    add.add_argument("--label-names", help="names for labels that are numbers or codes: 0=negative,1=positive "
                     f"(each 1 to {datasets.MAX_CLASS_NAME} characters, all different)")
    add.add_argument("--test-size", type=float, default=datasets.TEST_SIZE,
                     help="share held out for testing when the source has no test split (default 0.2)")
    add.add_argument("--replace", action="store_true", help="replace the data set of that name if there is one")
    add.set_defaults(func=_add)
    preview = commands.add_parser("preview", help="what `add` would read: first rows, columns, class counts")
    _reading_options(preview)
    preview.add_argument("--rows", type=int, default=5, help="how many first rows to show (default 5)")
    preview.set_defaults(func=_preview)
    commands.add_parser("list", help="every data set, IMDB first").set_defaults(func=_list)
    for name, func, text in (("show", _show, "one data set and its import report"),
                             ("remove", _remove, "delete an imported data set")):
        p = commands.add_parser(name, help=text)
        p.add_argument("name")
        p.set_defaults(func=func)

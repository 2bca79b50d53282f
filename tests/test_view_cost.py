"""What each page view costs the server: work that can be done once per process is not done on every view.

Page scripts (and app.py) run again on every view, so a cached function defined in one builds its cache wrapper
again each time; the cached functions live in modules that are imported once.
"""
from __future__ import annotations

import ast
import re
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

from core import bundle, export, registry
from core.data import datasets, imdb
from core.store import RunStore

REPO = Path(__file__).resolve().parents[1]
CACHES = ("cache_data", "cache_resource")


def _scripts() -> list[Path]:
    """app.py and every page script st.navigation runs."""
    listed = re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', (REPO / "pages" / "navigation.py").read_text())
    assert len(listed) >= 9, listed
    return [REPO / "app.py"] + [REPO / name for name in listed]


def _cached_functions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(cache in ast.unparse(d) for d in node.decorator_list for cache in CACHES):
                found.append(f"{path.name}:{node.lineno} {node.name}")
    return found


def test_no_script_that_runs_on_every_view_defines_a_cached_function() -> None:
    found = [name for path in _scripts() for name in _cached_functions(path)]
    assert found == [], f"define these in a module imported once (see pages/explore_cache.py): {found}"


def test_cached_functions_take_their_many_arguments_by_keyword() -> None:
    """Streamlit names each positional argument of a cached call through inspect.signature (about 25 µs each, on
    every call): a cached function of more than two arguments takes them keyword-only."""
    many = []
    for path in sorted((REPO / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and any(c in ast.unparse(d) for d in node.decorator_list for c in CACHES):
                if len(node.args.posonlyargs) + len(node.args.args) > 2:
                    many.append(f"{path.name}:{node.lineno} {node.name}")
    assert many == [], f"make their parameters keyword-only (a * first): {many}"


def test_the_registry_says_what_is_in_memory(monkeypatch, tmp_path) -> None:
    key = ("test_view_cost", str(tmp_path))
    assert not registry.has(key)
    registry.shared(key, object)
    assert registry.has(key)
    registry.forget(key)
    assert not registry.has(key)

    info = datasets.info()  # reads IMDB into memory
    assert imdb.corpus_loaded() and datasets.loaded(info)
    monkeypatch.setenv("IMDB_DATA_DIR", str(tmp_path))  # another source, not read yet: a page shows its spinner
    assert not imdb.corpus_loaded() and not datasets.loaded(replace(info))


_OPENED: list[list[str]] = []  # while a test watches: the files this process opens (Python's "open" audit event)


def _note_open(event: str, args: tuple) -> None:
    if event == "open" and _OPENED:
        _OPENED[-1].append(str(args[0]))


sys.addaudithook(_note_open)


def test_a_model_file_is_read_once_while_it_stays_the_same(tmp_path) -> None:
    """Predict and Runs check every listed run's model on each view: the archive is opened again only after it
    changed, and a changed file is judged again."""
    store = RunStore(tmp_path / "home")
    run_id = store.create("dlwp", {})
    folder = store.claim_folder(run_id)
    with zipfile.ZipFile(folder / bundle.MODEL, "w") as archive:
        archive.writestr("config.json", "{}")
    store.finish(run_id, "finished", test_accuracy=0.5)
    record = store.get(run_id)
    model = str(folder / bundle.MODEL)
    _OPENED.append(opened := [])
    try:
        assert all(export.model_file(record).ok for _ in range(10))
    finally:
        _OPENED.clear()
    assert opened.count(model) == 1, opened
    (folder / bundle.MODEL).write_bytes(b"not a zip archive at all")
    found = export.model_file(record)
    assert not found.ok and "corrupt" in found.problem


def test_reading_the_store_does_not_read_proc_for_the_runs_of_this_process(tmp_path) -> None:
    """While a class trains, every read of the store checks that each active run's process lives: its own runs
    need no /proc read, and they stay running."""
    store = RunStore(tmp_path / "home")
    store.mark_running(store.create("dlwp", {}))
    _OPENED.append(opened := [])
    try:
        statuses = [r.status for _ in range(5) for r in store.list()]
    finally:
        _OPENED.clear()
    assert statuses == ["running"] * 5
    assert not [path for path in opened if path.startswith("/proc/")], opened

"""The shape of core, kept: every module belongs to a layer, imports only from its own layer or those below, and no
modules import each other round in a cycle. Read from the source (ast), every import counted: those inside a
function and those for type checking alone too, since a lazy import hides a cycle rather than cutting it.

The layers, lowest first. Classroom sits below the runner: the runner applies the classroom's rules (whose turn a
run takes, who may stop it), while classroom modules read runs from the store and never from the runner.
"""
from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "core"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("core", "core.errors", "core.config", "core.registry", "core.atomic_file", "core.priority",
                    "core.length_batches", "core.plain", "core.seeding")),
    ("data", ("core.data", "core.explore", "core.verdict")),
    ("models", ("core.settings", "core.model_input", "core.architectures", "core.hparams", "core.train_link", "core.features", "core.ngrams", "core.ngram_model", "core.models",
                "core.pretrained", "core.feature_cache", "core.evaluation", "core.baseline", "core.estimate",
                "core.memory", "core.run_record")),
    ("saved models and scoring", ("core.bundle", "core.predict", "core.raw_text_model", "core.word_map",
                                  "core.compare")),
    ("training", ("core.prepared", "core.stopping", "core.training", "core.learning_curve", "core.execution")),
    ("store", ("core.store", "core.export", "core.pins")),
    ("classroom", ("core.classroom",)),
    ("runner", ("core.concurrency", "core.runner")),
    ("serving and command line", ("core.serving", "core.cli", "core.__main__")),
)


def _name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Each core module and the core modules it names in an import."""
    paths = {_name(p): p for p in CORE.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in paths else node.module
                          for a in node.names}
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def _layer(module: str) -> int | None:
    """The layer of the longest prefix that names `module` or a package holding it."""
    best = None
    for n, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), n)
    return None if best is None else best[1]


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The modules that import each other round (strongly connected components of two or more), Tarjan's way."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            members = {stack.pop()}
            while module not in members:
                members.add(stack.pop())
            if len(members) > 1:
                found.append(frozenset(members))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_every_module_has_a_layer():
    assert [m for m in sorted(_graph()) if _layer(m) is None] == []


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [f"{module} ({LAYERS[_layer(module)][0]}) imports {other} ({LAYERS[_layer(other)][0]})"
              for module, imports in sorted(_graph().items()) for other in sorted(imports)
              if _layer(other) is not None and _layer(module) is not None and _layer(other) > _layer(module)]
    assert upward == []


def test_no_import_cycles():
    assert _cycles(_graph()) == []

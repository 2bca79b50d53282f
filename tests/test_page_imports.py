"""A page draws its title before anything slow: no page script imports Keras or TensorFlow with its modules (about
5 s on 2 cores, the first Train view's blank page on a fresh server), directly or through the lab's modules. Read from
the source (ast): module-level imports only, since an import inside a function runs when it is needed, after the
title. The server imports Keras on a thread of its own as it starts (`pages.ui`)."""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("keras", "tensorflow")


def _module_path(name: str) -> Path | None:
    base = REPO.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _loaded(node: ast.AST) -> set[str]:
    """Modules an import in `node` loads when it runs (a package's parents too), not those inside a function body,
    which runs later, or under `if TYPE_CHECKING`."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return set()
    if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
        return set()
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        names = [node.module, *(f"{node.module}.{a.name}" for a in node.names if _module_path(f"{node.module}.{a.name}"))]
    found = {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 2)}
    for child in ast.iter_child_nodes(node):
        found |= _loaded(child)
    return found


@lru_cache(maxsize=None)
def _top_level_imports(path: Path) -> frozenset[str]:
    return frozenset(_loaded(ast.parse(path.read_text())))


def _heavy_chain(start: Path) -> list[str] | None:
    """The chain of the lab's modules through which `start` imports Keras or TensorFlow at load, or None."""
    seen: set[str] = set()
    stack: list[tuple[Path, list[str]]] = [(start, [start.name])]
    while stack:
        path, chain = stack.pop()
        for name in sorted(_top_level_imports(path)):
            if name.split(".")[0] in HEAVY:
                return [*chain, name]
            target = _module_path(name)
            if target is not None and name not in seen:
                seen.add(name)
                stack.append((target, [*chain, name]))
    return None


def test_no_page_imports_keras_before_its_title():
    pages = sorted((REPO / "pages").glob("*.py")) + [REPO / "app.py"]
    chains = {p.name: _heavy_chain(p) for p in pages}
    assert not {k: v for k, v in chains.items() if v}, chains


def test_the_check_finds_a_module_that_imports_keras():
    assert _heavy_chain(REPO / "core" / "models.py") == ["models.py", "keras"]

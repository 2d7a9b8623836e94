"""The store's modules import in one direction (base <- parts <- store) and stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import liquidcare.feedback as feedback

ROOT = Path(feedback.__file__).parent


def _local_imports(path: Path) -> set[str]:
    """The feedback modules a module imports (relative `from .x import` and absolute ones)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("liquidcare.feedback."):
                found.add(node.module.split(".")[2])
    return found & {p.stem for p in ROOT.glob("*.py")}


def test_no_import_cycle_in_the_store():
    graph = {p.stem: _local_imports(p) for p in ROOT.glob("*.py") if p.stem != "__init__"}
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, path: list[str]) -> None:
        if seen.get(name) == 1:
            raise AssertionError(f"import cycle: {' -> '.join([*path, name])}")
        if seen.get(name) == 2:
            return
        seen[name] = 1
        for dep in sorted(graph.get(name, ())):
            visit(dep, [*path, name])
        seen[name] = 2

    for name in sorted(graph):
        visit(name, [])
    # only the facade puts the parts together
    assert {n for n, deps in graph.items() if "store" in deps} == set()


def test_store_modules_are_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in ROOT.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes

"""ml's modules import each other without a cycle, so each one has a place in the order."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ML = Path(__file__).resolve().parents[2] / "ml"


def ml_imports(source: str) -> set[str]:
    """The ``ml.*`` modules a source imports, lazily or not (TYPE_CHECKING imports too)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("ml.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("ml."):
                found.add(node.module)
            elif node.module == "ml":
                found |= {f"ml.{alias.name}" for alias in node.names}
    return found


def graph(root: Path) -> dict[str, set[str]]:
    modules = {f"ml.{path.stem}": path for path in root.glob("*.py") if path.stem != "__init__"}
    return {
        name: ml_imports(path.read_text(encoding="utf-8")) & modules.keys()
        for name, path in modules.items()
    }


def cycle(edges: dict[str, set[str]]) -> list[str]:
    try:
        tuple(TopologicalSorter(edges).static_order())
    except CycleError as error:
        return list(error.args[1])
    return []


def test_ml_has_no_import_cycle() -> None:
    assert cycle(graph(ML)) == []


def test_a_cycle_is_found(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    from ml.b import g\n")
    (tmp_path / "b.py").write_text("from ml import a\n")
    assert set(cycle(graph(tmp_path))) == {"ml.a", "ml.b"}

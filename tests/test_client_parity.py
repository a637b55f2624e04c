"""temporalio's client and converter surface on fastcore: names and signatures, against the
installed temporalio, with every difference listed (and explained) in
docs/client-and-converter.md; a difference not listed fails, and so does a row that no
longer matches one."""

from __future__ import annotations

import fnmatch
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import temporalio.client as t_client
import temporalio.common as t_common
import temporalio.converter as t_converter

import fastcore.client as f_client
import fastcore.common as f_common
import fastcore.converter as f_converter
from fastcore import Engine, workflow

DOC = Path(__file__).resolve().parents[1] / "docs" / "client-and-converter.md"

CLIENT_CLASSES = (
    "WorkflowHandle",
    "WorkflowUpdateHandle",
    "WithStartWorkflowOperation",
    "WorkflowUpdateStage",
    "WorkflowHistoryEventFilterType",
)
CLIENT_NAMES = (
    *CLIENT_CLASSES,
    "WorkflowExecutionDescription",
    "WorkflowExecutionStatus",
    "WorkflowFailureError",
    "WorkflowQueryFailedError",
    "WorkflowQueryRejectedError",
    "WorkflowUpdateFailedError",
)
CLIENT_METHODS = (
    "start_workflow",
    "execute_workflow",
    "get_workflow_handle",
    "get_workflow_handle_for",
    "start_update_with_start_workflow",
    "execute_update_with_start_workflow",
    "list_workflows",
    "count_workflows",
)
CONVERTER_CLASSES = (
    "DataConverter",
    "PayloadConverter",
    "EncodingPayloadConverter",
    "CompositePayloadConverter",
    "DefaultPayloadConverter",
    "JSONPlainPayloadConverter",
    "BinaryNullPayloadConverter",
    "BinaryPlainPayloadConverter",
    "PayloadCodec",
    "FailureConverter",
    "DefaultFailureConverter",
)


def _params(fn: Callable[..., Any]) -> list[str] | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [p for p in sig.parameters if p not in ("self", "cls")]


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)


def _callable_diffs(key: str, theirs: Any, ours: Any) -> list[str]:
    out = []
    tp, fp = _params(theirs), _params(ours)
    if tp is not None and fp is not None:
        out += [f"{key}({p})" for p in tp if p not in fp]
        out += [f"{key}(+{p})" for p in fp if p not in tp]
    if _is_async(theirs) and not _is_async(ours):
        out.append(f"{key}:sync")
    if _is_async(ours) and not _is_async(theirs):
        out.append(f"{key}:async")
    return out


def _class_diffs(prefix: str, theirs: type, ours: type | None) -> list[str]:
    if ours is None:
        return [prefix]
    out = []
    for name in sorted(n for n in dir(theirs) if not n.startswith("_")):
        key = f"{prefix}.{name}"
        if not hasattr(ours, name):
            out.append(key)
            continue
        t_member = getattr(theirs, name)
        if callable(t_member) and not isinstance(t_member, type):
            out += _callable_diffs(key, t_member, getattr(ours, name))
    out += _callable_diffs(f"{prefix}.__init__", theirs.__init__, ours.__init__)
    return out


def differences() -> list[str]:
    """Every difference between temporalio's surface and fastcore's, as the doc keys it."""
    out: list[str] = []
    out += [f"client.{n}" for n in CLIENT_NAMES if not hasattr(f_client, n)]
    out += [
        f"client.{n}"
        for n in ("WorkflowExecutionAsyncIterator", "WorkflowExecutionCount")
        if not hasattr(f_client, n)
    ]
    for name in CLIENT_CLASSES:
        out += _class_diffs(
            f"client.{name}", getattr(t_client, name), getattr(f_client, name, None)
        )
    for name in CLIENT_METHODS:
        ours = getattr(Engine, name, None)
        if ours is None:
            out.append(f"client.Client.{name}")
        else:
            out += _callable_diffs(f"client.Client.{name}", getattr(t_client.Client, name), ours)
    out += [f"converter.{n}" for n in t_converter.__all__ if not hasattr(f_converter, n)]
    for name in CONVERTER_CLASSES:
        out += _class_diffs(
            f"converter.{name}", getattr(t_converter, name), getattr(f_converter, name, None)
        )
    for name in (
        "RawValue",
        "QueryRejectCondition",
        "SearchAttributeIndexedValueType",
        "SearchAttributeKey",
        "SearchAttributePair",
        "SearchAttributeUpdate",
        "TypedSearchAttributes",
    ):
        out += _class_diffs(
            f"common.{name}", getattr(t_common, name), getattr(f_common, name, None)
        )
    return out


def listed() -> dict[str, str]:
    """The doc's deviations table: pattern -> reason."""
    rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", DOC.read_text(), flags=re.MULTILINE)
    return dict(rows)


def test_every_difference_is_listed_with_its_reason() -> None:
    table = listed()
    assert table, f"no deviations table in {DOC}"
    found = differences()
    unlisted = [d for d in found if not any(fnmatch.fnmatchcase(d, p) for p in table)]
    assert not unlisted, "differences from temporalio not listed in the docs:\n" + "\n".join(
        unlisted
    )
    stale = [p for p in table if not any(fnmatch.fnmatchcase(d, p) for d in found)]
    assert not stale, "rows of the deviations table that match no difference any more:\n" + (
        "\n".join(stale)
    )
    assert all(reason.strip() for reason in table.values())


def test_the_enums_have_temporalios_values() -> None:
    for name in ("WorkflowUpdateStage", "WorkflowHistoryEventFilterType"):
        theirs, ours = getattr(t_client, name), getattr(f_client, name)
        assert {m.name: int(m) for m in theirs} == {m.name: int(m) for m in ours}
    assert {m.name: int(m) for m in t_common.QueryRejectCondition} == {
        m.name: int(m) for m in f_common.QueryRejectCondition
    }


def test_workflow_info_answers_temporalios_history_questions() -> None:
    for name in (
        "get_current_history_length",
        "get_current_history_size",
        "is_continue_as_new_suggested",
    ):
        assert callable(getattr(workflow.Info, name)), name


def test_the_readme_links_the_table() -> None:
    readme = (DOC.parents[1] / "README.md").read_text()
    assert "docs/client-and-converter.md" in readme

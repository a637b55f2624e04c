"""``ListWorkflowExecutions`` and ``CountWorkflowExecutions`` with Temporal's list filters.

The query is parsed by fastcore's visibility module (the language ``temporal workflow list
--query`` speaks: comparisons, ``IN``, ``BETWEEN``, ``STARTS_WITH``, ``AND``/``OR``,
parentheses; ``GROUP BY ExecutionStatus`` for counts), over built-in attributes and the
custom search attributes the frontend has seen. What is not supported is an
``INVALID_ARGUMENT`` that says so, never an empty or unfiltered answer.

Until the engine keeps search attributes and filters runs itself (``list_workflows(query=)``,
the fastcore search-attribute issue), the frontend reads every run from
``Engine.list_workflows()`` and filters them with ``visibility.evaluate``: a full scan per
call, fine for an embedded engine's thousands of runs, not for millions. Rows are ordered as
Temporal's SQL visibility orders them: open runs first, then by close time, newest first.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Payload as TPayload
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    CountWorkflowExecutionsResponse,
    ListWorkflowExecutionsRequest,
    ListWorkflowExecutionsResponse,
)

from fastcore import WorkflowExecutionStatus
from fastcore.integration import visibility

from ._describe import execution_info
from ._errors import invalid
from ._history import HistoryReader
from ._notes import RunNotebook

__all__ = ["DEFAULT_LIST_PAGE_SIZE", "Lister"]

DEFAULT_LIST_PAGE_SIZE = 100
_MAX_PAGE_SIZE = 1000
_SCAN_PAGE = 1000


@dataclass(frozen=True)
class _Row:
    workflow_id: str
    run_id: str
    start: float
    close: float | None
    values: dict[str, Any]

    @property
    def key(self) -> tuple[float, float, str]:
        """Sort key: open runs first, then close time, then start time, newest first."""
        close = math.inf if self.close is None else self.close
        return (-close, -self.start, self.run_id)


def _status_pushdown(where: Any) -> WorkflowExecutionStatus | None:
    """A status every match must have, so the engine can filter by it first."""
    items = where.items if isinstance(where, visibility.And) else (where,)
    for item in items:
        if (
            isinstance(item, visibility.Comparison)
            and item.attr == "ExecutionStatus"
            and item.op == "="
        ):
            for status, name in visibility.STATUS_NAMES.items():
                if name == item.value:
                    return status
    return None


class Lister:
    """Lists and counts runs matching a visibility query."""

    def __init__(self, engine: Any, notes: RunNotebook, histories: HistoryReader) -> None:
        self._engine = engine
        self._notes = notes
        self._histories = histories

    def _parse(self, query: str) -> Any:
        try:
            return visibility.parse(query, self._notes.types)
        except ValueError as err:  # InvalidArgumentError is a ValueError
            raise invalid(str(err)) from None

    async def _rows(self, parsed: Any) -> AsyncIterator[_Row]:
        """Every run the engine has, with the values a filter reads, matching ``parsed``."""
        status = _status_pushdown(parsed.where)
        wants_length = "HistoryLength" in parsed.types
        token: bytes | None = None
        while True:
            page, token = await self._engine.list_workflows(
                status=status, page_size=_SCAN_PAGE, next_page_token=token
            )
            for desc in page:
                notes = self._notes.get(desc.id, desc.run_id)
                start = desc.start_time.timestamp()
                close = desc.close_time.timestamp() if desc.close_time is not None else None
                values: dict[str, Any] = self._notes.decoded(notes)
                values.update(
                    WorkflowId=desc.id,
                    WorkflowType=desc.workflow_type,
                    RunId=desc.run_id,
                    ExecutionStatus=int(desc.status),
                    StartTime=start,
                    CloseTime=close,
                    ExecutionTime=start,
                    TaskQueue=notes.task_queue,
                )
                if wants_length:
                    history = await self._histories.read(desc.id, desc.run_id)
                    values["HistoryLength"] = len(history.events)
                if visibility.evaluate(parsed, values):
                    yield _Row(desc.id, desc.run_id, start, close, values)
            if not token:
                return

    async def list(self, request: ListWorkflowExecutionsRequest) -> ListWorkflowExecutionsResponse:
        """One page of matching runs, ordered as Temporal orders them."""
        parsed = self._parse(request.query)
        if parsed.group_by:
            raise invalid("GROUP BY is only supported by CountWorkflowExecutions")
        page_size = min(request.page_size or DEFAULT_LIST_PAGE_SIZE, _MAX_PAGE_SIZE)
        digest = hashlib.sha256(request.query.encode()).hexdigest()[:16]
        after: tuple[float, float, str] | None = None
        if request.next_page_token:
            after = _read_cursor(request.next_page_token, digest)
        rows = [r async for r in self._rows(parsed)]
        rows.sort(key=lambda r: r.key)
        if after is not None:
            rows = [r for r in rows if r.key > after]
        page = rows[:page_size]
        response = ListWorkflowExecutionsResponse()
        for row in page:
            history = await self._histories.read(row.workflow_id, row.run_id)
            notes = self._notes.get(row.workflow_id, row.run_id)
            response.executions.append(execution_info(history, notes))
        if len(rows) > page_size:
            response.next_page_token = _cursor(page[-1].key, digest)
        return response

    async def count(
        self, request: CountWorkflowExecutionsRequest
    ) -> CountWorkflowExecutionsResponse:
        """How many runs match (per status with ``GROUP BY ExecutionStatus``)."""
        parsed = self._parse(request.query)
        counts: dict[int, int] = {}
        total = 0
        async for row in self._rows(parsed):
            total += 1
            status = int(row.values["ExecutionStatus"])
            counts[status] = counts.get(status, 0) + 1
        response = CountWorkflowExecutionsResponse(count=total)
        if parsed.group_by:
            for status, n in sorted(counts.items()):
                group = response.groups.add(count=n)
                group.group_values.append(
                    TPayload(
                        metadata={"encoding": b"json/plain", "type": b"Keyword"},
                        data=json.dumps(visibility.status_name(status)).encode(),
                    )
                )
        return response


def _cursor(key: tuple[float, float, str], digest: str) -> bytes:
    close, start, run_id = key
    return json.dumps(
        {"close": None if math.isinf(close) else close, "start": start, "run": run_id, "q": digest}
    ).encode()


def _read_cursor(token: bytes, digest: str) -> tuple[float, float, str]:
    try:
        obj = json.loads(token)
        close = -math.inf if obj["close"] is None else float(obj["close"])
        cursor = (close, float(obj["start"]), str(obj["run"]))
        same_query = obj["q"] == digest
    except (ValueError, KeyError, TypeError):
        raise invalid("next_page_token is not one this bridge issued for a list") from None
    if not same_query:
        raise invalid("next_page_token belongs to a list with another query")
    return cursor

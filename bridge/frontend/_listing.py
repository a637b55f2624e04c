"""``ListWorkflowExecutions`` and ``CountWorkflowExecutions`` with Temporal's list filters.

The engine answers both: ``Engine.list_workflows(query)`` and ``count_workflows(query)``
parse the query (the language ``temporal workflow list --query`` speaks: comparisons,
``IN``, ``BETWEEN``, ``STARTS_WITH``, ``AND``/``OR``, parentheses; ``GROUP BY
ExecutionStatus`` for counts) over the built-in attributes and the custom search attributes
the engine keeps, and filter in the store (indexed SQL on SQLite). Rows come newest first as
Temporal's visibility orders them (open runs first, then by close time) and carry memo,
search attributes and task queue, so a list reads no history. What is not supported is an
``INVALID_ARGUMENT`` that says so, never an empty or unfiltered answer; a page token is the
engine's, valid only with the query it came from.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.common.v1 import Payload as TPayload
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    CountWorkflowExecutionsResponse,
    ListWorkflowExecutionsRequest,
    ListWorkflowExecutionsResponse,
)

from fastcore.errors import InvalidArgumentError

from ._describe import list_row
from ._errors import invalid

__all__ = ["DEFAULT_LIST_PAGE_SIZE", "Lister"]

DEFAULT_LIST_PAGE_SIZE = 100
_MAX_PAGE_SIZE = 1000


class Lister:
    """Lists and counts runs matching a visibility query, through the engine."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    async def list(self, request: ListWorkflowExecutionsRequest) -> ListWorkflowExecutionsResponse:
        """One page of matching runs, ordered as Temporal orders them."""
        if request.page_size < 0:
            raise invalid(f"page_size must not be negative, got {request.page_size}")
        page_size = min(request.page_size or DEFAULT_LIST_PAGE_SIZE, _MAX_PAGE_SIZE)
        try:
            rows, token = await self._engine.list_workflows(
                request.query or None,
                page_size=page_size,
                next_page_token=request.next_page_token or None,
            )
        except InvalidArgumentError as err:
            raise invalid(str(err)) from None
        return ListWorkflowExecutionsResponse(
            executions=[list_row(desc) for desc in rows], next_page_token=token or b""
        )

    async def count(
        self, request: CountWorkflowExecutionsRequest
    ) -> CountWorkflowExecutionsResponse:
        """How many runs match (per status with ``GROUP BY ExecutionStatus``)."""
        try:
            counted = await self._engine.count_workflows(request.query or None)
        except InvalidArgumentError as err:
            raise invalid(str(err)) from None
        response = CountWorkflowExecutionsResponse(count=counted.count)
        for group in counted.groups:
            added = response.groups.add(count=group.count)
            for value in group.group_values:
                added.group_values.append(
                    TPayload(
                        metadata={"encoding": b"json/plain", "type": b"Keyword"},
                        data=json.dumps(value).encode(),
                    )
                )
        return response

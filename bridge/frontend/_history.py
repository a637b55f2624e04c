"""``GetWorkflowExecutionHistory``: a run's history in Temporal's format, paged and live.

Histories are the result channel of Temporal's clients: ``result()`` long-polls for the
close event, ``temporal workflow show --follow`` for every new event. The engine's events are
translated by ``bridge.history.to_temporal`` (numbered Temporal events with their real
types, workflow tasks framed, failures in Temporal's format), cached per run and length, and
served from the event id a page token names. Translation is prefix-stable: events a client
has seen keep their ids and types as the run goes on.

Page tokens pin the run (a request without a run id reads the latest run, and its next
pages stay on that run) and the next Temporal event id.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import grpc.aio
from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
)

from fastcore.history import CLOSE_EVENTS, Event

from ..history import to_temporal
from ._errors import invalid
from ._waiting import Budget, wait_for_event

__all__ = ["DEFAULT_PAGE_SIZE", "HistoryReader", "RunHistory"]

DEFAULT_PAGE_SIZE = 1000
"""Events per page when the client does not say (Temporal's default page size)."""

_CLOSE_FILTER = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT


class RunHistory:
    """One run's history: the engine's events, and their Temporal translation (made on
    first use: queries, signals and updates in flight need only the engine's events)."""

    __slots__ = ("_events", "_size", "_translate", "run_id", "source", "workflow_id")

    def __init__(
        self,
        workflow_id: str,
        run_id: str,
        source: list[Event],
        translate: Callable[[str, str, list[Event]], tuple[list[HistoryEvent], int]],
    ) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.source = source
        self._translate = translate
        self._events: list[HistoryEvent] | None = None
        self._size = 0

    @property
    def events(self) -> list[HistoryEvent]:
        """The Temporal events of the run (translated once, cached per run and length)."""
        if self._events is None:
            self._events, self._size = self._translate(self.workflow_id, self.run_id, self.source)
        return self._events

    @property
    def size_bytes(self) -> int:
        """The encoded size of the Temporal events (``history_size_bytes``)."""
        _ = self.events
        return self._size

    @property
    def closed(self) -> bool:
        """Whether the run has closed."""
        return self.source[-1].event_type in CLOSE_EVENTS


def _token(run_id: str, next_event_id: int) -> bytes:
    return json.dumps({"run": run_id, "next": next_event_id}).encode()


def _read_token(token: bytes) -> tuple[str, int]:
    try:
        obj = json.loads(token)
        run_id, next_id = obj["run"], obj["next"]
        if not isinstance(run_id, str) or not isinstance(next_id, int) or next_id < 1:
            raise ValueError("bad fields")
    except (ValueError, KeyError, TypeError):
        raise invalid(
            "next_page_token is not one this bridge issued for GetWorkflowExecutionHistory"
        ) from None
    return run_id, next_id


class HistoryReader:
    """Reads, translates (with a small cache) and serves runs' histories."""

    def __init__(
        self,
        engine: Any,
        closing: asyncio.Event,
        *,
        namespace: str,
        long_poll_cap: float,
        cache_size: int = 256,
    ) -> None:
        self._engine = engine
        self._closing = closing
        self._namespace = namespace
        self._cap = long_poll_cap
        self._cache: OrderedDict[tuple[str, int], tuple[list[HistoryEvent], int]] = OrderedDict()
        self._cache_size = cache_size

    async def read(self, workflow_id: str, run_id: str | None) -> RunHistory:
        """A run's history now (the latest run when ``run_id`` is None).

        Raises:
            WorkflowNotFoundError: No such workflow or run.
        """
        handle = self._engine.get_workflow_handle(workflow_id, run_id=run_id or None)
        source: list[Event] = await handle.fetch_history()
        rid = str(source[0].attributes.get("run_id") or run_id or "")
        return RunHistory(workflow_id, rid, source, self.translate)

    def translate(
        self, workflow_id: str, run_id: str, source: list[Event]
    ) -> tuple[list[HistoryEvent], int]:
        """The Temporal events of ``source`` and their size (cached per run and length)."""
        key = (run_id, len(source))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        # the task queue is the one the run's start recorded
        events = list(
            to_temporal(source, workflow_id=workflow_id, namespace=self._namespace).events
        )
        translated = (events, sum(e.ByteSize() for e in events))
        self._cache[key] = translated
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return translated

    async def serve(
        self, request: GetWorkflowExecutionHistoryRequest, context: grpc.aio.ServicerContext
    ) -> GetWorkflowExecutionHistoryResponse:
        """Answer one ``GetWorkflowExecutionHistory`` call (waiting when asked to)."""
        execution = request.execution
        if not execution.workflow_id:
            raise invalid("execution.workflow_id is required")
        run_id = execution.run_id or None
        next_id = 1
        if request.next_page_token:
            token_run, next_id = _read_token(request.next_page_token)
            if run_id is not None and token_run != run_id:
                raise invalid("next_page_token belongs to another run than execution.run_id")
            run_id = token_run
        # as Temporal's frontend: zero or a negative size means the default page size
        page_size = (
            request.maximum_page_size if request.maximum_page_size > 0 else DEFAULT_PAGE_SIZE
        )
        close_only = request.history_event_filter_type == _CLOSE_FILTER
        budget = Budget(context, self._cap) if request.wait_new_event else None
        while True:
            run = await self.read(execution.workflow_id, run_id)
            run_id = run.run_id
            if close_only:
                if run.closed:
                    return GetWorkflowExecutionHistoryResponse(
                        history=History(events=[run.events[-1]])
                    )
            elif len(run.events) >= next_id:
                page = run.events[next_id - 1 : next_id - 1 + page_size]
                last = page[-1].event_id
                more = last < len(run.events) or (request.wait_new_event and not run.closed)
                return GetWorkflowExecutionHistoryResponse(
                    history=History(events=page),
                    next_page_token=_token(run_id, last + 1) if more else b"",
                )
            elif run.closed:
                return GetWorkflowExecutionHistoryResponse()
            if budget is None:  # open, nothing new, and the client does not wait
                return GetWorkflowExecutionHistoryResponse()
            handle = self._engine.get_workflow_handle(execution.workflow_id, run_id=run_id)
            if not await wait_for_event(handle, len(run.source) + 1, budget.left(), self._closing):
                # Nothing new before the deadline: an empty page that says "ask again".
                return GetWorkflowExecutionHistoryResponse(next_page_token=_token(run_id, next_id))

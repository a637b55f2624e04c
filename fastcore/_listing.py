"""Listing and counting runs with Temporal's visibility query language.

``Engine.list_workflows(query)`` and ``count_workflows(query)`` are temporalio's: the query
is parsed against the built-in attributes and the engine's custom search attributes
(``fastcore._visibility``); an unknown attribute, an unsupported operator or a malformed query
raises ``InvalidArgumentError`` at the call. The store filters: SQLite compiles the query to
indexed SQL, the memory store evaluates it in Python. Runs come newest first as Temporal's
visibility orders them (open runs first, then by close time), a page at a time by a keyset
token that is valid only with the query it came from.

``list_workflows`` returns a ``WorkflowExecutionAsyncIterator`` (``async for`` walks every
page, as temporalio's); awaiting it instead gives one page and the next page's token, the
paging form fastcore's own tools use.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._description import WorkflowExecutionDescription
from ._lifecycle import Lifecycle
from ._run_table import RunTable
from ._search_attributes import SearchAttributeRegistry
from ._store import RecencyKey, RunRecord, Store, recency_key
from ._visibility import BUILTIN_ATTRIBUTES, And, Comparison, Expr, Query, parse, status_name
from .common import WorkflowExecutionStatus
from .errors import InvalidArgumentError

__all__ = [
    "Lister",
    "WorkflowExecutionAsyncIterator",
    "WorkflowExecutionCount",
    "WorkflowExecutionCountAggregationGroup",
]

#: Fetches one page: (page size, token) -> (rows, next token or None).
FetchPage = Callable[[int, bytes | None], Awaitable[tuple[list[Any], bytes | None]]]


@dataclass(frozen=True)
class WorkflowExecutionCountAggregationGroup:
    """One group of a grouped count (``GROUP BY ExecutionStatus``), as temporalio's."""

    count: int
    """Runs in the group."""
    group_values: Sequence[Any]
    """The group's values (the status name, e.g. ``"Running"``)."""


@dataclass(frozen=True)
class WorkflowExecutionCount:
    """What ``count_workflows`` returns, as temporalio's."""

    count: int
    """Runs that match the query."""
    groups: Sequence[WorkflowExecutionCountAggregationGroup] = field(default_factory=list)
    """Per group, with ``GROUP BY``; empty otherwise."""


class WorkflowExecutionAsyncIterator:
    """The runs a list matches, a page at a time (temporalio's iterator, same names).

    ``async for row in it`` yields every row (up to ``limit``); ``fetch_next_page()`` reads
    one page into ``current_page``. ``await it`` reads the first page and returns it with
    the next page's token (None after the last), fastcore's paging form.
    """

    def __init__(
        self,
        fetch: FetchPage,
        *,
        page_size: int = 1000,
        next_page_token: bytes | None = None,
        limit: int | None = None,
    ) -> None:
        if page_size < 1:
            raise InvalidArgumentError("page_size must be at least 1")
        if limit is not None and limit < 0:
            raise InvalidArgumentError("limit must not be negative")
        self._fetch = fetch
        self._page_size = page_size
        self._limit = limit
        self._yielded = 0
        self._started = False
        self.current_page_index = 0
        """Index of the next row of ``current_page`` the iteration yields."""
        self.current_page: list[Any] | None = None
        """The page read last (None before the first)."""
        self.next_page_token: bytes | None = next_page_token
        """The token of the next page (None once the last page was read)."""

    async def fetch_next_page(self, *, page_size: int | None = None) -> None:
        """Read the next page into ``current_page`` (an empty page after the last one)."""
        if self._started and self.next_page_token is None:
            self.current_page = []
            self.current_page_index = 0
            return
        size = page_size or self._page_size
        if self._limit is not None:
            size = max(min(size, self._limit - self._yielded), 1)
        rows, token = await self._fetch(size, self.next_page_token)
        self._started = True
        self.current_page = rows
        self.current_page_index = 0
        self.next_page_token = token

    def __aiter__(self) -> WorkflowExecutionAsyncIterator:
        return self

    async def __anext__(self) -> Any:
        if self._limit is not None and self._yielded >= self._limit:
            raise StopAsyncIteration
        while self.current_page is None or self.current_page_index >= len(self.current_page):
            if self._started and self.next_page_token is None:
                raise StopAsyncIteration
            await self.fetch_next_page()
        row = self.current_page[self.current_page_index]
        self.current_page_index += 1
        self._yielded += 1
        return row

    async def _one_page(self) -> tuple[list[Any], bytes | None]:
        await self.fetch_next_page()
        return list(self.current_page or []), self.next_page_token

    def __await__(self) -> Generator[Any, None, tuple[list[Any], bytes | None]]:
        return self._one_page().__await__()


def _status_filter(query: Query, status: WorkflowExecutionStatus | None) -> Query:
    """``query`` AND ``ExecutionStatus = status`` (fastcore's ``status=`` shortcut)."""
    if status is None:
        return query
    term: Expr = Comparison("ExecutionStatus", "=", status_name(status))
    where = term if query.where is None else And((term, query.where))
    types = {**query.types, "ExecutionStatus": BUILTIN_ATTRIBUTES["ExecutionStatus"]}
    return Query(where, query.group_by, types)


def _token(key: RecencyKey, digest: str) -> bytes:
    close, start, run_id = key
    return json.dumps(
        {"close": None if math.isinf(close) else close, "start": start, "run": run_id, "q": digest}
    ).encode()


def _read_token(token: bytes, digest: str) -> RecencyKey:
    try:
        obj = json.loads(token)
        close = math.inf if obj["close"] is None else float(obj["close"])
        key = (close, float(obj["start"]), str(obj["run"]))
        same = obj["q"] == digest
    except (ValueError, KeyError, TypeError):
        raise InvalidArgumentError(
            "bad next_page_token: not a token a list of this engine gave"
        ) from None
    if not same:
        raise InvalidArgumentError("bad next_page_token: it belongs to a list with another query")
    return key


class Lister:
    """Lists and counts an engine's runs by query."""

    def __init__(
        self,
        *,
        lifecycle: Lifecycle,
        store: Store,
        runs: RunTable,
        registry: SearchAttributeRegistry,
        describe: Callable[[RunRecord], WorkflowExecutionDescription],
    ) -> None:
        self._life = lifecycle
        self._store = store
        self._runs = runs
        self._registry = registry
        self._describe = describe

    def parse(self, query: str | None) -> Query:
        """Parse ``query`` against the built-ins and the engine's custom attributes."""
        if query is not None and not isinstance(query, str):
            raise InvalidArgumentError(f"a visibility query is a string, not {query!r}")
        return parse(query or "", self._registry.types)

    async def page(
        self,
        query: str | None,
        status: WorkflowExecutionStatus | None,
        page_size: int,
        token: bytes | None,
    ) -> tuple[list[WorkflowExecutionDescription], bytes | None]:
        """One page of matching runs, newest first, and the next page's token."""
        if not self._life.ready:
            await self._life.ensure_started()
        parsed = self.parse(query)
        if parsed.group_by:
            raise InvalidArgumentError(
                "GROUP BY is only supported by count_workflows, not list_workflows"
            )
        digest = hashlib.sha256(f"{query or ''}\0{status}".encode()).hexdigest()[:16]
        after = _read_token(token, digest) if token else None
        records = await self._store.query_runs(
            _status_filter(parsed, status), limit=page_size + 1, after=after
        )
        more = len(records) > page_size
        records = records[:page_size]
        rows = []
        for rec in records:
            live = self._runs.by_run_id.get(rec.run_id)
            rows.append(self._describe(live.record if live is not None else rec))
        next_token = _token(recency_key(records[-1]), digest) if more and records else None
        return rows, next_token

    async def count(self, query: str | None) -> WorkflowExecutionCount:
        """How many runs match; per status with ``GROUP BY ExecutionStatus``."""
        if not self._life.ready:
            await self._life.ensure_started()
        parsed = self.parse(query)
        counts = await self._store.count_runs(parsed)
        groups: list[WorkflowExecutionCountAggregationGroup] = []
        if parsed.group_by:
            groups = [
                WorkflowExecutionCountAggregationGroup(n, [status_name(status)])
                for status, n in sorted(counts.items())
            ]
        return WorkflowExecutionCount(sum(counts.values()), groups)

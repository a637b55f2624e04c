"""The futures workflow code awaits for activities and child workflows, and helpers."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Protocol

from . import _runtime
from ._definitions import handler_name
from ._main_task import WakeFuture
from .common import ActivityCancellationType, ChildWorkflowCancellationType
from .errors import FailureError, is_cancelled_exception


class FutureOwner(Protocol):
    """Who scheduled the activity behind a future: it turns ``cancel()`` into a command."""

    def request_cancel_activity(self, fut: _ActivityFuture) -> None:
        """Cancel the activity behind ``fut`` as its cancellation type says."""
        ...


class ChildOwner(Protocol):
    """Who started the child behind a handle: it turns ``cancel()`` into a command."""

    def request_cancel_child(self, handle: _ChildHandle) -> None:
        """Cancel the child workflow behind ``handle`` as its cancellation type says."""
        ...


_future_init = asyncio.Future.__init__
_UNSET: Any = object()


def _resolve(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _fail(fut: asyncio.Future[Any], err: BaseException) -> None:
    if not fut.done():
        fut.set_exception(err)


#: What fails a workflow (not its task) by default, as temporalio's
#: ``workflow_is_failure_exception``: a failure, or a timeout (``asyncio.TimeoutError`` is the
#: built-in ``TimeoutError``: an uncaught ``wait_condition`` or ``wait_for`` timeout).
FAILURE_ONLY: tuple[type[BaseException], ...] = (FailureError, builtins.TimeoutError)


class _Abort(BaseException):
    """Unwinds workflow code after a nondeterminism; not catchable by ``except Exception``."""


def _request_cancel(handle: Any, request: Callable[[Any], None]) -> bool:
    """``cancel()`` of a handle whose owner turns it into a command: asked once, and only
    while the handle is pending (False after it resolved, as ``Future.cancel``)."""
    if handle.done():
        return False
    if not handle._cancel_requested:
        handle._cancel_requested = True
        request(handle)
    return True


def _seconds(td: timedelta | None) -> float | None:
    return td.total_seconds() if td is not None else None


is_cancellation = is_cancelled_exception
"""Temporal's ``is_cancelled_exception``: a cancellation, or a failure caused by one."""


class ActivityHandle(WakeFuture):
    """What ``workflow.start_activity`` returns: await it for the result; ``cancel()``
    requests cancellation as temporalio does.

    An ``asyncio.Future`` (temporalio's is an ``asyncio.Task``: fastcore runs no coroutine
    behind an activity's handle, so the task-only methods are absent).
    """

    __slots__ = (
        "_cancel_requested",
        "_cancellation_type",
        "_hint",
        "_owner",
        "_seq",
        "activity_id",
        "activity_type",
    )

    def __init__(
        self,
        owner: FutureOwner,
        loop: asyncio.AbstractEventLoop,
        seq: int,
        defn_name: str,
        activity_id: str,
        cancellation_type: ActivityCancellationType,
        hint: Any,
    ) -> None:
        _future_init(self, loop=loop)
        self._waiter = None
        self._owner = owner
        self._seq = seq
        self.activity_type = defn_name
        self.activity_id = activity_id
        self._cancellation_type = cancellation_type
        self._hint = hint
        self._cancel_requested = False

    def cancel(self, msg: Any = None) -> bool:
        # The future stays pending until the cancellation resolves it (immediately for
        # TRY_CANCEL/ABANDON): the awaiting task sees ActivityError(CancelledError).
        return _request_cancel(self, self._owner.request_cancel_activity)


_ActivityFuture = ActivityHandle


class _LocalActivityFuture(ActivityHandle):
    """A local activity's handle: as an activity's; its outcome arrives in a marker."""

    __slots__ = ()


class ChildWorkflowHandle(asyncio.Future):  # type: ignore[type-arg]
    """A started child workflow (what awaiting ``workflow.start_child_workflow`` gives):
    await it for the result; ``signal()`` it; ``cancel()`` asks it to cancel.

    An ``asyncio.Future`` (temporalio's is an ``asyncio.Task``; see ``ActivityHandle``).
    """

    def __init__(
        self,
        owner: ChildOwner,
        loop: asyncio.AbstractEventLoop,
        seq: int,
        workflow_id: str,
        workflow_type: str,
        cancellation_type: ChildWorkflowCancellationType,
        hint: Any,
    ) -> None:
        super().__init__(loop=loop)
        self._owner = owner
        self._seq = seq
        self._id = workflow_id
        self.run_id: str | None = None
        self._first_execution_run_id: str | None = None
        self.workflow_type = workflow_type
        self._cancellation_type = cancellation_type
        self._hint = hint
        self._cancel_requested = False
        self._started = False

    def cancel(self, msg: Any = None) -> bool:
        return _request_cancel(self, self._owner.request_cancel_child)

    @property
    def id(self) -> str:
        """The child's workflow id."""
        return self._id

    @property
    def first_execution_run_id(self) -> str | None:
        """The child's first run id, once it has started."""
        return self._first_execution_run_id

    @first_execution_run_id.setter
    def first_execution_run_id(self, value: str | None) -> None:
        self._first_execution_run_id = value

    async def signal(self, signal: Any, arg: Any = _UNSET, *, args: Sequence[Any] = ()) -> None:
        """Send the child a signal (a ``@workflow.signal`` method or its name); returns once
        it is delivered."""
        values = ([] if arg is _UNSET else [arg]) + list(args)
        name = handler_name("signal", signal)
        await _runtime.current().signal_external(self.id, self.run_id, name, values)


_ChildHandle = ChildWorkflowHandle

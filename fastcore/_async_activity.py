"""Completing an activity from outside its attempt: ``Engine.get_async_activity_handle``.

An activity that calls ``activity.raise_complete_async()`` hands its ``task_token`` (or its
workflow id and activity id) to other code, which later calls the handle's ``complete``,
``fail``, ``heartbeat`` or ``report_cancellation``, as temporalio's ``AsyncActivityHandle``.
An outcome returns once it is durable: a completion reaches the workflow even if the engine
restarts right after (on a durable store the restarted engine reruns the still-pending
activity, which again completes asynchronously, and the same token completes it). ``fail``
is one failed attempt: the activity's retry policy decides whether it runs again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from ._activities import ActivityTask
from ._converter import DataConverter
from ._lifecycle import Lifecycle
from ._run import Run
from ._run_table import RunTable
from ._task_token import read_token
from .errors import ActivityNotFoundError, AsyncActivityCancelledError, InvalidArgumentError

__all__ = ["AsyncActivities", "AsyncActivityHandle"]


class AsyncActivities:
    """The engine side of ``AsyncActivityHandle``: finds the pending activity a handle names."""

    def __init__(self, *, lifecycle: Lifecycle, runs: RunTable, converter: DataConverter) -> None:
        self._life = lifecycle
        self._runs = runs
        self.converter = converter

    async def find(
        self,
        task_token: bytes | None,
        workflow_id: str | None,
        run_id: str | None,
        activity_id: str | None,
    ) -> ActivityTask[Run]:
        """The pending activity; ``ActivityNotFoundError`` when there is none."""
        if not self._life.ready:
            await self._life.ensure_started()
        seq: int | None = None
        if task_token is not None:
            workflow_id, run_id, seq = read_token(task_token)
        assert workflow_id is not None
        run = self._runs.by_run_id.get(run_id) if run_id else None
        if run is None:
            run = self._runs.by_workflow_id.get(workflow_id)
            if run is not None and run_id and run.record.run_id != run_id:
                run = None
        task = None
        if run is not None and run.open:
            if seq is not None:
                task = run.activities.get(seq)
            else:
                task = next(
                    (
                        t
                        for t in run.activities.values()
                        if t.event.attributes["activity_id"] == activity_id
                    ),
                    None,
                )
        if task is None or task.finished:
            what = f"activity {activity_id!r}" if seq is None else f"the activity (event {seq})"
            raise ActivityNotFoundError(
                f"{what} of workflow {workflow_id!r}"
                + (f" run {run_id!r}" if run_id else "")
                + " is not pending: it finished, its run closed, or it never was"
            )
        return task


class AsyncActivityHandle:
    """Completes, fails, heartbeats or cancels an activity from outside, as temporalio's."""

    def __init__(
        self,
        activities: AsyncActivities,
        *,
        task_token: bytes | None = None,
        workflow_id: str | None = None,
        run_id: str | None = None,
        activity_id: str | None = None,
    ) -> None:
        if task_token is None and (workflow_id is None or activity_id is None):
            raise InvalidArgumentError(
                "get_async_activity_handle needs task_token=..., or workflow_id=... and "
                "activity_id=... (run_id=... optional)"
            )
        if task_token is not None:
            read_token(task_token)  # a malformed token fails here, not at the first call
        self._activities = activities
        self._ref = (task_token, workflow_id, run_id, activity_id)

    async def _task(self) -> ActivityTask[Run]:
        return await self._activities.find(*self._ref)

    async def heartbeat(
        self,
        *details: Any,
        rpc_metadata: Mapping[str, str] | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> None:
        """Record progress (resets the heartbeat timeout); ``AsyncActivityCancelledError`` once
        the activity's cancellation was requested. ``rpc_*`` are accepted so code ports."""
        del rpc_metadata, rpc_timeout
        task = await self._task()
        if task.cancel_requested:
            raise AsyncActivityCancelledError()
        task.heartbeat(details)

    async def complete(
        self,
        result: Any = None,
        *,
        rpc_metadata: Mapping[str, str] | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> None:
        """Complete the activity with ``result``; returns once that is durable."""
        del rpc_metadata, rpc_timeout
        task = await self._task()
        payload = self._activities.converter.encode_one(result)
        task.wait_durable = True
        task.complete_external(payload)
        await self._durable(task)

    async def fail(
        self,
        error: Exception,
        *,
        last_heartbeat_details: Sequence[Any] = (),
        rpc_metadata: Mapping[str, str] | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> None:
        """Fail the running attempt with ``error``; the retry policy decides what follows."""
        del rpc_metadata, rpc_timeout
        task = await self._task()
        if not task.in_progress:
            raise ActivityNotFoundError(
                "the activity has no attempt in progress (it waits out a retry's backoff)"
            )
        if last_heartbeat_details:
            task.heartbeat_details = tuple(last_heartbeat_details)
        task.wait_durable = True
        task.fail_external(error)
        await self._durable(task)

    async def report_cancellation(
        self,
        *details: Any,
        rpc_metadata: Mapping[str, str] | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> None:
        """Report the activity cancelled (the workflow sees ``ActivityError`` caused by
        ``CancelledError``); returns once that is durable."""
        del rpc_metadata, rpc_timeout
        task = await self._task()
        task.wait_durable = True
        task.cancel_external(self._activities.converter.encode(list(details)))
        await self._durable(task)

    @staticmethod
    async def _durable(task: ActivityTask[Run]) -> None:
        task.wait_durable = False
        waiter = task.external_waiter
        task.external_waiter = None
        if waiter is not None:
            await waiter

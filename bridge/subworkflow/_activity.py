"""Worker side: fastcore workflows as Temporal activities, ``fastcore_activities(engine, ...)``.

One generic activity (``fastcore.run_workflow``) runs any of the given fastcore workflows in
the worker's engine. Temporal workflow code reaches it through
``bridge.execute_fastcore_workflow`` (``bridge.subworkflow._workflow_start``).

**Checkpoint.** While the sub-workflow runs, the activity heartbeats its history and where
it runs (``bridge.subworkflow._activity_checkpoint``), so a retry on any worker resumes it.

**Which run an attempt uses.** The run still open in this engine if an earlier attempt left it
here; else the checkpoint's run if it was open or completed; else the run this engine already
completed for this activity (its result was never reported); else a fresh run. A checkpoint
that ended in failure starts a fresh run: that is what a retry of a failed activity means.

**Cancellation.** Temporal's cancellation (``cancel_requested``) becomes a fastcore cancel:
the sub-workflow sees ``asyncio.CancelledError``, its cleanup runs, the activity waits for it
to end and reports cancelled (or its result, if the workflow chose to complete). On worker
shutdown the run is left as it is and the attempt fails with a retryable ``WorkerShutdown``
error, so a retry resumes it from its checkpoint. Other reasons (the server timed the attempt
out or forgot it) leave the run alone: a retry that lands on this worker picks it up.

**Failures.** Temporal accepts only an ``ApplicationError`` as the failure of an activity
attempt (the server refuses any other failure on top), so the activity raises
``bridge.to_temporal_error``'s: an ``ApplicationError`` made from the innermost failure (a
timeout typed ``TemporalTimeout:StartToClose`` and the like, a cancellation or termination
typed after it and not retried), caused by the sub-workflow's whole failure chain converted
kind for kind to ``temporalio.exceptions`` (``bridge._failures`` has the mapping).

Errors at the start (bad arguments, an id taken by another run) are non-retryable
``ApplicationError``s named after the fastcore error; a workflow type this worker does not
host is a retryable ``NotFoundError`` (as Temporal's own unregistered activity), so the retry
may reach a worker that hosts it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import temporalio.exceptions as texc
from temporalio import activity

import fastcore.errors as fc
from fastcore import Engine, WorkflowExecutionStatus, WorkflowHandle

from .._failures import application_failure, to_temporal_error
from ._activity_checkpoint import Checkpointer, FastcoreCheckpoint, checkpoint_header
from ._activity_mirror import MIRROR_FLUSH_TIMEOUT, MirrorStream, mirror_target
from ._workflow_start import FASTCORE_ACTIVITY_NAME, FastcoreWorkflowInput

__all__ = ["OWNER_MEMO_KEY", "fastcore_activities"]

OWNER_MEMO_KEY = "temporal_activity"
"""Memo key of a bridged run: the Temporal workflow id, run id and activity id that own it."""

_S = WorkflowExecutionStatus


class _Runner:
    """Runs one bridged sub-workflow per activity attempt."""

    def __init__(
        self,
        engine: Engine,
        workflows: Mapping[str, Any] | None,
        bridge_address: str | None,
        checkpoint_interval: float,
        on_timing: Callable[[float, float], None] | None,
    ) -> None:
        self.engine = engine
        self.workflows = workflows
        self.bridge_address = bridge_address
        self.checkpoint_interval = checkpoint_interval
        self.on_timing = on_timing
        self.host = socket.gethostname()
        self.pid = os.getpid()

    async def run(self, inp: FastcoreWorkflowInput) -> Any:
        if self.on_timing is None:
            return await self._run(inp, None)
        spent = [0.0]  # seconds awaiting the engine (start or import, then the result)
        start = time.perf_counter()
        result = await self._run(inp, spent)
        self.on_timing(time.perf_counter() - start, spent[0])
        return result

    async def _run(self, inp: FastcoreWorkflowInput, spent: list[float] | None) -> Any:
        info = activity.info()
        name = inp.workflow
        if self.workflows is not None and name not in self.workflows:
            raise texc.ApplicationError(
                f"fastcore workflow {name!r} is not registered on this worker (hosted: "
                f"{sorted(self.workflows)})",
                type="NotFoundError",
            )
        wid = inp.id or f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"
        owner = {
            "workflow_id": info.workflow_id,
            "run_id": info.workflow_run_id,
            "activity_id": info.activity_id,
        }
        t0 = time.perf_counter() if spent is not None else 0.0
        try:
            if info.attempt == 1 and not info.heartbeat_details:
                handle = await self._start(name, inp, wid, owner)
            else:
                handle = await self._attach(name, inp, wid, owner, info)
        except fc.FastcoreError as err:
            failure = application_failure(str(err), type=type(err).__name__, non_retryable=True)
            raise failure from None
        if spent is not None:
            spent[0] += time.perf_counter() - t0
        checkpointer: list[Checkpointer] = []
        mirrors: list[MirrorStream] = []
        follow = None
        if not info.is_local or inp.mirror:
            # Only runs that do not finish at once are checkpointed (and mirrored): the
            # callback fires only if result() below has to wait.
            def follow_run() -> None:
                if not info.is_local:
                    checkpointer.append(self._checkpointer(handle, name, info))
                if inp.mirror:
                    stream = self._mirror(handle, name, info, inp.state_query)
                    if stream is not None:
                        mirrors.append(stream)

            follow = asyncio.get_running_loop().call_soon(follow_run)
        flush = MIRROR_FLUSH_TIMEOUT.total_seconds()
        try:
            if spent is None:
                return await handle.result(result_type=object)
            t0 = time.perf_counter()
            result = await handle.result(result_type=object)
            spent[0] += time.perf_counter() - t0
            return result
        except fc.WorkflowFailureError as err:
            raise to_temporal_error(err.cause or err)  # noqa: B904 - the mapped chain is the cause
        except asyncio.CancelledError:
            details = activity.cancellation_details()
            if details is not None and details.cancel_requested:
                return await self._cancel(handle)
            flush = 0.0  # the run stays open: leave at once; a retry's mirror resends it
            if details is not None and details.worker_shutdown:
                raise texc.ApplicationError(
                    "the worker is shutting down; a retry resumes the fastcore workflow "
                    f"{handle.id!r} from its checkpoint",
                    type="WorkerShutdown",
                ) from None
            raise
        finally:
            if follow is not None:
                follow.cancel()
            for c in checkpointer:
                c.stop()
            for m in mirrors:
                # The last batch (the closing event) before the result: a whole mirror.
                await m.close(flush)

    def _mirror(
        self, handle: WorkflowHandle, name: str, info: activity.Info, state_query: str | None
    ) -> MirrorStream | None:
        target = mirror_target(info)
        if target is None:
            return None
        location = {
            "workflow_id": handle.id,
            "run_id": handle.run_id or handle.result_run_id or "",
            "workflow_type": name,
            "bridge_address": self.bridge_address or "",
            "identity": self.engine.identity,
            "host": self.host,
            "pid": self.pid,
            "activity_id": info.activity_id,
            "attempt": info.attempt,
        }
        return MirrorStream(
            handle, location, target, state_query=state_query, gap=self.checkpoint_interval
        )

    def _checkpointer(self, handle: WorkflowHandle, name: str, info: activity.Info) -> Checkpointer:
        header = checkpoint_header(
            handle.id,
            handle.run_id or handle.result_run_id or "",
            name,
            self.engine.identity,
            self.bridge_address,
            self.host,
            self.pid,
        )
        return Checkpointer.start(handle, header, info, self.checkpoint_interval)

    async def _start(
        self, name: str, inp: FastcoreWorkflowInput, wid: str, owner: dict[str, Any]
    ) -> WorkflowHandle:
        try:
            return await self.engine.start_workflow(
                name,
                args=inp.args,
                id=wid,
                execution_timeout=(
                    timedelta(seconds=inp.execution_timeout) if inp.execution_timeout else None
                ),
                memo={**(inp.memo or {}), OWNER_MEMO_KEY: owner},
            )
        except fc.WorkflowAlreadyStartedError:
            live = await self._describe(wid)
            if (
                live is None
                or live.status is not _S.RUNNING
                or live.memo.get(OWNER_MEMO_KEY) != owner
            ):
                raise
            return self.engine.get_workflow_handle(wid, run_id=live.run_id)

    async def _describe(self, wid: str) -> Any:
        try:
            return await self.engine.get_workflow_handle(wid).describe()
        except fc.WorkflowNotFoundError:
            return None

    async def _attach(
        self,
        name: str,
        inp: FastcoreWorkflowInput,
        wid: str,
        owner: dict[str, Any],
        info: activity.Info,
    ) -> WorkflowHandle:
        engine = self.engine
        live = await self._describe(wid)
        mine = live is not None and live.memo.get(OWNER_MEMO_KEY) == owner
        if live is not None and mine and live.status is _S.RUNNING:
            return engine.get_workflow_handle(wid, run_id=live.run_id)  # left here earlier
        cp = FastcoreCheckpoint.from_heartbeat_details(info.heartbeat_details)
        if cp is not None and cp.workflow_id == wid and cp.events:
            if live is not None and live.run_id == cp.run_id:
                if live.status is _S.COMPLETED:
                    return engine.get_workflow_handle(wid, run_id=live.run_id)
            elif cp.status in (_S.RUNNING, _S.COMPLETED):
                return await engine.import_history(cp.events)
        if live is not None and mine and live.status is _S.COMPLETED:
            return engine.get_workflow_handle(wid, run_id=live.run_id)  # result not reported
        return await self._start(name, inp, wid, owner)

    async def _cancel(self, handle: WorkflowHandle) -> Any:
        """Cancel the sub-workflow, wait for its cleanup, and report how it ended."""
        await handle.cancel()
        try:
            return await asyncio.shield(handle.result(result_type=object))
        except fc.WorkflowFailureError as err:
            if isinstance(err.cause, fc.CancelledError):
                raise asyncio.CancelledError() from None
            raise to_temporal_error(err.cause or err)  # noqa: B904 - the mapped chain is the cause


def fastcore_activities(
    engine: Engine,
    *,
    workflows: Sequence[Any] | None = None,
    bridge_address: str | None = None,
    activity_name: str = FASTCORE_ACTIVITY_NAME,
    checkpoint_interval: timedelta = timedelta(milliseconds=50),
    on_timing: Callable[[float, float], None] | None = None,
) -> list[Callable[[FastcoreWorkflowInput], Awaitable[Any]]]:
    """Temporal activities that run fastcore workflows in ``engine``; register them on a Worker.

    ``Worker(client, task_queue=..., workflows=[...], activities=fastcore_activities(engine,
    workflows=[Checkout]))``; Temporal workflow code then calls
    ``await bridge.execute_fastcore_workflow(Checkout.run, order, ...)``.

    Args:
        engine: The worker's fastcore engine (started, or started on first use).
        workflows: The fastcore workflows (classes, run methods or names) this worker hosts;
            each must be registered with ``engine``. None hosts every workflow it has.
        bridge_address: This worker's gRPC bridge endpoint, recorded in each checkpoint so
            other processes can reach the sub-workflow (signals, queries) where it runs.
        activity_name: The activity's name (one per worker; the workflow side's default).
        checkpoint_interval: The shortest time between two checkpoint heartbeats.
        on_timing: Called after each successful attempt with the seconds spent in the
            activity and the part of them spent awaiting the engine (start or import, and
            the result): the difference is the bridge's own cost. For benchmarks.

    Returns:
        A list with the one generic activity.

    Raises:
        ValueError: A workflow in ``workflows`` is not registered with ``engine``.
    """
    hosted: dict[str, Any] | None = None
    if workflows is not None:
        hosted = {}
        for ref in workflows:
            defn = engine.workflow_definition(ref)
            if defn is None or defn.name is None:
                label = ref if isinstance(ref, str) else getattr(ref, "__qualname__", repr(ref))
                raise ValueError(f"fastcore workflow {label!r} is not registered with the engine")
            hosted[defn.name] = defn
    runner = _Runner(engine, hosted, bridge_address, checkpoint_interval.total_seconds(), on_timing)

    async def run_fastcore_workflow(input: FastcoreWorkflowInput) -> Any:
        return await runner.run(input)

    run_fastcore_workflow.__doc__ = "Run a fastcore workflow in this worker's engine."
    return [activity.defn(name=activity_name)(run_fastcore_workflow)]

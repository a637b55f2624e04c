"""Update-with-start: ``WithStartWorkflowOperation`` and the updates a start carries.

As temporalio's: ``Engine.start_update_with_start_workflow(update, ...,
start_workflow_operation=WithStartWorkflowOperation(Workflow.run, id=..., id_conflict_policy=
USE_EXISTING))`` starts the workflow unless one with the id runs (then, by the conflict
policy, updates that one, fails, or terminates it and starts anew), and sends the update in
the new run's first activation: its validator runs on the fresh workflow object and its
handler before the run method, as in Temporal's first workflow task. The operation's
``workflow_handle()`` gives the workflow's handle once started, whatever became of the update.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from ._converter import DataConverter, encode_arguments
from ._definitions import WorkflowDefinition, handler_name
from ._handles import WorkflowHandle
from ._operations import HandleOperations
from ._payload import Payload
from ._run import Run, new_id
from ._updates import StartedUpdate, Updates, WorkflowUpdateStage, rejection
from .common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from .errors import InvalidArgumentError

__all__ = ["StartUpdates", "UpdateWithStart", "WithStartWorkflowOperation"]


class StartUpdates:
    """Updates a start carries: validated and accepted by the new run's first activation.

    ``items`` are (update id, name, payloads, decoded arguments); ``rejected`` gets the
    validator's error for each one it refused.
    """

    __slots__ = ("items", "rejected")

    def __init__(self, items: list[tuple[str, str, list[Payload], list[Any]]]) -> None:
        self.items = items
        self.rejected: dict[str, BaseException] = {}


class WithStartWorkflowOperation:
    """The start half of an update-with-start (temporalio's arguments).

    ``id_conflict_policy`` is required and not ``UNSPECIFIED``, as in temporalio. One
    operation is used once.
    """

    def __init__(
        self,
        workflow: Any,
        arg: Any = ...,
        *,
        args: Sequence[Any] = (),
        id: str,
        task_queue: str | None = None,
        id_conflict_policy: WorkflowIDConflictPolicy,
        result_type: Any = None,
        execution_timeout: timedelta | None = None,
        run_timeout: timedelta | None = None,
        task_timeout: timedelta | None = None,
        id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        retry_policy: RetryPolicy | None = None,
        cron_schedule: str = "",
        memo: Mapping[str, Any] | None = None,
        search_attributes: Any = None,
        static_summary: str | None = None,
        static_details: str | None = None,
        start_delay: timedelta | None = None,
        priority: Any = None,
        versioning_override: Any = None,
        stack_level: int = 2,
    ) -> None:
        if id_conflict_policy == WorkflowIDConflictPolicy.UNSPECIFIED:
            raise ValueError("WorkflowIDConflictPolicy is required")
        self.workflow = workflow
        self.args = ([] if arg is ... else [arg]) + list(args)
        self.id = id
        self.result_type = result_type
        self.id_conflict_policy = id_conflict_policy
        #: the start's other options, by ``Engine.start_workflow``'s names
        self.options: dict[str, Any] = {
            "task_queue": task_queue,
            "execution_timeout": execution_timeout,
            "run_timeout": run_timeout,
            "id_reuse_policy": id_reuse_policy,
            "retry_policy": retry_policy,
            "memo": memo,
            "search_attributes": search_attributes,
        }
        #: options given that the engine may not take (checked when the operation is used)
        self.extra: dict[str, Any] = {
            k: v
            for k, v in (
                # an update is accepted by the run's first activation: not after a backoff
                ("cron_schedule", cron_schedule),
                ("start_delay", start_delay),
                ("versioning_override", versioning_override),
            )
            if v
        }
        del task_timeout, static_summary, static_details, priority, stack_level
        self._used = False
        self._handle: WorkflowHandle | None = None
        self._error: BaseException | None = None
        self._done: asyncio.Event | None = None

    def _mark_used(self) -> None:
        if self._used:
            raise RuntimeError("WithStartWorkflowOperation cannot be reused")
        self._used = True

    def _set_handle(self, handle: WorkflowHandle) -> None:
        self._handle = handle
        if self._done is not None:
            self._done.set()

    def _set_error(self, error: BaseException) -> None:
        self._error = error
        if self._done is not None:
            self._done.set()

    async def workflow_handle(self) -> WorkflowHandle:
        """The workflow's handle once it runs (raises what the start raised)."""
        if self._handle is None and self._error is None:
            if self._done is None:
                self._done = asyncio.Event()
            await self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._handle is not None
        return self._handle


#: ``Engine._start``: start a run (or find the running one); (run, whether it started).
StartRun = Callable[..., Awaitable[tuple[Run, bool]]]


class UpdateWithStart:
    """Sends an update with a start (``Engine.start_update_with_start_workflow``)."""

    def __init__(
        self,
        *,
        workflow_for_start: Callable[[Any], tuple[WorkflowDefinition, str]],
        converter: DataConverter,
        start: StartRun,
        updates: Updates,
        operations: HandleOperations,
    ) -> None:
        self._workflow_for_start = workflow_for_start
        self._converter = converter
        self._start = start
        self._updates = updates
        self._ops = operations

    async def send(
        self,
        op: WithStartWorkflowOperation,
        update: Any,
        update_args: list[Any],
        update_id: str | None,
        stage: WorkflowUpdateStage,
    ) -> tuple[StartedUpdate, Run]:
        """Start (or find) the operation's workflow and follow the update to ``stage``.

        Raises:
            InvalidArgumentError: The arguments do not fit the update, or the operation asks
                for what an update-with-start cannot do (an update the workflow has no
                handler for is rejected: the handle's outcome, as Temporal's).
            WorkflowAlreadyStartedError: The workflow runs and the conflict policy is FAIL.
        """
        unsupported = sorted(op.extra)
        if unsupported:
            raise InvalidArgumentError(
                f"update-with-start does not support {', '.join(unsupported)}"
            )
        defn, wf_name = self._workflow_for_start(op.workflow)
        name = handler_name("update", update)
        # (a handler the workflow sets at run time is looked up by the run: unknown here)
        h = defn.handler("update", name)
        payloads, decoded = encode_arguments(
            self._converter,
            update_args,
            h is None or h.dynamic,
            h.checker if h is not None else None,
            h.arg_hints if h is not None else None,
            "update",
            name,
        )
        del wf_name
        uid = update_id or new_id()
        carried = StartUpdates([(uid, name, payloads, decoded)])
        run, started = await self._start(
            op.workflow,
            op.args,
            id=op.id,
            id_conflict_policy=op.id_conflict_policy,
            start_updates=carried,
            **op.options,
        )
        rec = run.record
        op._set_handle(
            WorkflowHandle(
                self._ops,
                rec.workflow_id,
                result_run_id=rec.run_id,
                first_execution_run_id=rec.run_id,
                result_type=op.result_type,
            )
        )
        if not started:  # the running workflow (USE_EXISTING): an update as any other
            sent = await self._updates.start(
                rec.workflow_id, rec.run_id, name, update_args, uid, stage
            )
            return sent, run
        rejected = carried.rejected.get(uid)
        if rejected is not None:
            outcome = rejection(rejected, self._converter)
            return StartedUpdate(rec.workflow_id, rec.run_id, uid, name, outcome), run
        return await self._updates.follow(run, uid, name, stage), run

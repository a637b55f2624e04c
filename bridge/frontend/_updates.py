"""Updates: ``UpdateWorkflowExecution``, ``PollWorkflowExecutionUpdate`` and update-with-start
(``ExecuteMultiOperation``).

Keyed by update id, so a retried call is safe: the run's history says whether an update was
accepted or completed (and its outcome, as the translated history records it), and an
update still in its validator is in flight here; either way a second call with the same id
joins it instead of running the handler again. The stage reported is the one reached:
``ACCEPTED`` once the history records the acceptance, ``COMPLETED`` with the outcome once it
records the completion (or at once for a rejection, which Temporal does not record). A call
that asks for ``COMPLETED`` waits, woken by the engine's change notification, until shortly
before its deadline and then answers ``ACCEPTED``; the client polls on. The update itself runs
detached from the call, so a client that goes away does not cancel it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc.aio
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.update.v1 import Outcome, UpdateRef
from temporalio.api.workflowservice.v1 import (
    ExecuteMultiOperationRequest,
    ExecuteMultiOperationResponse,
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowExecutionUpdateResponse,
    StartWorkflowExecutionResponse,
    UpdateWorkflowExecutionRequest,
    UpdateWorkflowExecutionResponse,
)

from fastcore import EventType
from fastcore.errors import InvalidArgumentError, WorkflowUpdateFailedError
from fastcore.integration import to_failure

from ..history import failure_to_temporal
from ._errors import FrontendError, invalid, multi_operation_failure, not_found, status_of
from ._history import HistoryReader, RunHistory
from ._payloads import decode, to_payloads
from ._start import Starter
from ._waiting import Budget, wait_for_event

__all__ = ["Updates"]

_ACCEPTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
_COMPLETED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
_ADMITTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
_RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


@dataclass
class _Progress:
    """How far an update got: its stage, and its outcome once completed."""

    stage: int
    outcome: Outcome | None = None


def _recorded(run: RunHistory, update_id: str) -> _Progress | None:
    """The update's stage and outcome as the run's history records them."""
    accepted = False
    for ev in run.source:
        a = ev.attributes
        if a.get("update_id") != update_id:
            continue
        if ev.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            accepted = True
        elif ev.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            # As the translated history writes the completion (``bridge.history``).
            outcome = Outcome()
            if a.get("failure") is not None:
                outcome.failure.CopyFrom(failure_to_temporal(a["failure"]))
            else:
                result = a.get("result")
                outcome.success.CopyFrom(to_payloads([result] if result is not None else []))
            return _Progress(_COMPLETED, outcome)
    return _Progress(_ACCEPTED) if accepted else None


class Updates:
    """Runs updates once per id and reports their stage."""

    def __init__(
        self, engine: Any, histories: HistoryReader, closing: asyncio.Event, long_poll_cap: float
    ) -> None:
        self._engine = engine
        self._converter = engine.converter
        self._histories = histories
        self._closing = closing
        self._cap = long_poll_cap
        self._inflight: dict[tuple[str, str, str], asyncio.Task[Any]] = {}

    def close(self) -> None:
        """Stop waiting for updates in flight (the engine still completes them)."""
        for task in list(self._inflight.values()):
            task.cancel()

    def _launch(self, run: RunHistory, update_id: str, name: str, args: list[Any]) -> None:
        key = (run.workflow_id, run.run_id, update_id)
        handle = self._engine.get_workflow_handle(run.workflow_id, run_id=run.run_id)
        task = asyncio.ensure_future(handle.execute_update(name, args=args, id=update_id))
        self._inflight[key] = task

        def done(t: asyncio.Task[Any], key: tuple[str, str, str] = key) -> None:
            if self._inflight.get(key) is t:
                del self._inflight[key]
            if not t.cancelled():
                t.exception()  # read by the waiting call, if any; never "never retrieved"

        task.add_done_callback(done)

    def _rejection(self, task: asyncio.Task[Any]) -> _Progress | None:
        """The outcome of an update the engine refused before accepting it; None when it
        was accepted (its outcome is in the history).

        Raises:
            Exception: What the engine raised otherwise (e.g. the run closed meanwhile).
        """
        if task.cancelled():
            return None
        err = task.exception()
        if isinstance(err, WorkflowUpdateFailedError) and err.rejected:
            cause = err.__cause__ or err
        elif isinstance(err, InvalidArgumentError):  # no such update, wrong arguments
            cause = err
        elif err is None or isinstance(err, WorkflowUpdateFailedError):
            return None  # completed, or its handler failed: recorded either way
        else:
            raise err
        failure = failure_to_temporal(to_failure(cause, self._converter))
        return _Progress(_COMPLETED, Outcome(failure=failure))

    async def _follow(
        self, run: RunHistory, update_id: str, wanted: int, budget: Budget
    ) -> tuple[RunHistory, _Progress | None]:
        """Wait until the update reaches ``wanted`` (or is rejected) or the budget is spent."""
        key = (run.workflow_id, run.run_id, update_id)
        task = self._inflight.get(key)
        read_after_done = False
        while True:
            progress = _recorded(run, update_id)
            task = self._inflight.get(key) or task  # kept: a finished task leaves the map
            if progress is None and task is not None and task.done():
                progress = self._rejection(task)
                if progress is None:  # accepted: the history has it once read again
                    if read_after_done:
                        raise FrontendError(
                            grpc.StatusCode.INTERNAL,
                            f"update {update_id!r} finished but the run's history has no record",
                        )
                    read_after_done = True
                    run = await self._histories.read(run.workflow_id, run.run_id)
                    continue
            if progress is not None and progress.stage >= wanted:
                return run, progress
            if (progress is None and task is None) or run.closed:
                return run, progress
            if not await wait_for_event(
                self._engine.get_workflow_handle(run.workflow_id, run_id=run.run_id),
                len(run.source) + 1,
                budget.left(),
                self._closing,
                also=task,
            ):
                return run, progress
            run = await self._histories.read(run.workflow_id, run.run_id)

    async def update(
        self, request: UpdateWorkflowExecutionRequest, context: grpc.aio.ServicerContext
    ) -> UpdateWorkflowExecutionResponse:
        """``UpdateWorkflowExecution``."""
        execution = request.workflow_execution
        if not execution.workflow_id:
            raise invalid("WorkflowExecution.WorkflowId is not set on request.")
        name = request.request.input.name
        if not name:
            raise invalid("Update name is not set on request.")
        update_id = request.request.meta.update_id or str(uuid.uuid4())
        args = decode(request.request.input.args.payloads, self._converter, f"update {name!r}")
        wanted = max(int(request.wait_policy.lifecycle_stage), int(_ACCEPTED))
        budget = Budget(context, self._cap)
        run = await self._histories.read(execution.workflow_id, execution.run_id or None)
        key = (run.workflow_id, run.run_id, update_id)
        if _recorded(run, update_id) is None and key not in self._inflight:
            if run.closed:
                raise not_found("workflow execution already completed")
            self._launch(run, update_id, name, args)
        run, progress = await self._follow(run, update_id, wanted, budget)
        stage = progress.stage if progress is not None else int(_ADMITTED)
        response = UpdateWorkflowExecutionResponse(
            update_ref=_ref(run, update_id),
            stage=stage,  # type: ignore[arg-type]
        )
        if progress is not None and progress.outcome is not None:
            response.outcome.CopyFrom(progress.outcome)
        return response

    async def poll(
        self, request: PollWorkflowExecutionUpdateRequest, context: grpc.aio.ServicerContext
    ) -> PollWorkflowExecutionUpdateResponse:
        """``PollWorkflowExecutionUpdate``: the stage (and outcome) of a known update."""
        ref = request.update_ref
        if not ref.workflow_execution.workflow_id or not ref.update_id:
            raise invalid("UpdateRef needs a workflow id and an update id.")
        run = await self._histories.read(
            ref.workflow_execution.workflow_id, ref.workflow_execution.run_id or None
        )
        wanted = int(request.wait_policy.lifecycle_stage)
        budget = Budget(context, self._cap if wanted else 0.0)
        run, progress = await self._follow(run, ref.update_id, max(wanted, 1), budget)
        if progress is None:
            raise not_found(
                f"update {ref.update_id!r} not found on workflow "
                f"{run.workflow_id!r} (run {run.run_id})"
            )
        response = PollWorkflowExecutionUpdateResponse(
            update_ref=_ref(run, ref.update_id),
            stage=progress.stage,  # type: ignore[arg-type]
        )
        if progress.outcome is not None:
            response.outcome.CopyFrom(progress.outcome)
        return response

    async def update_with_start(
        self,
        request: ExecuteMultiOperationRequest,
        context: grpc.aio.ServicerContext,
        starter: Starter,
    ) -> ExecuteMultiOperationResponse:
        """``ExecuteMultiOperation`` as update-with-start: the start (or the running
        workflow, by its conflict policy), then the update on that run."""
        ops = request.operations
        if (
            len(ops) != 2
            or not ops[0].HasField("start_workflow")
            or not ops[1].HasField("update_workflow")
        ):
            raise invalid(
                "ExecuteMultiOperation supports exactly [start_workflow, update_workflow]"
            )
        start, update = ops[0].start_workflow, ops[1].update_workflow
        if update.workflow_execution.workflow_id != start.workflow_id:
            raise invalid("the update's workflow id must be the start's")
        if update.workflow_execution.run_id:
            raise invalid("the update of an update-with-start must not name a run id")
        started = await _as_operation(0, lambda: starter.start_for_update(start))
        targeted = UpdateWorkflowExecutionRequest()
        targeted.CopyFrom(update)
        targeted.workflow_execution.run_id = started.run_id
        updated = await _as_operation(1, lambda: self.update(targeted, context))
        updated.update_ref.workflow_execution.run_id = started.run_id
        response = ExecuteMultiOperationResponse()
        response.responses.add().start_workflow.CopyFrom(
            StartWorkflowExecutionResponse(
                run_id=started.run_id, started=started.started, status=_RUNNING
            )
        )
        response.responses.add().update_workflow.CopyFrom(updated)
        return response


async def _as_operation(index: int, call: Callable[[], Any]) -> Any:
    """Run one operation of a multi-operation; its error names it and aborts the other."""
    try:
        return await call()
    except Exception as err:
        error: FrontendError = status_of(err)
        raise multi_operation_failure(index, error) from err


def _ref(run: RunHistory, update_id: str) -> UpdateRef:
    return UpdateRef(
        workflow_execution=WorkflowExecution(workflow_id=run.workflow_id, run_id=run.run_id),
        update_id=update_id,
    )

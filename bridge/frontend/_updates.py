"""Updates: ``UpdateWorkflowExecution``, ``PollWorkflowExecutionUpdate`` and update-with-start
(``ExecuteMultiOperation``), on the engine's own updates (and its update-with-start: a new
run gets the update in its first activation).

The engine keys updates by id (``WorkflowHandle.start_update``): a retried call joins the
first instead of running the handler again, and an outcome is found by its id, also after a
restart. The stage reported is the one reached: ``ACCEPTED`` once the acceptance is durable,
``COMPLETED`` with the outcome once the completion is (or at once for a rejection, which
Temporal does not record; an update name the workflow lacks, or arguments it cannot take,
are rejections too, as Temporal's SDKs report them). A call that asks for ``COMPLETED`` waits
until shortly before its deadline and then answers ``ACCEPTED``; the client polls on. The
update runs in the engine, not in the call, so a client that goes away does not cancel it.
Payloads pass through undecoded both ways (``fastcore.integration.EncodedValue``).
"""

from __future__ import annotations

import asyncio
import uuid
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
from fastcore.client import WorkflowUpdateHandle, WorkflowUpdateStage
from fastcore.errors import InvalidArgumentError, WorkflowUpdateFailedError
from fastcore.integration import EncodedValue, to_failure, update_outcome_known

from ..history import failure_to_temporal
from ._errors import invalid, multi_operation_failure, not_found, status_of
from ._history import HistoryReader, RunHistory
from ._payloads import encoded, to_payloads
from ._start import Starter, UpdateAfterStartError
from ._waiting import Budget

__all__ = ["Updates"]

_ACCEPTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
_COMPLETED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
_RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


class Updates:
    """Sends updates to the engine (once per id) and reports their stage."""

    def __init__(
        self, engine: Any, histories: HistoryReader, closing: asyncio.Event, long_poll_cap: float
    ) -> None:
        self._engine = engine
        self._converter = engine.converter
        self._histories = histories
        self._closing = closing
        self._cap = long_poll_cap

    def close(self) -> None:
        """Nothing to stop: updates run in the engine, calls only wait for them."""

    async def _rejected_outcome(self, err: Exception) -> Outcome:
        """The outcome of an update the engine refused before accepting it."""
        cause = err.__cause__ if isinstance(err, WorkflowUpdateFailedError) else err
        failure = failure_to_temporal(to_failure(cause or err, self._converter))
        return Outcome(failure=failure)

    async def _outcome(self, handle: WorkflowUpdateHandle[Any], budget: Budget) -> Outcome | None:
        """The update's outcome, or None when it did not complete within the budget."""
        waiting = asyncio.ensure_future(handle.result())
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            done, _ = await asyncio.wait(
                {waiting, closing}, timeout=budget.left(), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closing.cancel()
        if waiting not in done:
            waiting.cancel()  # only this wait: the update goes on in the engine
            return None
        try:
            value = waiting.result()
        except WorkflowUpdateFailedError as err:
            cause = err.__cause__ or err
            return Outcome(failure=failure_to_temporal(to_failure(cause, self._converter)))
        payloads = [value.payload] if isinstance(value, EncodedValue) else []
        return Outcome(success=to_payloads(payloads))

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
        wanted = max(int(request.wait_policy.lifecycle_stage), int(_ACCEPTED))
        budget = Budget(context, self._cap)
        handle = self._engine.get_workflow_handle(
            execution.workflow_id, run_id=execution.run_id or None
        )
        try:
            sent = await handle.start_update(
                name,
                args=encoded(request.request.input.args.payloads),
                id=update_id,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                result_type=EncodedValue,
            )
        except InvalidArgumentError as err:  # no such update, or arguments it cannot take
            response = UpdateWorkflowExecutionResponse(
                stage=_COMPLETED,
                update_ref=_ref(execution.workflow_id, execution.run_id, update_id),
            )
            response.outcome.CopyFrom(await self._rejected_outcome(err))
            return response
        run_id = await self._run_of(handle, execution.run_id)
        return await self._respond(sent, execution.workflow_id, run_id, wanted, budget)

    async def _respond(
        self,
        sent: WorkflowUpdateHandle[Any],
        workflow_id: str,
        run_id: str,
        wanted: int,
        budget: Budget,
    ) -> UpdateWorkflowExecutionResponse:
        """The answer for an accepted (or rejected) update: its stage, and its outcome once
        completed (waiting for it within the budget when the client asked for it)."""
        response = UpdateWorkflowExecutionResponse(
            stage=_ACCEPTED, update_ref=_ref(workflow_id, run_id, sent.id)
        )
        if wanted >= _COMPLETED or update_outcome_known(sent):
            outcome = await self._outcome(sent, budget)
            if outcome is not None:
                response.stage = _COMPLETED
                response.outcome.CopyFrom(outcome)
        return response

    async def _run_of(self, handle: Any, run_id: str) -> str:
        """The run an update went to (the handle's, or the latest run's)."""
        if run_id:
            return run_id
        return str((await handle.describe()).run_id)

    async def poll(
        self, request: PollWorkflowExecutionUpdateRequest, context: grpc.aio.ServicerContext
    ) -> PollWorkflowExecutionUpdateResponse:
        """``PollWorkflowExecutionUpdate``: the stage (and outcome) of a known update."""
        ref = request.update_ref
        wid, rid = ref.workflow_execution.workflow_id, ref.workflow_execution.run_id or None
        if not wid or not ref.update_id:
            raise invalid("UpdateRef needs a workflow id and an update id.")
        wanted = int(request.wait_policy.lifecycle_stage)
        run = await self._histories.read(wid, rid)
        stage = _recorded_stage(run, ref.update_id)
        if stage is None:
            raise not_found(
                f"update {ref.update_id!r} not found on workflow {wid!r} (run {run.run_id})"
            )
        response = PollWorkflowExecutionUpdateResponse(
            update_ref=_ref(wid, run.run_id, ref.update_id), stage=_ACCEPTED
        )
        if stage < _COMPLETED and wanted < _COMPLETED:
            return response
        handle = self._engine.get_workflow_update_handle(
            ref.update_id, wid, workflow_run_id=run.run_id, result_type=EncodedValue
        )
        outcome = await self._outcome(handle, Budget(context, self._cap))
        if outcome is not None:
            response.stage = _COMPLETED
            response.outcome.CopyFrom(outcome)
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
        name = update.request.input.name
        if not name:
            raise invalid("Update name is not set on request.")
        update_id = update.request.meta.update_id or str(uuid.uuid4())
        args = encoded(update.request.input.args.payloads)
        try:
            started, sent = await starter.start_with_update(start, name, args, update_id)
        except UpdateAfterStartError as after:
            raise multi_operation_failure(1, status_of(after.__cause__ or after)) from after
        except Exception as err:
            raise multi_operation_failure(0, status_of(err)) from err
        wanted = max(int(update.wait_policy.lifecycle_stage), int(_ACCEPTED))
        updated = await self._respond(
            sent, start.workflow_id, started.run_id, wanted, Budget(context, self._cap)
        )
        response = ExecuteMultiOperationResponse()
        response.responses.add().start_workflow.CopyFrom(
            StartWorkflowExecutionResponse(
                run_id=started.run_id, started=started.started, status=_RUNNING
            )
        )
        response.responses.add().update_workflow.CopyFrom(updated)
        return response


def _recorded_stage(run: RunHistory, update_id: str) -> int | None:
    """How far the run's history says the update got (None: it never saw the id)."""
    stage = None
    for ev in run.source:
        if ev.attributes.get("update_id") != update_id:
            continue
        if ev.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            return int(_COMPLETED)
        if ev.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            stage = int(_ACCEPTED)
    return stage


def _ref(workflow_id: str, run_id: str, update_id: str) -> UpdateRef:
    return UpdateRef(
        workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        update_id=update_id,
    )

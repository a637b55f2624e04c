"""Starting runs: ``StartWorkflowExecution``, ``SignalWithStartWorkflowExecution`` and the
start half of update-with-start.

As Temporal's frontend: a start is idempotent on its ``request_id`` (a retried call gets the
run it started, not ``ALREADY_EXISTS``): the engine records the id in the run's start event
(``fastcore.integration.request_id``), so this holds across restarts; a workflow id that is
taken answers
``ALREADY_EXISTS`` with ``WorkflowExecutionAlreadyStartedFailure`` (so clients raise
``WorkflowAlreadyStartedError``); the id-reuse and id-conflict policies are the engine's,
which has Temporal's. The task queue a client names, the search attributes and a cron
schedule go to the engine, which records them (``describe()``, list rows and list filters
read them back; an engine runs every workflow it has registered, whatever the queue); a
workflow type the engine has not registered is ``INVALID_ARGUMENT`` (fastcore refuses at
the call what Temporal would park). Options the engine cannot honour (a start delay,
completion callbacks) are refused by name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import RetryPolicy as TRetryPolicy
from temporalio.api.enums.v1 import WorkflowExecutionStatus as TStatus
from temporalio.api.workflowservice.v1 import (
    SignalWithStartWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionResponse,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
)

from fastcore import (
    RetryPolicy,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from fastcore.client import WithStartWorkflowOperation, WorkflowUpdateHandle, WorkflowUpdateStage
from fastcore.errors import WorkflowAlreadyStartedError, WorkflowNotFoundError
from fastcore.integration import EncodedValue, request_id

from ._errors import already_started, invalid
from ._payloads import encoded, encoded_memo
from ._search_attributes import from_temporal_attributes

__all__ = ["Launch", "Started", "Starter", "UpdateAfterStartError"]

_RUNNING = TStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
StartRequest = StartWorkflowExecutionRequest | SignalWithStartWorkflowExecutionRequest


#: Starts the workflow type with the engine's start options; gives its handle.
Launch = Callable[[str, dict[str, Any]], Awaitable[Any]]


class UpdateAfterStartError(Exception):
    """The start of an update-with-start happened; the update call then failed."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"the update failed after run {run_id} started")
        self.run_id = run_id


@dataclass
class Started:
    """The outcome of a start: the run, and whether this call started it."""

    run_id: str
    started: bool


def _retry_policy(msg: TRetryPolicy) -> RetryPolicy:
    try:
        return RetryPolicy(
            initial_interval=(
                msg.initial_interval.ToTimedelta()
                if msg.HasField("initial_interval")
                else timedelta(seconds=1)
            ),
            backoff_coefficient=msg.backoff_coefficient or 2.0,
            maximum_interval=(
                msg.maximum_interval.ToTimedelta() if msg.HasField("maximum_interval") else None
            ),
            maximum_attempts=msg.maximum_attempts,
            non_retryable_error_types=list(msg.non_retryable_error_types) or None,
        )
    except ValueError as err:
        raise invalid(f"retry_policy: {err}") from None


def _refuse_unsupported(request: StartRequest) -> None:
    if isinstance(request, StartWorkflowExecutionRequest) and request.completion_callbacks:
        raise invalid("completion_callbacks are not supported by the fastcore engine")


class Starter:
    """Starts runs on the engine from Temporal's start requests."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def _options(self, request: StartRequest) -> dict[str, Any]:
        """The engine's start options for a request (validated)."""
        if not request.workflow_id:
            raise invalid("WorkflowId is not set on request.")
        if not request.workflow_type.name:
            raise invalid("WorkflowType is not set on request.")
        if not request.task_queue.name:
            raise invalid("TaskQueue is not set on request.")
        _refuse_unsupported(request)
        options: dict[str, Any] = {
            "args": encoded(request.input.payloads),
            "id": request.workflow_id,
            "task_queue": request.task_queue.name,
        }
        if request.HasField("workflow_execution_timeout"):
            options["execution_timeout"] = request.workflow_execution_timeout.ToTimedelta()
        if request.HasField("workflow_run_timeout"):
            options["run_timeout"] = request.workflow_run_timeout.ToTimedelta()
        if request.workflow_id_reuse_policy:
            options["id_reuse_policy"] = WorkflowIDReusePolicy(request.workflow_id_reuse_policy)
        if request.workflow_id_conflict_policy:
            options["id_conflict_policy"] = WorkflowIDConflictPolicy(
                request.workflow_id_conflict_policy
            )
        if request.HasField("retry_policy"):
            options["retry_policy"] = _retry_policy(request.retry_policy)
        if request.memo.fields:
            options["memo"] = encoded_memo(request.memo)
        if request.cron_schedule:
            options["cron_schedule"] = request.cron_schedule
        if request.HasField("workflow_start_delay"):
            options["start_delay"] = request.workflow_start_delay.ToTimedelta()
        attrs = from_temporal_attributes(
            request.search_attributes, self._engine.search_attribute_keys
        )
        if attrs is not None:
            options["search_attributes"] = attrs
        return options

    async def _open_run(self, workflow_id: str) -> str | None:
        """The run id of the workflow's open run, or None."""
        try:
            desc = await self._engine.get_workflow_handle(workflow_id).describe()
        except WorkflowNotFoundError:
            return None
        return str(desc.run_id) if desc.status is WorkflowExecutionStatus.RUNNING else None

    async def _start(
        self, request: StartRequest, launch: Launch | None = None, **extra: Any
    ) -> Started:
        wid = request.workflow_id
        options = self._options(request)
        options.update(extra)
        running = None
        if (
            options.get("id_conflict_policy") is WorkflowIDConflictPolicy.USE_EXISTING
            or "start_signal" in options  # signal-with-start signals a running workflow
        ):
            running = await self._open_run(wid)
        try:
            with request_id(request.request_id):  # a retry of a start gets the run it made
                if launch is None:
                    handle = await self._engine.start_workflow(
                        request.workflow_type.name, **options
                    )
                else:
                    handle = await launch(request.workflow_type.name, options)
        except WorkflowAlreadyStartedError as err:
            run_id = err.run_id or ""
            first = await self._start_request_id(wid, run_id)
            raise already_started(
                f"Workflow execution is already running. WorkflowId: {wid}, RunId: {run_id}.",
                first,
                run_id,
            ) from None
        run_id = str(handle.result_run_id)
        return Started(run_id, run_id != running)

    async def _start_request_id(self, workflow_id: str, run_id: str) -> str:
        """The request id the run's start recorded ("" when none: started by fastcore code)."""
        try:
            events = await self._engine.get_workflow_handle(
                workflow_id, run_id=run_id
            ).fetch_history()
        except WorkflowNotFoundError:
            return ""
        return str(events[0].attributes.get("request_id") or "") if events else ""

    async def start(self, request: StartWorkflowExecutionRequest) -> StartWorkflowExecutionResponse:
        """``StartWorkflowExecution``."""
        started = await self._start(request)
        return StartWorkflowExecutionResponse(
            run_id=started.run_id, started=started.started, status=_RUNNING
        )

    async def signal_with_start(
        self, request: SignalWithStartWorkflowExecutionRequest
    ) -> SignalWithStartWorkflowExecutionResponse:
        """``SignalWithStartWorkflowExecution``: signal the open run, or start one with the
        signal as its first input."""
        if not request.signal_name:
            raise invalid("SignalName is not set on request.")
        if int(request.workflow_id_conflict_policy) == WorkflowIDConflictPolicy.FAIL:
            raise invalid(
                "WorkflowIdConflictPolicy FAIL is not supported with SignalWithStart "
                "(it always signals a running workflow)"
            )
        # the engine's signal-with-start: a running workflow is signalled (its start delay
        # ends), else a new run starts with the signal as its first input
        started = await self._start(
            request,
            start_signal=request.signal_name,
            start_signal_args=encoded(request.signal_input.payloads),
        )
        return SignalWithStartWorkflowExecutionResponse(
            run_id=started.run_id, started=started.started
        )

    async def start_with_update(
        self,
        request: StartWorkflowExecutionRequest,
        name: str,
        args: list[Any],
        update_id: str,
    ) -> tuple[Started, WorkflowUpdateHandle[Any]]:
        """Update-with-start on the engine's own: a new run gets the update in its first
        activation, a running one (by the conflict policy) as any update.

        Raises:
            UpdateAfterStartError: The start happened and the update call failed (the
                update's own error is its ``__cause__``).
        """
        if not request.workflow_id_conflict_policy:
            raise invalid(
                "WorkflowIdConflictPolicy is required for update-with-start "
                "(USE_EXISTING, FAIL or TERMINATE_EXISTING)"
            )
        sent: list[WorkflowUpdateHandle[Any]] = []

        async def launch(workflow_type: str, options: dict[str, Any]) -> Any:
            op = WithStartWorkflowOperation(
                workflow_type, args=options.pop("args"), id=options.pop("id"), **options
            )
            try:
                sent.append(
                    await self._engine.start_update_with_start_workflow(
                        name,
                        args=args,
                        start_workflow_operation=op,
                        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                        id=update_id,
                        result_type=EncodedValue,
                    )
                )
            except Exception as err:
                handle = await op.workflow_handle()  # raises the start's own error, if any
                raise UpdateAfterStartError(str(handle.result_run_id)) from err
            return await op.workflow_handle()

        started = await self._start(request, launch)
        return started, sent[0]

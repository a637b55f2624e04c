"""``QueryWorkflow``: queries answered from the run's live state, bounded by the server.

A query that raises is ``INVALID_ARGUMENT`` with ``QueryFailedFailure`` (clients raise
``WorkflowQueryFailedError``), as is a query name the workflow does not define. The CLI
sets no deadline on queries, so the server bounds each one (``query_timeout``) and answers
``DEADLINE_EXCEEDED`` past it. ``query_reject_condition`` is honoured for closed runs.

Two query names are the SDK's own, answered for every workflow as Temporal's SDKs do:

* ``__stack_trace`` (``temporal workflow stack``): the run's coroutine stacks, formatted as
  temporalio formats them; the engine answers it as a built-in query.
* ``__temporal_workflow_metadata`` (``temporal workflow metadata``): the workflow's type and
  its query, signal and update names, from the engine's registry.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc.aio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload as TPayload
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import QueryRejectCondition
from temporalio.api.query.v1 import QueryRejected
from temporalio.api.sdk.v1 import (
    WorkflowDefinition,
    WorkflowInteractionDefinition,
    WorkflowMetadata,
)
from temporalio.api.workflowservice.v1 import QueryWorkflowRequest, QueryWorkflowResponse

from fastcore import WorkflowExecutionStatus
from fastcore.errors import InvalidArgumentError, WorkflowQueryFailedError
from fastcore.integration import EncodedValue, to_failure

from ..history import failure_to_temporal
from ._describe import status_of_run
from ._errors import FrontendError, invalid, query_failed
from ._history import HistoryReader, RunHistory
from ._payloads import encode_one, encoded

__all__ = ["METADATA_QUERY", "STACK_TRACE_QUERY", "Queries"]

STACK_TRACE_QUERY = "__stack_trace"
METADATA_QUERY = "__temporal_workflow_metadata"

_NOT_OPEN = QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN
_NOT_CLEAN = QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY


def _metadata(engine: Any, workflow_type: str) -> TPayload:
    """The ``__temporal_workflow_metadata`` answer: the type and its handler names."""
    defn = engine.workflow_definition(workflow_type)
    definition = WorkflowDefinition(type=workflow_type)
    if defn is not None:
        for table, target in (
            (defn.queries, definition.query_definitions),
            (defn.signals, definition.signal_definitions),
            (defn.updates, definition.update_definitions),
        ):
            for name, handler in sorted(table.items()):
                target.append(
                    WorkflowInteractionDefinition(
                        name=name, description=getattr(handler, "description", None) or ""
                    )
                )
        definition.query_definitions.append(
            WorkflowInteractionDefinition(
                name=STACK_TRACE_QUERY, description="The run's coroutine stacks."
            )
        )
    metadata = WorkflowMetadata(definition=definition)
    return TPayload(
        metadata={
            "encoding": b"json/protobuf",
            "messageType": WorkflowMetadata.DESCRIPTOR.full_name.encode(),
        },
        data=json_format.MessageToJson(metadata, indent=None).encode(),
    )


class Queries:
    """Answers queries from the engine, within the server's bound."""

    def __init__(self, engine: Any, histories: HistoryReader, query_timeout: float) -> None:
        self._engine = engine
        self._converter = engine.converter
        self._histories = histories
        self._timeout = query_timeout

    async def query(
        self, request: QueryWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> QueryWorkflowResponse:
        """``QueryWorkflow``."""
        execution = request.execution
        if not execution.workflow_id:
            raise invalid("Execution.WorkflowId is not set on request.")
        name = request.query.query_type
        if not name:
            raise invalid("QueryType is not set on request.")
        run = await self._histories.read(execution.workflow_id, execution.run_id or None)
        rejected = self._rejected(run, int(request.query_reject_condition))
        if rejected is not None:
            return QueryWorkflowResponse(query_rejected=rejected)
        if name == METADATA_QUERY:
            workflow_type = str(run.source[0].attributes.get("workflow_type"))
            answer = _metadata(self._engine, workflow_type)
            return QueryWorkflowResponse(query_result=Payloads(payloads=[answer]))
        args = encoded(request.query.query_args.payloads)
        handle = self._engine.get_workflow_handle(run.workflow_id, run_id=run.run_id)
        remaining = context.time_remaining()
        bound = self._timeout if remaining is None else min(self._timeout, remaining)
        try:
            value = await asyncio.wait_for(
                handle.query(name, args=args, result_type=EncodedValue), bound
            )
        except TimeoutError:
            raise FrontendError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"query {name!r} did not answer within {bound:.1f}s",
            ) from None
        except (WorkflowQueryFailedError, InvalidArgumentError) as err:
            cause = err.__cause__ or err  # the handler's own error, as Temporal's SDKs report it
            failure = failure_to_temporal(to_failure(cause, self._converter))
            raise query_failed(str(cause), failure) from None
        answer = encode_one(value, self._converter)
        return QueryWorkflowResponse(query_result=Payloads(payloads=[answer]))

    @staticmethod
    def _rejected(run: RunHistory, condition: int) -> QueryRejected | None:
        status = status_of_run(run)
        if status is WorkflowExecutionStatus.RUNNING:
            return None
        if condition == _NOT_OPEN or (
            condition == _NOT_CLEAN and status is not WorkflowExecutionStatus.COMPLETED
        ):
            return QueryRejected(status=int(status))  # type: ignore[arg-type]
        return None

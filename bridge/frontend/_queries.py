"""``QueryWorkflow``: queries answered from the run's live state, bounded by the server.

A query that raises is ``INVALID_ARGUMENT`` with ``QueryFailedFailure`` (clients raise
``WorkflowQueryFailedError``), as is a query name the workflow does not define. The CLI
sets no deadline on queries, so the server bounds each one (``query_timeout``) and answers
``DEADLINE_EXCEEDED`` past it. ``query_reject_condition`` is honoured for closed runs.

Two query names are the SDK's own, answered for every workflow as Temporal's SDKs do:

* ``__stack_trace`` (``temporal workflow stack``): the run's coroutine stacks, formatted as
  temporalio formats them; the engine answers it as a built-in query.
* ``__temporal_workflow_metadata`` (``temporal workflow metadata``): the workflow's type, its
  query, signal and update handlers and its current details; the engine answers it too.
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
from temporalio.api.sdk.v1 import WorkflowMetadata
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


def _metadata(answer: dict[str, Any]) -> TPayload:
    """The ``__temporal_workflow_metadata`` answer: the engine's (the type, the run's
    handlers with their descriptions, its current details) as Temporal's proto."""
    metadata = json_format.ParseDict(answer, WorkflowMetadata())
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
        args = encoded(request.query.query_args.payloads)
        handle = self._engine.get_workflow_handle(run.workflow_id, run_id=run.run_id)
        if name == METADATA_QUERY:
            answer = _metadata(await handle.query(METADATA_QUERY))
            return QueryWorkflowResponse(query_result=Payloads(payloads=[answer]))
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

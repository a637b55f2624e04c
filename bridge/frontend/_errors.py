"""Errors as Temporal's frontend answers them: a status code and Temporal's typed details.

Temporal's clients read ``grpc-status-details-bin`` (a ``google.rpc.Status``) to tell a
duplicate start (``WorkflowExecutionAlreadyStartedFailure``) or a failed query
(``QueryFailedFailure``) from other errors, and retry ``UNKNOWN``, ``INTERNAL``,
``UNAVAILABLE``, ``ABORTED`` and ``RESOURCE_EXHAUSTED``: every error a caller can cause is
answered with a code they do not retry. Unexpected errors are ``INTERNAL`` and logged.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Sequence
from typing import NoReturn

import grpc
import grpc.aio
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import status_pb2
from temporalio.api.errordetails.v1 import (
    MultiOperationExecutionFailure,
    NamespaceNotFoundFailure,
    NotFoundFailure,
    QueryFailedFailure,
    WorkflowExecutionAlreadyStartedFailure,
)
from temporalio.api.failure.v1 import Failure, MultiOperationExecutionAborted

from fastcore.errors import (
    InvalidArgumentError,
    StoreError,
    WorkflowAlreadyStartedError,
    WorkflowNotFoundError,
)

__all__ = [
    "STATUS_DETAILS_KEY",
    "FrontendError",
    "abort",
    "already_started",
    "invalid",
    "multi_operation_failure",
    "not_found",
    "query_failed",
    "status_of",
]

logger = logging.getLogger("bridge.frontend")

STATUS_DETAILS_KEY = "grpc-status-details-bin"
"""Trailing metadata key of the ``google.rpc.Status`` that carries typed details."""


class FrontendError(Exception):
    """An answer the frontend gives on purpose: a status code, message and typed details."""

    def __init__(
        self, code: grpc.StatusCode, message: str, details: Sequence[Message] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details)


def invalid(message: str) -> FrontendError:
    """``INVALID_ARGUMENT``: the request cannot be served as sent."""
    return FrontendError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> FrontendError:
    """``NOT_FOUND`` with ``NotFoundFailure``, as Temporal answers for an unknown workflow."""
    return FrontendError(
        grpc.StatusCode.NOT_FOUND,
        message,
        [NotFoundFailure(current_cluster="active", active_cluster="active")],
    )


def namespace_not_found(namespace: str, served: str) -> FrontendError:
    """``NOT_FOUND`` with ``NamespaceNotFoundFailure``: this bridge serves one namespace."""
    return FrontendError(
        grpc.StatusCode.NOT_FOUND,
        f"Namespace {namespace} is not found. This fastcore bridge serves the namespace "
        f"{served!r} only.",
        [NamespaceNotFoundFailure(namespace=namespace)],
    )


def already_started(message: str, request_id: str, run_id: str) -> FrontendError:
    """``ALREADY_EXISTS`` with ``WorkflowExecutionAlreadyStartedFailure``."""
    return FrontendError(
        grpc.StatusCode.ALREADY_EXISTS,
        message,
        [WorkflowExecutionAlreadyStartedFailure(start_request_id=request_id, run_id=run_id)],
    )


def query_failed(message: str, failure: Failure | None = None) -> FrontendError:
    """``INVALID_ARGUMENT`` with ``QueryFailedFailure`` (the client raises
    ``WorkflowQueryFailedError``)."""
    detail = QueryFailedFailure()
    if failure is not None:
        detail.failure.CopyFrom(failure)
    return FrontendError(grpc.StatusCode.INVALID_ARGUMENT, message, [detail])


def status_of(err: BaseException) -> FrontendError:
    """The answer for an error the engine (or this frontend) raised."""
    if isinstance(err, FrontendError):
        return err
    if isinstance(err, WorkflowNotFoundError):
        closed = getattr(err, "closed_status", None)
        if closed is not None:  # Temporal's words for acting on a closed workflow
            return not_found(f"workflow execution already completed ({err})")
        return not_found(str(err))
    if isinstance(err, WorkflowAlreadyStartedError):
        return already_started(str(err), "", err.run_id or "")
    if isinstance(err, InvalidArgumentError):
        return invalid(str(err))
    if isinstance(err, StoreError):
        return FrontendError(
            grpc.StatusCode.UNAVAILABLE, f"the engine's store is unavailable: {err}"
        )
    if isinstance(err, builtins.TimeoutError):
        return FrontendError(grpc.StatusCode.DEADLINE_EXCEEDED, str(err) or "timed out")
    logger.error("frontend call failed unexpectedly", exc_info=err)
    return FrontendError(grpc.StatusCode.INTERNAL, f"internal error: {type(err).__name__}: {err}")


def _status_proto(error: FrontendError) -> status_pb2.Status:
    status = status_pb2.Status(code=error.code.value[0], message=error.message)
    for detail in error.details:
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return status


def multi_operation_failure(index: int, error: FrontendError, count: int = 2) -> FrontendError:
    """The error of an ``ExecuteMultiOperation`` whose operation ``index`` failed: the others
    are reported aborted (``MultiOperationExecutionAborted``)."""
    failure = MultiOperationExecutionFailure()
    for i in range(count):
        op = failure.statuses.add()
        if i == index:
            op.code = error.code.value[0]
            op.message = error.message
            for detail in error.details:
                op.details.add().Pack(detail)
        else:
            op.code = grpc.StatusCode.ABORTED.value[0]
            op.message = "Operation was aborted."
            op.details.add().Pack(MultiOperationExecutionAborted())
    return FrontendError(
        error.code,
        f"Update-with-start could not be executed: {error.message}",
        [failure],
    )


async def abort(context: grpc.aio.ServicerContext, error: FrontendError) -> NoReturn:
    """End the call with ``error``'s code, message and typed details."""
    trailer: tuple[tuple[str, bytes], ...] = ()
    if error.details:
        trailer = ((STATUS_DETAILS_KEY, _status_proto(error).SerializeToString()),)
    await context.abort(error.code, error.message, trailing_metadata=trailer)
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover

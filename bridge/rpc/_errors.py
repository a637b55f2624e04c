"""Failed bridge calls as exceptions: fastcore's own where it has one, ``RPCError`` otherwise.

The server puts an ``ErrorDetail`` in the trailing metadata of a call that failed for a
reason fastcore knows; ``from_rpc_error`` turns it back into the exception the engine would
have raised. Anything else (a bad token, an exceeded limit or deadline, an unreachable
server) is an ``RPCError`` with its status, named as ``temporalio.service.RPCStatusCode``.
"""

from __future__ import annotations

from enum import IntEnum

import grpc
import grpc.aio

from fastcore.errors import (
    InvalidArgumentError,
    NondeterminismError,
    StoreError,
    WorkflowAlreadyStartedError,
    WorkflowNotFoundError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from fastcore.integration import DataConverter

from .._proto.v1 import bridge_pb2 as pb
from . import _convert as cv
from ._server import ERROR_DETAIL_KEY

__all__ = ["RPCError", "RPCStatusCode", "from_rpc_error", "status_code"]


class RPCStatusCode(IntEnum):
    """gRPC status codes, as ``temporalio.service.RPCStatusCode`` names them."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class RPCError(Exception):
    """A bridge call failed for a reason fastcore has no exception for (auth, limits, network).

    Attributes:
        message: The server's (or the gRPC runtime's) message.
        status: The gRPC status code.
    """

    def __init__(self, message: str, status: RPCStatusCode) -> None:
        super().__init__(f"{status.name}: {message}")
        self.message = message
        self.status = status


def status_code(err: grpc.aio.AioRpcError) -> RPCStatusCode:
    return RPCStatusCode(err.code().value[0])


def error_detail(err: grpc.aio.AioRpcError) -> pb.ErrorDetail | None:
    for key, value in err.trailing_metadata() or ():
        if key == ERROR_DETAIL_KEY and isinstance(value, bytes):
            detail = pb.ErrorDetail()
            detail.ParseFromString(value)
            return detail
    return None


def from_rpc_error(err: grpc.aio.AioRpcError, converter: DataConverter) -> Exception:
    """The exception the engine would have raised for the failed call ``err``."""
    message = err.details() or ""
    detail = error_detail(err)
    kind = detail.error_type if detail is not None else ""
    exc: Exception
    if detail is not None and kind == "WorkflowNotFoundError":
        exc = WorkflowNotFoundError(message, workflow_id=detail.workflow_id or None)
        closed = cv.status_from_proto(detail.closed_status)
        if closed is not None:
            exc.closed_status = closed
    elif detail is not None and kind == "WorkflowAlreadyStartedError":
        exc = WorkflowAlreadyStartedError(
            detail.workflow_id, detail.workflow_type, run_id=detail.run_id or None
        )
    elif kind == "InvalidArgumentError":
        exc = InvalidArgumentError(message)
    elif kind == "WorkflowQueryFailedError":
        exc = WorkflowQueryFailedError(message.removeprefix("query failed: "))
    elif detail is not None and kind == "WorkflowUpdateFailedError":
        cause = (
            cv.exception_from_proto(detail.cause, converter)
            if detail.HasField("cause")
            else RPCError(message, status_code(err))
        )
        exc = WorkflowUpdateFailedError(cause)
    elif detail is not None and kind == "NondeterminismError":
        exc = NondeterminismError(
            message, workflow_id=detail.workflow_id, workflow_type=detail.workflow_type
        )
    elif kind == "StoreError":
        exc = StoreError(
            message,
            workflow_id=detail.workflow_id or None if detail is not None else None,
            run_id=detail.run_id or None if detail is not None else None,
        )
    else:
        exc = RPCError(message, status_code(err))
    exc.__suppress_context__ = True  # the AioRpcError says nothing more
    return exc

"""Requests that cannot be decoded: ``INVALID_ARGUMENT``, answered before any handler runs.

gRPC decodes a request with the method's deserializer before the handler sees it; when the
bytes are not the message (garbage, a truncated message, a string field that is not UTF-8)
grpc.aio logs a traceback at ERROR and answers ``UNKNOWN``, once per request, so any client
could flood the log. ``DecodeGuardInterceptor`` wraps every unary-request method (the bridge's
own and Temporal's frontend API on the same port): a request that does not decode ends with
``INVALID_ARGUMENT`` naming the message type and why, logged at DEBUG only (it is the
client's mistake, not the server's).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio

__all__ = ["DecodeGuardInterceptor", "guard_handler", "undecodable_message"]

logger = logging.getLogger(__name__)


class _Undecodable:
    """What the guarded deserializer returns instead of raising."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def undecodable_message(method: str, error: BaseException) -> str:
    """The status message for a request of ``method`` that did not decode."""
    name = method.rsplit("/", 1)[-1] or method
    return f"the {name} request cannot be decoded: {type(error).__name__}: {error}"


def _guarded_deserializer(
    deserialize: Callable[[bytes], Any] | None, method: str
) -> Callable[[bytes], Any]:
    def guarded(data: bytes) -> Any:
        if deserialize is None:
            return data
        try:
            return deserialize(data)
        except Exception as err:  # any decode failure is the sender's mistake
            return _Undecodable(undecodable_message(method, err))

    return guarded


def _guard_unary(behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
    async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, _Undecodable):
            logger.debug("refused %s: %s", method, request.reason)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.reason)
        result = behavior(request, context)
        return await result if inspect.isawaitable(result) else result

    return guarded


def _guard_unary_async(
    behavior: Callable[..., Any], deserialize: Callable[[bytes], Any] | None, method: str
) -> Callable[..., Any]:
    """A coroutine handler that decodes its request itself (gRPC hands it the bytes): one
    frame per call, not a guarded deserializer and a wrapper."""

    async def guarded_async(data: bytes, context: grpc.aio.ServicerContext) -> Any:
        if deserialize is None:
            request: Any = data
        else:
            try:
                request = deserialize(data)
            except Exception as err:  # any decode failure is the sender's mistake
                reason = undecodable_message(method, err)
                logger.debug("refused %s: %s", method, reason)
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, reason)
        return await behavior(request, context)

    return guarded_async


def _guard_stream(behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
    async def guarded(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        if isinstance(request, _Undecodable):
            logger.debug("refused %s: %s", method, request.reason)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.reason)
        result = behavior(request, context)
        if inspect.isasyncgen(result):
            async for item in result:
                yield item
        elif inspect.isawaitable(result):  # a handler that writes with context.write
            await result
        elif result is not None:  # a plain generator
            for item in result:
                yield item

    return guarded


class DecodeGuardInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Answers a unary request that does not decode with ``INVALID_ARGUMENT`` (no traceback).

    Methods whose requests stream (reflection) are left as they are.
    """

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Wrap the method's handler so an undecodable request never reaches it."""
        handler = await continuation(handler_call_details)
        return guard_handler(handler, handler_call_details.method)


def guard_handler(
    handler: grpc.RpcMethodHandler | None, method: str | bytes
) -> grpc.RpcMethodHandler | None:
    """``handler`` answering an undecodable unary request with ``INVALID_ARGUMENT``.

    A handler whose requests stream (or no handler) is returned as it is. The server applies
    it once per method when no other interceptor needs the guard outside it
    (``DecodeGuardInterceptor`` does it per call otherwise).
    """
    if handler is None or handler.request_streaming:
        return handler
    method = method.decode() if isinstance(method, bytes) else str(method)
    if not handler.response_streaming and inspect.iscoroutinefunction(handler.unary_unary):
        return grpc.unary_unary_rpc_method_handler(
            _guard_unary_async(handler.unary_unary, handler.request_deserializer, method),
            request_deserializer=None,
            response_serializer=handler.response_serializer,
        )
    deserializer = _guarded_deserializer(handler.request_deserializer, method)
    kwargs = {
        "request_deserializer": deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(
            _guard_stream(handler.unary_stream, method), **kwargs
        )
    return grpc.unary_unary_rpc_method_handler(_guard_unary(handler.unary_unary, method), **kwargs)

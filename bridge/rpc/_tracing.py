"""W3C trace context across the bridge's gRPC calls, in both directions.

The client interceptors open a CLIENT span per call, named as OpenTelemetry's RPC
conventions name it (``fastcore.bridge.v1.BridgeService/StartWorkflow``), and put its
``traceparent`` (and ``tracestate``, ``baggage``) in the call's metadata. The server
interceptor continues that context in a SERVER span of the same name, current while the
handler runs, so the engine's own spans (``StartWorkflow:Name``, ``HandleSignal:Name``, ...)
hang under it. The server answers with its span's context in a ``traceresponse`` header
(W3C Trace Context Level 2), so a client that had no trace of its own learns which trace
its call landed in; the client span records it and links to it when the traces differ.

Wiring::

    channel = grpc.aio.insecure_channel(address, interceptors=client_interceptors())
    server = grpc.aio.server(interceptors=[auth_interceptor, server_interceptor()])

Both take ``tracer_provider=`` (the global provider when None) and ``propagator=`` (the
global text-map propagator, W3C trace context and baggage by default). With no provider
anywhere, the context of the caller still travels: only no span is recorded.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import grpc
import grpc.aio
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import SpanKind, Status, StatusCode

__all__ = [
    "TRACERESPONSE_KEY",
    "TracingServerInterceptor",
    "UnaryTracing",
    "client_interceptors",
    "parse_traceparent",
    "server_interceptor",
    "stream_interceptors",
]

TRACERESPONSE_KEY = "traceresponse"
"""Response metadata key carrying the server span's context (W3C Trace Context Level 2)."""

_UNTRACED_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
_UNKNOWN = object()
_TRACER_NAME = "bridge.grpc"


def _tracer(tracer_provider: Any) -> trace.Tracer:
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    return provider.get_tracer(_TRACER_NAME)


def _method(method: str | bytes) -> str:
    return method.decode() if isinstance(method, bytes) else method


def _rpc_attributes(method: str) -> dict[str, Any]:
    """``rpc.*`` attributes of a full method name ``/package.Service/Method``."""
    service, _, name = method.lstrip("/").rpartition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}


def _format_traceparent(sc: trace.SpanContext) -> str:
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{int(sc.trace_flags):02x}"


def parse_traceparent(value: str) -> trace.SpanContext | None:
    """The span context of a W3C ``traceparent``/``traceresponse`` value (None if invalid)."""
    try:
        _version, trace_id, span_id, flags = value.strip().split("-")
        sc = trace.SpanContext(
            int(trace_id, 16), int(span_id, 16), True, trace.TraceFlags(int(flags, 16) & 0xFF)
        )
    except (ValueError, AttributeError):
        return None
    return sc if sc.is_valid else None


def _status_code_value(code: grpc.StatusCode | None) -> int:
    return int(code.value[0]) if code is not None else int(grpc.StatusCode.UNKNOWN.value[0])


# --------------------------------------------------------------------------- client side


class _ClientBase:
    def __init__(self, tracer_provider: Any, propagator: TextMapPropagator | None) -> None:
        self._tracer = _tracer(tracer_provider)
        self._propagator = propagator

    def _start(
        self, details: grpc.aio.ClientCallDetails
    ) -> tuple[trace.Span, grpc.aio.ClientCallDetails] | None:
        method = _method(details.method)
        if method.startswith(_UNTRACED_PREFIXES):
            return None
        span = self._tracer.start_span(
            method.lstrip("/"), kind=SpanKind.CLIENT, attributes=_rpc_attributes(method)
        )
        carrier: dict[str, str] = {}
        ctx = trace.set_span_in_context(span)
        if self._propagator is not None:
            self._propagator.inject(carrier, context=ctx)
        else:
            propagate.inject(carrier, context=ctx)
        metadata = grpc.aio.Metadata(*tuple(details.metadata or ()))
        for key, value in carrier.items():
            metadata.add(key, value)
        new = grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )
        return span, new

    async def _finish(self, span: trace.Span, call: Any) -> None:
        """Record the call's status and the server's ``traceresponse``, then end the span."""
        try:
            code = await call.code()
            span.set_attribute("rpc.grpc.status_code", _status_code_value(code))
            if code is not grpc.StatusCode.OK and not (
                code is grpc.StatusCode.CANCELLED and call.cancelled()
            ):  # a call the client cancelled itself (a stream read far enough) is no error
                details = await call.details()
                span.set_status(Status(StatusCode.ERROR, f"{code.name}: {details}"))
            metadata = await call.initial_metadata()
            for key, value in metadata or ():
                if key == TRACERESPONSE_KEY and isinstance(value, str):
                    _record_traceresponse(span, value)
        except asyncio.CancelledError:
            span.set_status(Status(StatusCode.ERROR, "CANCELLED"))
            raise
        finally:
            span.end()


def _record_traceresponse(span: trace.Span, value: str) -> None:
    span.set_attribute("rpc.traceresponse", value)
    server = parse_traceparent(value)
    own = span.get_span_context()
    if server is not None and server.trace_id != own.trace_id:
        span.add_link(server, {"fastcore.link": "server span"})


class _Intercept(_ClientBase):
    """One client call in a CLIENT span; a streamed response ends the span when it is done."""

    async def _around(
        self,
        continuation: Callable[..., Any],
        client_call_details: Any,
        request: Any,
        *,
        streaming: bool,
        record_error: bool = False,
    ) -> Any:
        started = self._start(client_call_details)
        if started is None:
            return await continuation(client_call_details, request)
        span, details = started
        try:
            call = await continuation(details, request)
        except BaseException as err:
            if record_error:
                span.record_exception(err)
                span.set_status(Status(StatusCode.ERROR, f"{type(err).__name__}: {err}"))
            span.end()
            raise
        if streaming:
            return self._watch(span, call)
        await self._finish(span, call)
        return call

    def _watch(self, span: trace.Span, call: Any) -> Any:
        def done(_: Any) -> None:
            task = asyncio.ensure_future(self._finish(span, call))
            _PENDING.add(task)
            task.add_done_callback(_PENDING.discard)

        call.add_done_callback(done)
        return call


_PENDING: set[asyncio.Future[None]] = set()  # keeps span-finishing tasks alive


class _UnaryUnary(_Intercept, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await self._around(
            continuation, client_call_details, request, streaming=False, record_error=True
        )


class _StreamUnary(_Intercept, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await self._around(
            continuation, client_call_details, request_iterator, streaming=False
        )


class _UnaryStream(_Intercept, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await self._around(continuation, client_call_details, request, streaming=True)


class _StreamStream(_Intercept, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await self._around(
            continuation, client_call_details, request_iterator, streaming=True
        )


def client_interceptors(
    *, tracer_provider: Any = None, propagator: TextMapPropagator | None = None
) -> list[grpc.aio.ClientInterceptor]:
    """Interceptors for a ``grpc.aio`` channel: a CLIENT span per call, its context sent.

    Args:
        tracer_provider: Where spans go; the global tracer provider when None.
        propagator: How the context is written into the metadata; the global propagator
            (W3C ``traceparent``/``tracestate`` and ``baggage``) when None.

    Returns:
        One interceptor per call shape, for ``grpc.aio.*_channel(..., interceptors=...)``.
    """
    return [
        _UnaryUnary(tracer_provider, propagator),
        _UnaryStream(tracer_provider, propagator),
        _StreamUnary(tracer_provider, propagator),
        _StreamStream(tracer_provider, propagator),
    ]


def stream_interceptors(
    *, tracer_provider: Any = None, propagator: TextMapPropagator | None = None
) -> list[grpc.aio.ClientInterceptor]:
    """The streaming shapes of ``client_interceptors`` (unary calls traced by ``UnaryTracing``).

    A ``grpc.aio`` channel with no unary-unary interceptor makes unary calls without the
    interceptor machinery (about 100 microseconds a call on a loaded machine: each call is
    wrapped in more tasks and awaits its status and metadata separately).
    """
    return [
        _UnaryStream(tracer_provider, propagator),
        _StreamStream(tracer_provider, propagator),
    ]


def _context_reader() -> Callable[[], Any]:
    """OpenTelemetry's current context, read without the API's two Python frames when its
    runtime context is the contextvars one (the default); through the API otherwise."""
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    var = getattr(runtime, "_current_context", None)
    if isinstance(var, contextvars.ContextVar):
        return var.get
    return otel_context.get_current


_current_context = _context_reader()


class UnaryTracing(_ClientBase):
    """A CLIENT span per unary call, and its context sent, made inline rather than by a
    ``grpc.aio`` interceptor: the same spans, attributes and metadata as
    ``client_interceptors``, at a fraction of the cost.

    With no tracer provider (the global one unset) and no current context, a call sends no
    trace metadata and makes no span; a caller's context still travels.
    """

    def __init__(
        self, tracer_provider: Any = None, propagator: TextMapPropagator | None = None
    ) -> None:
        super().__init__(tracer_provider, propagator)
        provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        self._follow_global = tracer_provider is None  # the global provider may be set later
        self._noop = isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)

    def _inject(self, carrier: dict[str, str], ctx: otel_context.Context) -> None:
        if self._propagator is not None:
            self._propagator.inject(carrier, context=ctx)
        else:
            propagate.inject(carrier, context=ctx)

    def _untraced(self) -> bool:
        if self._follow_global and self._noop:
            # set_tracer_provider replaces the module's provider (read without a call that
            # would look the environment up on every RPC)
            provider = getattr(trace, "_TRACER_PROVIDER", _UNKNOWN)
            if provider is _UNKNOWN:  # an API without that global: ask the slow way
                provider = trace.get_tracer_provider()
            self._noop = provider is None or isinstance(
                provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider
            )
        return self._noop

    def idle(self) -> bool:
        """Whether a call has nothing to trace or send: no tracer and no current context."""
        if self._follow_global and self._noop:  # _untraced inline: this is every call's check
            provider = getattr(trace, "_TRACER_PROVIDER", _UNKNOWN)
            if provider is _UNKNOWN:
                provider = trace.get_tracer_provider()
            self._noop = provider is None or isinstance(
                provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider
            )
        return self._noop and not _current_context()

    async def call(
        self,
        multicallable: Callable[..., Any],
        method: str,
        request: Any,
        metadata: tuple[tuple[str, str], ...],
        timeout: float | None,
    ) -> Any:
        """Make the unary call ``method`` (``/package.Service/Method``) in a CLIENT span."""
        if self._untraced():
            ctx = otel_context.get_current()
            if ctx:  # the caller's span or baggage travels, as the interceptor sends it
                carrier: dict[str, str] = {}
                self._inject(carrier, ctx)
                metadata = (*metadata, *carrier.items())
            return await multicallable(request, metadata=metadata, timeout=timeout)
        span = self._tracer.start_span(
            method.lstrip("/"), kind=SpanKind.CLIENT, attributes=_rpc_attributes(method)
        )
        carrier = {}
        self._inject(carrier, trace.set_span_in_context(span))
        try:
            call = multicallable(request, metadata=(*metadata, *carrier.items()), timeout=timeout)
            response = await call
        except grpc.aio.AioRpcError as err:
            _record_call(span, err.code(), err.details(), err.initial_metadata(), False)
            span.end()
            raise
        except asyncio.CancelledError:
            span.set_status(Status(StatusCode.ERROR, "CANCELLED"))
            span.end()
            raise
        except BaseException as err:
            span.record_exception(err)
            span.set_status(Status(StatusCode.ERROR, f"{type(err).__name__}: {err}"))
            span.end()
            raise
        _record_call(span, grpc.StatusCode.OK, None, await call.initial_metadata(), False)
        span.end()
        return response


def _record_call(
    span: trace.Span,
    code: grpc.StatusCode | None,
    details: str | None,
    metadata: Any,
    cancelled_by_client: bool,
) -> None:
    """What ``_ClientBase._finish`` records on a finished call's span (but ending it)."""
    span.set_attribute("rpc.grpc.status_code", _status_code_value(code))
    if code is not grpc.StatusCode.OK and not (
        code is grpc.StatusCode.CANCELLED and cancelled_by_client
    ):
        span.set_status(Status(StatusCode.ERROR, f"{code.name if code else 'UNKNOWN'}: {details}"))
    for key, value in metadata or ():
        if key == TRACERESPONSE_KEY and isinstance(value, str):
            _record_traceresponse(span, value)


# --------------------------------------------------------------------------- server side


@contextmanager
def _attached(ctx: otel_context.Context) -> Iterator[None]:
    """Attach ``ctx``; detach it afterwards unless the block ended in another context."""
    token = otel_context.attach(ctx)
    try:
        yield
    finally:
        try:
            token.var.reset(token)
        except ValueError:  # finalized in another contextvars.Context (a closed stream)
            pass


class TracingServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Continues the caller's trace in a SERVER span around each call's handler.

    Args:
        tracer_provider: Where spans go; the global tracer provider when None.
        propagator: How the context is read from the metadata; the global one when None.
        untraced: Method name prefixes not traced (health checks and reflection by default).
    """

    def __init__(
        self,
        *,
        tracer_provider: Any = None,
        propagator: TextMapPropagator | None = None,
        untraced: Sequence[str] = _UNTRACED_PREFIXES,
    ) -> None:
        self._tracer = _tracer(tracer_provider)
        self._propagator = propagator
        self._untraced = tuple(untraced)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = _method(handler_call_details.method)
        if handler is None or method.startswith(self._untraced):
            return handler
        carrier: dict[str, str] = {}
        for key, value in handler_call_details.invocation_metadata or ():
            if isinstance(value, str) and not key.endswith("-bin"):
                carrier[key] = value
        if self._propagator is not None:
            parent = self._propagator.extract(carrier)
        else:
            parent = propagate.extract(carrier)
        return _wrap(handler, self._tracer, method, parent)


def _wrap(
    handler: grpc.RpcMethodHandler, tracer: trace.Tracer, method: str, parent: Any
) -> grpc.RpcMethodHandler:
    """A handler of the same shape whose calls run inside a SERVER span."""
    attrs = _rpc_attributes(method)
    name = method.lstrip("/")

    @contextmanager
    def span_for(context: grpc.aio.ServicerContext) -> Iterator[trace.Span]:
        span = tracer.start_span(name, context=parent, kind=SpanKind.SERVER, attributes=attrs)
        try:
            with _attached(trace.set_span_in_context(span, parent)):
                yield span
        except grpc.aio.AbortError:
            _server_status(span, context)
            raise
        except asyncio.CancelledError:
            span.set_attribute(
                "rpc.grpc.status_code", _status_code_value(grpc.StatusCode.CANCELLED)
            )
            raise
        except BaseException as err:
            span.record_exception(err)
            span.set_status(Status(StatusCode.ERROR, f"{type(err).__name__}: {err}"))
            span.set_attribute("rpc.grpc.status_code", _status_code_value(grpc.StatusCode.UNKNOWN))
            raise
        else:
            _server_status(span, context)
        finally:
            span.end()

    async def answer_with_context(context: grpc.aio.ServicerContext, span: trace.Span) -> None:
        sc = span.get_span_context()
        if sc.is_valid:
            await context.send_initial_metadata(((TRACERESPONSE_KEY, _format_traceparent(sc)),))

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.response_streaming:
        inner_stream = handler.stream_stream if handler.request_streaming else handler.unary_stream

        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            with span_for(context) as span:
                await answer_with_context(context, span)
                result = inner_stream(request, context)
                if inspect.isasyncgen(result):
                    async for item in result:
                        yield item
                else:  # a handler that writes with context.write() and returns None
                    await result

        if handler.request_streaming:
            return grpc.stream_stream_rpc_method_handler(streaming, **kwargs)
        return grpc.unary_stream_rpc_method_handler(streaming, **kwargs)

    inner = handler.stream_unary if handler.request_streaming else handler.unary_unary

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        with span_for(context) as span:
            await answer_with_context(context, span)
            result = inner(request, context)
            if inspect.isawaitable(result):
                result = await result
            return result

    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(unary, **kwargs)
    return grpc.unary_unary_rpc_method_handler(unary, **kwargs)


def _server_status(span: trace.Span, context: grpc.aio.ServicerContext) -> None:
    code = context.code()
    if code is None or code == 0:
        code = grpc.StatusCode.OK
    elif isinstance(code, int):
        code = next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
    span.set_attribute("rpc.grpc.status_code", _status_code_value(code))
    if code is not grpc.StatusCode.OK:
        span.set_status(Status(StatusCode.ERROR, f"{code.name}: {context.details() or ''}"))


def server_interceptor(
    *, tracer_provider: Any = None, propagator: TextMapPropagator | None = None
) -> TracingServerInterceptor:
    """The interceptor for ``grpc.aio.server(interceptors=[...])``.

    Put it after an authentication interceptor: a refused call then gets no span and no
    ``traceresponse``.
    """
    return TracingServerInterceptor(tracer_provider=tracer_provider, propagator=propagator)

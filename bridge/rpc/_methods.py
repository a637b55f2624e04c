"""``MethodTable``: every service of the bridge's server behind one generic handler.

The generated ``add_*_to_server`` functions register each method twice: in a generic handler
and as a "registered method". ``grpc.aio``'s server keeps one pending request per registered
method and, at every call, waits on all of them with ``asyncio.wait`` (a done callback added
to and removed from each, an ``iscoroutine`` check each): with the bridge's 15 methods that
is about 60 Python calls a call, a sixth of a plain unary round trip. The table takes the
services in place of the server (the same two registration calls), so the server holds one
pending request (the generic one) and finds a method in one dict lookup. The decode guard
(``guard_handler``) is applied here once per method when no interceptor must run outside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc

from ._guard import guard_handler

__all__ = ["MethodTable"]


class MethodTable(grpc.GenericRpcHandler):  # type: ignore[misc]
    """The methods of the services added to it, for ``server.add_generic_rpc_handlers``.

    Args:
        guard: Wrap each unary-request method in the decode guard (once, when first found).
    """

    def __init__(self, *, guard: bool) -> None:
        self._guard = guard
        self._table: dict[str, grpc.RpcMethodHandler] = {}
        self._generic: list[grpc.GenericRpcHandler] = []

    # What the generated add_*_to_server functions call on a server.

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        """Keep generic handlers, asked (in order) for a method the table does not know."""
        self._generic.extend(handlers)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        """Keep a service's methods by their full names (``/package.Service/Method``)."""
        for name, handler in method_handlers.items():
            full = f"/{service_name}/{name}"
            self._table[full] = guard_handler(handler, full) if self._guard else handler

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        """The handler of the call's method, or None (gRPC answers UNIMPLEMENTED)."""
        method = handler_call_details.method
        handler = self._table.get(method)
        if handler is not None:
            return handler
        for generic in self._generic:
            handler = generic.service(handler_call_details)
            if handler is not None:
                if self._guard:
                    handler = guard_handler(handler, method)
                if isinstance(method, str):  # a method that exists: remember it
                    self._table[method] = handler
                return handler
        return None

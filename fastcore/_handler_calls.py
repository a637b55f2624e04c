"""Setting a run's signal, query and update handlers at run time, as temporalio allows.

``workflow.set_signal_handler("name", fn)`` (and the query, update and dynamic forms) gives
the running workflow a handler that is a plain callable, not a method of its class; it
replaces the class's handler of that name for this run, and None removes it. A signal that
arrived before its handler was set is delivered when it is set. The ``get_*`` forms return
the callable that handles a name now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _runtime

__all__ = [
    "get_dynamic_query_handler",
    "get_dynamic_signal_handler",
    "get_dynamic_update_handler",
    "get_query_handler",
    "get_signal_handler",
    "get_update_handler",
    "set_dynamic_query_handler",
    "set_dynamic_signal_handler",
    "set_dynamic_update_handler",
    "set_query_handler",
    "set_signal_handler",
    "set_update_handler",
]


def get_signal_handler(name: str) -> Callable[..., Any] | None:
    """The callable that handles signal ``name`` now, or None."""
    return _runtime.current().get_handler("signal", name)  # type: ignore[no-any-return]


def set_signal_handler(name: str, handler: Callable[..., Any] | None) -> None:
    """Handle signal ``name`` with ``handler`` (None: no handler); buffered ones run now."""
    _runtime.current().set_handler("signal", name, handler)


def get_dynamic_signal_handler() -> Callable[..., Any] | None:
    """The callable that handles signals no other handler takes, or None."""
    return _runtime.current().get_handler("signal", None)  # type: ignore[no-any-return]


def set_dynamic_signal_handler(handler: Callable[..., Any] | None) -> None:
    """Handle every signal no other handler takes: ``handler(name, args)``."""
    _runtime.current().set_handler("signal", None, handler)


def get_query_handler(name: str) -> Callable[..., Any] | None:
    """The callable that answers query ``name`` now, or None."""
    return _runtime.current().get_handler("query", name)  # type: ignore[no-any-return]


def set_query_handler(name: str, handler: Callable[..., Any] | None) -> None:
    """Answer query ``name`` with ``handler`` (None: no handler)."""
    _runtime.current().set_handler("query", name, handler)


def get_dynamic_query_handler() -> Callable[..., Any] | None:
    """The callable that answers queries no other handler takes, or None."""
    return _runtime.current().get_handler("query", None)  # type: ignore[no-any-return]


def set_dynamic_query_handler(handler: Callable[..., Any] | None) -> None:
    """Answer every query no other handler takes: ``handler(name, args)``."""
    _runtime.current().set_handler("query", None, handler)


def get_update_handler(name: str) -> Callable[..., Any] | None:
    """The callable that handles update ``name`` now, or None."""
    return _runtime.current().get_handler("update", name)  # type: ignore[no-any-return]


def set_update_handler(
    name: str, handler: Callable[..., Any] | None, *, validator: Callable[..., Any] | None = None
) -> None:
    """Handle update ``name`` with ``handler`` (None: no handler), checked by ``validator``."""
    _runtime.current().set_handler("update", name, handler, validator)


def get_dynamic_update_handler() -> Callable[..., Any] | None:
    """The callable that handles updates no other handler takes, or None."""
    return _runtime.current().get_handler("update", None)  # type: ignore[no-any-return]


def set_dynamic_update_handler(
    handler: Callable[..., Any] | None, *, validator: Callable[..., Any] | None = None
) -> None:
    """Handle every update no other handler takes: ``handler(name, args)``."""
    _runtime.current().set_handler("update", None, handler, validator)

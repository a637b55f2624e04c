"""Request ids: a start or a signal retried with the same id is applied once, as Temporal's.

Temporal's frontend takes a ``request_id`` with each start and signal and answers a retry
with what the first call did. An integration serving that API (bridge's frontend) calls the
engine inside ``fastcore.integration.request_id(...)``: the id is recorded in the
``WORKFLOW_EXECUTION_STARTED`` / ``..._SIGNALED`` event, so the dedupe holds across restarts
on a durable store. Plain engine calls carry none and pay one context-variable read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_request_id", "request_id"]

_request_id: ContextVar[str] = ContextVar("fastcore_request_id", default="")


current_request_id = _request_id.get
"""The request id of the call being made ("" when none)."""


@contextmanager
def request_id(value: str) -> Iterator[None]:
    """Engine calls made inside carry Temporal's ``request_id`` (starts and signals)."""
    token = _request_id.set(value or "")
    try:
        yield
    finally:
        try:
            _request_id.reset(token)
        except ValueError:
            # closed from another context (an abandoned call's coroutine finalized by the
            # garbage collector): the context the id was set in is gone already
            pass

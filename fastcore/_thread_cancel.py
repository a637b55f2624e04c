"""Raising ``CancelledError`` inside the thread of a plain ``def`` activity, as temporalio does.

A cancellation (requested by the workflow, a timeout, or the engine shutting down) raises
``fastcore.errors.CancelledError`` asynchronously in the thread running the attempt (CPython's
``PyThreadState_SetAsyncExc``), at the next bytecode it runs: inside ``activity.heartbeat()``
or any Python code. ``shield()`` delays it until the outermost shielded block exits. Where
the interpreter offers no way to raise in another thread, the exception is raised by the
thread's next ``activity.heartbeat()`` instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator

from .errors import CancelledError

__all__ = ["ThreadCancel"]

_set_async_exc = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)


class ThreadCancel:
    """The cancellation raiser of one attempt's thread."""

    __slots__ = ("_lock", "_pending", "_shield_depth", "_thread_id")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread_id: int | None = None
        self._pending = False
        self._shield_depth = 0

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Run the attempt's code with this thread as the one a cancellation reaches."""
        with self._lock:
            self._thread_id = threading.get_ident()
        self.check()  # cancelled before the thread picked the attempt up
        try:
            yield None
        finally:
            with self._lock:
                self._thread_id = None
                self._pending = False

    def cancel(self) -> None:
        """Raise ``CancelledError`` in the attempt's thread (now, or when it is unshielded)."""
        with self._lock:
            self._pending = True
            self._raise_if_pending()

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """Delay a cancellation until the outermost shielded block exits."""
        with self._lock:
            self._shield_depth += 1
        try:
            yield None
        finally:
            with self._lock:
                self._shield_depth -= 1
            self.check()  # in the attempt's own thread: raise here, not asynchronously

    def check(self) -> None:
        """Raise a pending cancellation in the calling thread (``activity.heartbeat``)."""
        with self._lock:
            due = (
                self._pending
                and self._shield_depth == 0
                and self._thread_id == threading.get_ident()
            )
            if due:
                self._pending = False
        if due:
            raise CancelledError()

    def _raise_if_pending(self) -> None:
        tid = self._thread_id
        if tid is None or not self._pending or self._shield_depth or _set_async_exc is None:
            return
        if _set_async_exc(ctypes.c_ulong(tid), ctypes.py_object(CancelledError)) == 1:
            self._pending = False

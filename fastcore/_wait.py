"""``workflow.wait`` and ``workflow.as_completed``: asyncio's, made deterministic (temporalio's).

``asyncio.wait`` returns sets, whose order differs from run to run; these return lists in the
order the futures were given, so replay sees the same order. Timeouts are durable timers
(the workflow loop's ``call_later``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

__all__ = ["as_completed", "wait"]

T = TypeVar("T")


def _seconds(timeout: float | timedelta | None) -> float | None:
    return timeout.total_seconds() if isinstance(timeout, timedelta) else timeout


async def wait(
    fs: Iterable[Any],
    *,
    timeout: float | timedelta | None = None,
    return_when: str = asyncio.ALL_COMPLETED,
) -> tuple[list[Any], list[Any]]:
    """Wait for futures or tasks; ``(done, pending)`` as lists, in the order given.

    ``return_when`` is asyncio's: ``FIRST_COMPLETED``, ``FIRST_EXCEPTION`` or
    ``ALL_COMPLETED``. Coroutines are refused, as ``asyncio.wait`` refuses them.
    """
    if asyncio.isfuture(fs) or asyncio.iscoroutine(fs):
        raise TypeError(f"expect an iterable of tasks or futures, not {type(fs).__name__}")
    futures = list(fs)
    if not futures:
        raise ValueError("Sequence of Tasks/Futures must not be empty.")
    if return_when not in (asyncio.FIRST_COMPLETED, asyncio.FIRST_EXCEPTION, asyncio.ALL_COMPLETED):
        raise ValueError(f"Invalid return_when value: {return_when}")
    if any(asyncio.iscoroutine(f) for f in futures):
        raise TypeError("Passing coroutines is forbidden, use tasks explicitly.")
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    seconds = _seconds(timeout)
    timeout_handle = loop.call_later(seconds, _release, waiter) if seconds is not None else None
    counter = len(futures)

    def on_completion(f: asyncio.Future[Any]) -> None:
        nonlocal counter
        counter -= 1
        if (
            counter <= 0
            or return_when == asyncio.FIRST_COMPLETED
            or (
                return_when == asyncio.FIRST_EXCEPTION
                and not f.cancelled()
                and f.exception() is not None
            )
        ):
            if timeout_handle is not None:
                timeout_handle.cancel()
            _release(waiter)

    for f in futures:
        f.add_done_callback(on_completion)
    try:
        await waiter
    finally:
        if timeout_handle is not None:
            timeout_handle.cancel()
        for f in futures:
            f.remove_done_callback(on_completion)
    done = [f for f in futures if f.done()]
    pending = [f for f in futures if not f.done()]
    return done, pending


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def as_completed(
    fs: Iterable[Awaitable[T]], *, timeout: float | timedelta | None = None
) -> Iterator[Awaitable[T]]:
    """Awaitables that give the results of ``fs`` in the order they complete.

    Raises the built-in ``TimeoutError`` from the next awaitable once ``timeout`` passes.
    """
    if asyncio.isfuture(fs) or asyncio.iscoroutine(fs):
        raise TypeError(f"expect an iterable of futures, not {type(fs).__name__}")
    loop = asyncio.get_running_loop()
    done: asyncio.Queue[asyncio.Future[T] | None] = asyncio.Queue()
    todo: list[asyncio.Future[T]] = [asyncio.ensure_future(f, loop=loop) for f in list(fs)]
    timeout_handle = None

    def on_timeout() -> None:
        for f in todo:
            f.remove_done_callback(on_completion)
            done.put_nowait(None)  # one per awaitable still to give
        todo.clear()

    def on_completion(f: asyncio.Future[T]) -> None:
        if not todo:
            return  # timed out first
        todo.remove(f)
        done.put_nowait(f)
        if not todo and timeout_handle is not None:
            timeout_handle.cancel()

    async def wait_for_one() -> T:
        f = await done.get()
        if f is None:
            raise TimeoutError
        return f.result()

    for f in todo:
        f.add_done_callback(on_completion)
    seconds = _seconds(timeout)
    if todo and seconds is not None:
        timeout_handle = loop.call_later(seconds, on_timeout)
    return (wait_for_one() for _ in range(len(todo)))

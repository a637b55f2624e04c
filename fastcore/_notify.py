"""Telling callers what durable events mean: update results, closes and watched events.

Callers park on futures kept with their run (``Run.close_waiters``, ``update_waiters``,
``watchers``); the pipeline calls ``acknowledge`` and ``notify_watchers`` once an
activation's events are durable, never before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from ._event_types import ET_WORKFLOW_EXECUTION_UPDATE_COMPLETED
from ._run import Run
from ._time_skip import TimeSkipper
from .errors import ApplicationError, WorkflowUpdateFailedError
from .history import CLOSE_EVENTS, Event

__all__ = ["Notifier"]

_UPDATE_COMPLETED = ET_WORKFLOW_EXECUTION_UPDATE_COMPLETED
_NO_WAITERS: list[asyncio.Future[None]] = []  # never written: replaced on first use


class Notifier:
    """Wakes the callers waiting on a run: result, update and watch."""

    def __init__(self, skipper: TimeSkipper) -> None:
        self._skipper = skipper

    # ------------------------------------------------------------------ from the pipeline

    def acknowledge(self, run: Run, events: list[Event]) -> None:
        """Tell waiting callers what these (now durable) events mean."""
        if not run.update_waiters and not run.close_waiters:
            return
        for ev in events:
            et = ev.event_type
            if et is _UPDATE_COMPLETED:
                w = run.update_waiters.pop(ev.attributes["update_id"], None)
                if w is not None and not w.done():
                    w.set_result(ev)
            elif et in CLOSE_EVENTS:
                for w in list(run.update_waiters.values()):
                    if not w.done():
                        w.set_exception(
                            WorkflowUpdateFailedError(
                                ApplicationError(
                                    "the workflow closed before the update completed",
                                    type="WorkflowClosed",
                                )
                            )
                        )
                run.update_waiters.clear()
                waiters = run.close_waiters
                if waiters:
                    run.close_waiters = _NO_WAITERS
                    for cw in waiters:
                        if not cw.done():
                            cw.set_result(None)

    def notify_watchers(self, run: Run) -> None:
        """Wake every ``watch`` of the run: its history grew."""
        if run.watchers:
            ws = run.watchers
            run.watchers = []
            for w in ws:
                if not w.done():
                    w.set_result(None)

    # ------------------------------------------------------------------ for callers

    async def closed(self, run: Run) -> None:
        """Wait until the open ``run`` has closed (durably)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not run.close_waiters:
            run.close_waiters = []
        run.close_waiters.append(fut)
        skipper = self._skipper
        skipper.result_waiters += 1
        skipper.schedule()
        try:
            await fut
        finally:
            skipper.result_waiters -= 1
            if fut in run.close_waiters:
                run.close_waiters.remove(fut)

    def expect_update(self, run: Run, update_id: str) -> asyncio.Future[Event]:
        """A future for the completion of update ``update_id`` (the one already there, so
        every caller of one id waits for the same); register it before the input."""
        waiter = run.update_waiters.get(update_id)
        if waiter is not None:
            return waiter
        waiter = asyncio.get_running_loop().create_future()
        if not run.update_waiters:
            run.update_waiters = {}
        run.update_waiters[update_id] = waiter
        return waiter

    async def update_completed(self, waiter: asyncio.Future[Event]) -> Event:
        """Wait for the UPDATE_COMPLETED event ``expect_update`` promised (a caller that
        gives up does not cancel it for the others)."""
        if waiter.done():
            return waiter.result()  # completed within the call (no real I/O on the way)
        skipper = self._skipper
        skipper.result_waiters += 1
        skipper.schedule()
        try:
            return await asyncio.shield(waiter)
        finally:
            skipper.result_waiters -= 1

    async def history_grew(self, run: Run) -> None:
        """Wait until more of the run's events are durable (or it closed)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not run.watchers:
            run.watchers = []
        run.watchers.append(fut)
        try:
            await fut
        finally:
            if fut in run.watchers:
                run.watchers.remove(fut)

    def cancel_all(self, runs: Iterable[Run]) -> None:
        """The engine shuts down: every caller still waiting gets ``CancelledError``."""
        for run in runs:
            for w in run.close_waiters + list(run.update_waiters.values()) + run.watchers:
                if not w.done():
                    w.cancel()

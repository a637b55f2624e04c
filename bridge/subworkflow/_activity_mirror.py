"""Worker side: the mirror stream, a bridge activity's fastcore run signalled to its workflow.

A bridge activity started with ``mirror=True`` (``execute_fastcore_workflow``) runs a
:class:`MirrorStream` once its sub-workflow does not finish at once: it follows the run's
history in the engine and signals the Temporal workflow that scheduled the activity
(``MIRROR_SIGNAL``, through the worker's own client, ``temporalio.activity.client()``) with
the run's location and its new events, in order, one signal in flight at a time: events that
arrive while one is sent go in the next. With each batch goes the answer of the
sub-workflow's ``state_query``, run in the engine right before the signal is sent. The
activity waits (up to ``MIRROR_FLUSH_TIMEOUT``) for the last batch, the one with the closing
event, before it reports the result, so the workflow's mirror is whole when the result
arrives. A failed signal is tried again with backoff; the stream gives up when the workflow
is gone. The mirror is a view, never the sub-workflow's state: a lost batch costs
freshness, not correctness.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import temporalio.client
import temporalio.service
from temporalio import activity

from fastcore import WorkflowHandle
from fastcore.history import CLOSE_EVENTS, event_to_json

from ._workflow_mirror import MIRROR_SIGNAL, MIRROR_VERSION

__all__ = ["MIRROR_FLUSH_TIMEOUT", "MirrorStream", "mirror_target"]

_log = logging.getLogger(__name__)

MAX_BATCH_EVENTS = 200
"""Most events in one mirror signal (a long burst goes in several)."""
MIRROR_FLUSH_TIMEOUT = timedelta(seconds=5)
"""How long a bridge activity waits for its mirror's last batch before it reports."""
_RETRY_BACKOFF = (0.1, 0.2, 0.5, 1.0, 2.0)  # seconds between attempts to send a batch
_GONE = (temporalio.service.RPCStatusCode.NOT_FOUND,)


class MirrorStream:
    """Signals a Temporal workflow with a fastcore run's location, events and state.

    Args:
        handle: The run, in this worker's engine.
        location: The batch header: ``fastcore_mirror`` (the version), ``workflow_id``,
            ``run_id``, ``workflow_type``, ``bridge_address``, ``identity``, ``host``,
            ``pid``, ``activity_id``, ``attempt``.
        target: The Temporal workflow to signal.
        state_query: The fastcore query whose answer goes with each batch, if any.
        gap: The shortest time, in seconds, between two signals.
        signal_name: The signal to send.
    """

    def __init__(
        self,
        handle: WorkflowHandle,
        location: Mapping[str, Any],
        target: temporalio.client.WorkflowHandle[Any, Any],
        *,
        state_query: str | None = None,
        gap: float = 0.05,
        signal_name: str = MIRROR_SIGNAL,
    ) -> None:
        self._handle = handle
        self._header = {**location, "fastcore_mirror": MIRROR_VERSION}
        self._target = target
        self._state_query = state_query
        self._gap = gap
        self._signal_name = signal_name
        self._pending: list[dict[str, Any]] = []
        self._closed = False  # the run's closing event is pending or sent
        self._ended = False  # the history stream ended
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._last = -math.inf
        self.sent_batches = 0
        self.sent_events = 0
        self._follow_task = self._loop.create_task(self._follow())
        self._send_task = self._loop.create_task(self._send_all())

    async def _follow(self) -> None:
        try:
            async for event in self._handle.watch(1):
                self._pending.append(event_to_json(event))
                if event.event_type in CLOSE_EVENTS:
                    self._closed = True
                self._wake.set()
        finally:
            self._ended = True
            self._wake.set()

    async def _send_all(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                delay = self._last + self._gap - self._loop.time()
                if delay > 0:  # pacing: at most one signal per gap; newer events join the batch
                    await asyncio.sleep(delay)
                if not await self._send_one():
                    return
            if self._ended:
                return

    async def _send_one(self) -> bool:
        """Send the oldest pending events; False when the workflow is gone."""
        batch = self._pending[:MAX_BATCH_EVENTS]
        payload = dict(self._header)
        payload["events"] = batch
        if self._state_query is not None:
            try:
                payload["state"] = await self._handle.query(self._state_query, result_type=object)
            except Exception as err:  # the state is a view: report why it is missing
                payload["state_error"] = f"{type(err).__name__}: {err}"
        for attempt, pause in enumerate((*_RETRY_BACKOFF, None)):
            try:
                await self._target.signal(self._signal_name, payload)
                break
            except temporalio.service.RPCError as err:
                if err.status in _GONE or pause is None:
                    _log.warning(
                        "fastcore mirror of %s: signal to %s failed (%s); mirroring stops",
                        self._header.get("workflow_id"),
                        self._target.id,
                        err,
                    )
                    return False
                _log.debug("mirror signal attempt %d failed: %s", attempt + 1, err)
                await asyncio.sleep(pause)
            except Exception as err:  # not the server's: a value the converter refuses
                _log.warning(
                    "fastcore mirror of %s: cannot send a batch (%r); mirroring stops",
                    self._header.get("workflow_id"),
                    err,
                )
                return False
        self._last = self._loop.time()
        del self._pending[: len(batch)]
        self.sent_batches += 1
        self.sent_events += len(batch)
        return True

    @property
    def flushed(self) -> bool:
        """Whether every event up to the run's closing one has been sent."""
        return self._closed and not self._pending

    async def close(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the last batch, then stop following."""
        if timeout > 0 and not self._send_task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._send_task), timeout)
            except TimeoutError:  # asyncio.wait_for raises the builtin
                pass
            except Exception as err:
                _log.warning("fastcore mirror stream failed: %r", err)
        tasks = (self._follow_task, self._send_task)
        for task in tasks:
            task.cancel()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                _log.warning("fastcore mirror stream failed: %r", outcome)


def mirror_target(info: activity.Info) -> temporalio.client.WorkflowHandle[Any, Any] | None:
    """The handle of the Temporal workflow that scheduled the current activity, if reachable."""
    if not info.workflow_id:
        return None  # a standalone activity: no workflow to mirror to
    try:
        client = activity.client()
    except RuntimeError as err:
        _log.warning("no Temporal client in the activity, so no fastcore mirror: %s", err)
        return None
    return client.get_workflow_handle(info.workflow_id, run_id=info.workflow_run_id)

"""Hooks the engine calls at each step; OpenTelemetry spans and metrics hang off them.

With no tracer or meter provider (the default) every hook is a no-op, so an untraced engine
pays one attribute lookup per step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["Telemetry"]


class Telemetry:
    """No-op telemetry; replaced by real spans when providers are given."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider

    def workflow_started(self, run: Any) -> None:
        pass

    def workflow_closed(self, run: Any, event: Any) -> None:
        pass

    def workflow_task_failed(self, run: Any, err: BaseException | None) -> None:
        pass

    def activity_attempt_started(self, task: Any) -> None:
        pass

    def activity_attempt_ended(self, task: Any) -> None:
        pass

    def signal_received(self, run: Any, name: str) -> None:
        pass

    @contextlib.contextmanager
    def query_span(self, run: Any, name: str) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def update_span(self, run: Any, name: str) -> Iterator[None]:
        yield

    def suppress_replay(self, run: Any) -> None:
        pass

    def shutdown(self) -> None:
        pass

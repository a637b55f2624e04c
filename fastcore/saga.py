"""Sagas: undo completed steps, in reverse order, when a later step fails.

Each compensation is a real activity (with its own retry policy and timeouts), so it is
durable like every other step and behaves the same after a crash::

    async with Saga() as saga:
        await workflow.execute_activity(reserve, item, start_to_close_timeout=T)
        saga.add_compensation(release, item, start_to_close_timeout=T)
        await workflow.execute_activity(charge, card, start_to_close_timeout=T)  # fails
    # -> release(item) ran, then the original failure is raised

A compensation that fails does not hide the original error: the saga raises
``CompensationError`` whose ``__cause__`` is the original failure and whose details name
each compensation that failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any

from . import workflow
from .errors import ApplicationError

__all__ = ["CompensationError", "Saga"]


class CompensationError(ApplicationError):
    """One or more compensations failed; ``__cause__`` is what made the saga compensate."""

    def __init__(self, message: str, failures: list[dict[str, str]]) -> None:
        super().__init__(message, *failures, type="CompensationError", non_retryable=True)
        self.failures = failures


@dataclass
class _Step:
    activity: Callable[..., Any] | str
    args: tuple[Any, ...]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return (
            self.activity
            if isinstance(self.activity, str)
            else getattr(self.activity, "__name__", "?")
        )


class Saga:
    """Collects compensations and runs them when the saga fails.

    Args:
        parallel_compensation: run compensations concurrently instead of in reverse order.
        continue_on_error: keep compensating after a compensation fails (default True).
    """

    def __init__(
        self, *, parallel_compensation: bool = False, continue_on_error: bool = True
    ) -> None:
        self._steps: list[_Step] = []
        self.parallel_compensation = parallel_compensation
        self.continue_on_error = continue_on_error
        self.compensated: list[str] = []

    def add_compensation(
        self, activity: Callable[..., Any] | str, *args: Any, **options: Any
    ) -> None:
        """Register the activity that undoes the step just completed (options as for
        ``workflow.execute_activity``; ``start_to_close_timeout`` defaults to 30 s)."""
        options.setdefault("start_to_close_timeout", timedelta(seconds=30))
        self._steps.append(_Step(activity, args, options))

    async def _run(self, step: _Step) -> None:
        await workflow.execute_activity(step.activity, *step.args, **step.options)
        self.compensated.append(step.name)

    async def compensate(self, cause: BaseException | None = None) -> None:
        """Run the compensations (reverse order, or all at once); raise if any failed."""
        steps = list(reversed(self._steps))
        self._steps.clear()
        failures: list[dict[str, str]] = []
        if self.parallel_compensation:
            results = await asyncio.gather(*(self._run(s) for s in steps), return_exceptions=True)
            for s, r in zip(steps, results, strict=True):
                if isinstance(r, BaseException):
                    failures.append({"compensation": s.name, "error": _describe(r)})
        else:
            for s in steps:
                try:
                    await self._run(s)
                except Exception as err:
                    failures.append({"compensation": s.name, "error": _describe(err)})
                    if not self.continue_on_error:
                        break
        if failures:
            names = ", ".join(f["compensation"] for f in failures)
            what = f" after: {_describe(cause)}" if cause is not None else ""
            error = CompensationError(f"compensation failed ({names}){what}", failures)
            if cause is not None:
                raise error from cause
            raise error

    async def __aenter__(self) -> Saga:
        return self

    async def __aexit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc is None or isinstance(exc, workflow.ContinueAsNewError | GeneratorExit):
            # GeneratorExit: the run's coroutine is being discarded (its engine shut down
            # with the run open, and the run resumes elsewhere by replay), not failing
            return False
        await self.compensate(exc)
        return False


def _describe(err: BaseException | None) -> str:
    if err is None:
        return ""
    cause = err.__cause__
    text = f"{type(err).__name__}: {err}"
    if cause is not None:
        text += f" (caused by {type(cause).__name__}: {cause})"
    return text

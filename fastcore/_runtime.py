"""Finds the workflow runtime behind the running code, so ``fastcore.workflow`` calls work.

Workflow code runs on a private event loop per workflow run; the loop points back to its
runtime. Another runtime (bridge's Temporal adapter) can register a resolver so the same
workflow class runs there too, without fastcore knowing what that runtime is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["current", "in_workflow", "register_resolver"]

_resolvers: list[Callable[[], Any | None]] = []


def register_resolver(resolver: Callable[[], Any | None]) -> None:
    """Add a function that returns a runtime object for foreign workflow code, or None."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def _lookup() -> Any | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    rt = getattr(loop, "_fastcore_runtime", None)
    if rt is not None:
        return rt
    for resolver in _resolvers:
        rt = resolver()
        if rt is not None:
            return rt
    return None


_running_loop = asyncio.events._get_running_loop


def current() -> Any:
    """The runtime of the workflow whose code is running; raises outside workflow code."""
    rt = getattr(_running_loop(), "_fastcore_runtime", None)  # the fast path: fastcore's loop
    if rt is not None:
        return rt
    rt = _lookup()
    if rt is None:
        raise RuntimeError("Not in workflow code: this call is only valid inside a workflow")
    return rt


def in_workflow() -> bool:
    """Whether the caller is workflow code."""
    return _lookup() is not None

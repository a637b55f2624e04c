"""``workflow.unsafe``: temporalio's escape hatches, meaningful on fastcore and on Temporal.

fastcore runs workflow code without a sandbox, so on fastcore ``imports_passed_through()``
and ``sandbox_unrestricted()`` only mark the block (``is_imports_passed_through()`` and
``is_sandbox_unrestricted()`` say so) and ``in_sandbox()`` is False. When the same code runs
inside Temporal's sandbox (``bridge.as_temporal_workflow``), the integration registers the
sandbox (``register_sandbox``) and these calls are temporalio's own, so ``with
workflow.unsafe.imports_passed_through(): import ...`` passes the imports through there.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from enum import Flag, auto
from typing import Any

from . import _runtime

__all__ = ["SandboxImportNotificationPolicy", "register_sandbox", "unsafe"]


class SandboxImportNotificationPolicy(Flag):
    """What Temporal's sandbox does about imports after load; no effect on fastcore."""

    SILENT = auto()
    WARN_ON_DYNAMIC_IMPORT = auto()
    WARN_ON_UNINTENTIONAL_PASSTHROUGH = auto()
    RAISE_ON_UNINTENTIONAL_PASSTHROUGH = auto()


_sandboxes: list[Any] = []
_local = threading.local()


def register_sandbox(sandbox: Any) -> None:
    """Add a sandbox that ``unsafe`` defers to while ``sandbox.in_sandbox()`` is True.

    ``sandbox`` offers temporalio's ``workflow.unsafe`` static methods by the same names.
    """
    if not any(type(s) is type(sandbox) for s in _sandboxes):
        _sandboxes.append(sandbox)


def _active() -> Any | None:
    for s in _sandboxes:
        if s.in_sandbox():
            return s
    return None


def _inside(method: str, flag: str) -> bool:
    """Whether a ``_block(method, flag)`` is open: the active sandbox's answer, or ours."""
    s = _active()
    if s is not None:
        return bool(getattr(s, method)())
    return bool(getattr(_local, flag, False))


@contextlib.contextmanager
def _block(method: str, flag: str) -> Iterator[None]:
    """The active sandbox's block ``method``, or (no sandbox) a block that sets ``flag``."""
    s = _active()
    if s is not None:
        with getattr(s, method)():
            yield None
        return
    if getattr(_local, flag, False):
        yield None  # nested: the outer block keeps the flag
        return
    setattr(_local, flag, True)
    try:
        yield None
    finally:
        setattr(_local, flag, False)


class unsafe:
    """Calls that are only safe when used with care, as ``temporalio.workflow.unsafe``."""

    def __init__(self) -> None:
        raise NotImplementedError

    @staticmethod
    def in_sandbox() -> bool:
        """Whether the code runs in Temporal's sandbox (never on fastcore: it has none)."""
        return _active() is not None

    @staticmethod
    def is_replaying() -> bool:
        """Whether the code is re-running against recorded history (queries included)."""
        return bool(_runtime.current().is_replaying())

    @staticmethod
    def is_replaying_history_events() -> bool:
        """Whether recorded history events are being replayed (queries and validators, live
        operations, are not)."""
        rt = _runtime.current()
        check = getattr(rt, "is_replaying_history_events", None)
        return bool(check() if check is not None else rt.is_replaying())

    @staticmethod
    def is_read_only() -> bool:
        """Whether the code runs read-only (a query or an update validator)."""
        check = getattr(_runtime.current(), "is_read_only", None)
        return bool(check()) if check is not None else False

    @staticmethod
    def is_sandbox_unrestricted() -> bool:
        """Whether the code runs inside ``sandbox_unrestricted()``."""
        return _inside("is_sandbox_unrestricted", "unrestricted")

    @staticmethod
    def sandbox_unrestricted() -> contextlib.AbstractContextManager[None]:
        """Run a block without the sandbox's restrictions (fastcore has none to lift)."""
        return _block("sandbox_unrestricted", "unrestricted")

    @staticmethod
    def is_imports_passed_through() -> bool:
        """Whether the code runs inside ``imports_passed_through()``."""
        return _inside("is_imports_passed_through", "passthrough")

    @staticmethod
    def imports_passed_through() -> contextlib.AbstractContextManager[None]:
        """Import modules in this block once, not per workflow run (the sandbox's concern;
        on fastcore every import is a normal import)."""
        return _block("imports_passed_through", "passthrough")

    @staticmethod
    def current_import_notification_policy_override() -> SandboxImportNotificationPolicy | None:
        """The policy ``sandbox_import_notification_policy`` set for this block, if any."""
        policy: SandboxImportNotificationPolicy | None = getattr(_local, "policy", None)
        return policy

    @staticmethod
    @contextlib.contextmanager
    def sandbox_import_notification_policy(
        policy: SandboxImportNotificationPolicy,
    ) -> Iterator[None]:
        """Apply an import notification policy to a block (Temporal's sandbox heeds it)."""
        previous = getattr(_local, "policy", None)
        _local.policy = policy
        try:
            s = _active()
            if s is not None:
                with s.sandbox_import_notification_policy(policy):
                    yield None
            else:
                yield None
        finally:
            _local.policy = previous

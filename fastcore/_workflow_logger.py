"""``workflow.logger``: temporalio's workflow ``LoggerAdapter``, quiet while replaying.

Each record gets the running workflow's details (and the update's, inside an update
handler) appended to its message and as ``extra["temporal_workflow"]``, the names
temporalio's adapter uses; records are dropped while recorded history is replayed (after a
restart, a failed task's retry, a query on a closed run), unless ``log_during_replay``.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from . import _runtime

__all__ = ["LoggerAdapter", "UpdateInfo", "current_update_info", "logger", "set_update_info"]


@dataclass(frozen=True)
class UpdateInfo:
    """The update whose handler (or validator) is running, as temporalio's."""

    id: str
    name: str

    @property
    def _logger_details(self) -> Mapping[str, Any]:
        return {"update_id": self.id, "update_name": self.name}


_update: contextvars.ContextVar[UpdateInfo | None] = contextvars.ContextVar(
    "fastcore_update", default=None
)
set_update_info = _update.set


def current_update_info() -> UpdateInfo | None:
    """The update being handled by the running code (its handler's task), or None."""
    info = _update.get()
    if info is None:
        rt = _runtime._lookup()
        other = getattr(rt, "current_update_info", None)  # another runtime's own record
        if other is not None:
            found = other()
            if found is not None:
                info = UpdateInfo(id=found.id, name=found.name)
    return info


class LoggerAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Adds the running workflow's details to each record; silent while replaying.

    Attributes:
        workflow_info_on_message: append a dict of the workflow's details to the message.
        workflow_info_on_extra: put that dict on the record as ``temporal_workflow``.
        full_workflow_info_on_extra: put the whole ``workflow.Info`` as ``workflow_info``.
        log_during_replay: log while replaying too.
    """

    def __init__(self, logger: logging.Logger, extra: Mapping[str, Any] | None) -> None:
        super().__init__(logger, extra or {})
        self.workflow_info_on_message = True
        self.workflow_info_on_extra = True
        self.full_workflow_info_on_extra = False
        self.log_during_replay = False
        self.disable_sandbox = False

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Add the workflow's (and the update's) details to the message and the extra."""
        if not (
            self.workflow_info_on_message
            or self.workflow_info_on_extra
            or self.full_workflow_info_on_extra
        ):
            return msg, kwargs
        rt = _runtime._lookup()
        details: dict[str, Any] = {}
        if rt is not None:
            info = rt.info()
            details.update(info._logger_details())
        update = current_update_info()
        if update is not None:
            details.update(update._logger_details)
        extra: dict[str, Any] = {}
        if details and self.workflow_info_on_extra:
            extra["temporal_workflow"] = dict(details)
        if rt is not None and self.full_workflow_info_on_extra:
            extra["workflow_info"] = rt.info()
        kwargs["extra"] = {**extra, **(kwargs.get("extra") or {})}
        if details and self.workflow_info_on_message:
            msg = f"{msg} ({details})"
        return msg, kwargs

    def isEnabledFor(self, level: int) -> bool:
        """False while replaying recorded history (unless ``log_during_replay``)."""
        if not self.log_during_replay:
            rt = _runtime._lookup()
            if rt is not None:
                check = getattr(rt, "is_replaying_history_events", None) or rt.is_replaying
                if check():
                    return False
        enabled: bool = self.logger.isEnabledFor(level)
        return enabled

    def log(self, level: int, msg: object, *args: Any, stacklevel: int = 1, **kwargs: Any) -> None:
        """Log as ``logging.LoggerAdapter`` does; records name the caller's frame, not this
        adapter's (as temporalio's)."""
        super().log(level, msg, *args, stacklevel=stacklevel + 1, **kwargs)

    @property
    def base_logger(self) -> logging.Logger:
        """The underlying logger, for adding handlers and formatters."""
        base: logging.Logger = self.logger
        return base

    def unsafe_disable_sandbox(self, value: bool = True) -> None:
        """temporalio's switch to log from outside its sandbox; fastcore has no sandbox (on
        Temporal, ``bridge`` runs this logger's records through temporalio's)."""
        self.disable_sandbox = value


logger = LoggerAdapter(logging.getLogger("fastcore.workflow"), None)
"""A logger for workflow code that does not repeat itself on replay."""

"""Checks on what callers hand the engine: ids, names, free text and timeouts, with Temporal's
limits, so a bad value is an ``InvalidArgumentError`` naming its field at the call, the same
on every store (and the bridge answers ``INVALID_ARGUMENT`` with the same message).

Temporal's frontend refuses ids and names longer than ``limit.maxIDLength`` (1000 by default,
counted in UTF-8 bytes as Go counts a string) and any string that is not valid UTF-8 (its
protobuf strings must be). A Python ``str`` can hold what UTF-8 cannot encode: a lone
surrogate (``"\\ud800"``), which no store could write and no wire could carry.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from .errors import InvalidArgumentError

__all__ = ["MAX_DURATION_SECONDS", "MAX_ID_LENGTH", "check_id", "check_text", "check_timeout"]

MAX_ID_LENGTH = 1000
"""Temporal's default ``limit.maxIDLength``: ids and names, in UTF-8 bytes."""

MAX_DURATION_SECONDS = 250 * 365 * 24 * 3600
"""Temporal caps durations at 250 years (``timestamp.ValidateAndCapProtoDuration``)."""


def _utf8_length(value: str, field: str) -> int:
    if value.isascii():
        return len(value)
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError as err:
        raise InvalidArgumentError(
            f"{field} is not valid UTF-8: it holds {value[err.start]!r} (a lone surrogate) at "
            f"index {err.start}"
        ) from None


def check_id(value: Any, field: str) -> str:
    """``value`` if it is a usable id or name: a non-empty string of valid UTF-8 within
    Temporal's 1000-byte limit.

    Raises:
        InvalidArgumentError: It is not a string, is empty, is not valid UTF-8, or is longer.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{field} must be a string, not {type(value).__name__}")
    if not value:
        raise InvalidArgumentError(f"{field} is required (it is empty)")
    length = len(value) if value.isascii() else _utf8_length(value, field)
    if length > MAX_ID_LENGTH:
        raise InvalidArgumentError(
            f"{field} is {length} bytes long; Temporal's limit is {MAX_ID_LENGTH} "
            "(limit.maxIDLength)"
        )
    return value


def check_text(value: Any, field: str) -> str:
    """``value`` if it is a string of valid UTF-8 (free text such as a reason; may be empty).

    Raises:
        InvalidArgumentError: It is not a string, or not valid UTF-8.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{field} must be a string, not {type(value).__name__}")
    if not value.isascii():
        _utf8_length(value, field)
    return value


def check_timeout(value: Any, field: str) -> float | None:
    """Seconds of a timeout option, None when unset (None or zero, as Temporal reads zero).

    Raises:
        InvalidArgumentError: It is not a ``timedelta``, or it is negative. Values above
            250 years are capped there, as Temporal caps them.
    """
    if value is None:
        return None
    if not isinstance(value, timedelta):
        raise InvalidArgumentError(f"{field} must be a timedelta, not {type(value).__name__}")
    seconds = value.total_seconds()
    if seconds < 0 or not math.isfinite(seconds):
        raise InvalidArgumentError(f"{field} must not be negative, got {value}")
    if seconds == 0:
        return None
    return float(min(seconds, MAX_DURATION_SECONDS))

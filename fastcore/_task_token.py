"""Task tokens: what identifies a scheduled activity to ``Engine.get_async_activity_handle``.

A token is opaque to users (as Temporal's); fastcore's names the workflow id, the run id and
the id of the activity's scheduled event, so it stays valid across attempts and restarts.
"""

from __future__ import annotations

import json

from .errors import InvalidArgumentError

__all__ = ["make_token", "read_token"]


def make_token(workflow_id: str, run_id: str, scheduled_event_id: int) -> bytes:
    """The task token of the activity scheduled by event ``scheduled_event_id`` of a run."""
    return json.dumps(["fastcore-activity", workflow_id, run_id, scheduled_event_id]).encode()


def read_token(token: bytes) -> tuple[str, str, int]:
    """``(workflow_id, run_id, scheduled_event_id)`` of a token ``make_token`` made."""
    try:
        kind, workflow_id, run_id, seq = json.loads(bytes(token).decode())
        if kind != "fastcore-activity":
            raise ValueError(kind)
        return str(workflow_id), str(run_id), int(seq)
    except (ValueError, TypeError, UnicodeDecodeError) as err:
        raise InvalidArgumentError(
            f"not a fastcore activity task token: {bytes(token)[:60]!r} ({err})"
        ) from None

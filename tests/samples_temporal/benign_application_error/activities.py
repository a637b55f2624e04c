"""benign_application_error/activities.py: an activity that always fails, BENIGN or not.

Source: temporalio/samples-python benign_application_error/activities.py at
d2b88afe8914642432d9faf9a2dde5b9e1ea5a2e (re-written, not copied).
"""

from __future__ import annotations

from fastcore import activity
from fastcore.errors import ApplicationError, ApplicationErrorCategory


@activity.defn
async def greeting_activities(use_benign: bool) -> None:
    # A BENIGN failure logs at DEBUG and records no failure metric.
    if use_benign:
        raise ApplicationError(
            message="With benign flag : Greeting not sent",
            category=ApplicationErrorCategory.BENIGN,
        )
    else:
        raise ApplicationError("Without benign flag : Greeting not sent")

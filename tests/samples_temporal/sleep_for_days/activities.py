"""sleep_for_days/activities.py: a stand-in activity that "sends" an email.

Source: temporalio/samples-python sleep_for_days/activities.py at
2f3f2ac03d75e854e592b476354c0d692eb23f3b (re-written, not copied).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastcore import activity


@dataclass
class SendEmailInput:
    email_msg: str


@activity.defn()
async def send_email(input: SendEmailInput) -> str:
    """A stub for sending an email."""
    result = f"Email message: {input.email_msg}, sent"
    print(result)
    return result

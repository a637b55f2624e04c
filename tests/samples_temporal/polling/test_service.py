"""polling/test_service.py: a stand-in service that fails until its fifth call per workflow.

Source: temporalio/samples-python polling/test_service.py (the version that counts calls per
workflow id and fails with a BENIGN ApplicationError) at
1c3060f357bf030d125e0be48a00b90ffa32c937 (re-written, not copied).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fastcore import activity
from fastcore.errors import ApplicationError, ApplicationErrorCategory

attempts: Counter[str] = Counter()
ERROR_ATTEMPTS = 5


@dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


async def get_service_result(input: Any) -> str:
    workflow_id = activity.info().workflow_id
    attempts[workflow_id] += 1

    print(f"Attempt {attempts[workflow_id]} of {ERROR_ATTEMPTS} to invoke service")
    if attempts[workflow_id] == ERROR_ATTEMPTS:
        return f"{input.greeting}, {input.name}!"
    raise ApplicationError(
        message="service is down",
        # An expected failure: BENIGN keeps its logs at DEBUG and out of failure metrics.
        category=ApplicationErrorCategory.BENIGN,
    )

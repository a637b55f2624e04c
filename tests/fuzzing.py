"""Hypothesis settings the fuzz tests share: bounded and repeatable in CI, wider on demand.

CI runs ``FUZZ_EXAMPLES`` examples per fuzz test (150), derandomized so a run is the same
every time and writes no example database. ``FASTCORE_FUZZ_EXAMPLES=5000 bash scripts/test
-k fuzz`` explores further (randomized); a failure prints the falsifying example and the
``@reproduce_failure`` line that replays it.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["FUZZ_EXAMPLES", "fuzz"]

_ASKED = os.environ.get("FASTCORE_FUZZ_EXAMPLES")
FUZZ_EXAMPLES = int(_ASKED) if _ASKED else 150

fuzz = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,  # a shared 2-core machine: no timing thresholds
    database=None,
    derandomize=_ASKED is None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""The ``@fuzz`` decorator for every fuzz test."""

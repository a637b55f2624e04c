"""compare-traces' fixtures: a fresh global tracer provider per live test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def global_provider_reset() -> Iterator[None]:
    """An unset global tracer provider for the test; the previous one restored after."""
    import opentelemetry.trace as ot
    from opentelemetry.util._once import Once

    saved = (ot._TRACER_PROVIDER, ot._TRACER_PROVIDER_SET_ONCE)
    ot._TRACER_PROVIDER_SET_ONCE = Once()
    ot._TRACER_PROVIDER = None
    try:
        yield
    finally:
        provider = ot._TRACER_PROVIDER
        if provider is not None and provider is not saved[0]:
            provider.shutdown()  # type: ignore[attr-defined]
        ot._TRACER_PROVIDER, ot._TRACER_PROVIDER_SET_ONCE = saved

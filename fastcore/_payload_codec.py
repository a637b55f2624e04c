"""Payload codecs: bytes to bytes (encryption, compression), as ``temporalio.converter``'s.

A codec's ``encode``/``decode`` are ``async def``, as in temporalio, so a Temporal user's codec
moves unchanged. fastcore converts inside deterministic workflow code, which never awaits, so
the engine drives a codec's coroutine to its end at once: a codec that computes (encrypts,
compresses) works as written; one that awaits real I/O (a remote key service) cannot run
there and raises ``InvalidArgumentError`` saying so, instead of blocking the engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from ._payload import Payload
from .errors import InvalidArgumentError

__all__ = ["PayloadCodec", "run_codec"]

_T = TypeVar("_T")


class PayloadCodec(ABC):
    """Encodes payloads to payloads and back (encryption, compression)."""

    @abstractmethod
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """The encoded payloads (do not mutate the ones given)."""

    @abstractmethod
    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """The decoded payloads (do not mutate the ones given)."""


def run_codec(call: Coroutine[Any, Any, _T], codec: PayloadCodec, what: str) -> _T:
    """Drive a codec's coroutine to its end without an event loop.

    Raises:
        InvalidArgumentError: The codec awaited something (real I/O) instead of finishing.
    """
    try:
        call.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    call.close()
    raise InvalidArgumentError(
        f"payload codec {type(codec).__name__}.{what} awaited I/O: fastcore runs codecs inside "
        "workflow code, synchronously, so a codec must compute its result without awaiting "
        "(encrypt or compress in place; fetch keys before the engine starts)"
    )

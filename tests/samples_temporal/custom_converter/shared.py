"""custom_converter/shared.py: the greeting classes and their payload converter.

Source: temporalio/samples-python custom_converter/shared.py at
292c482ed81bda859d217afbd629120af208a979 (re-written, not copied). ``Payload`` comes from
``fastcore`` where the sample imports ``temporalio.api.common.v1``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import fastcore.converter
from fastcore import Payload
from fastcore.converter import (
    CompositePayloadConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
)


class GreetingInput:
    def __init__(self, name: str) -> None:
        self.name = name


class GreetingOutput:
    def __init__(self, result: str) -> None:
        self.result = result


class GreetingEncodingPayloadConverter(EncodingPayloadConverter):
    @property
    def encoding(self) -> str:
        return "text/my-greeting-encoding"

    def to_payload(self, value: Any) -> Payload | None:
        if isinstance(value, GreetingInput):
            return Payload(
                metadata={"encoding": self.encoding.encode(), "is_input": b"true"},
                data=value.name.encode(),
            )
        elif isinstance(value, GreetingOutput):
            return Payload(
                metadata={"encoding": self.encoding.encode()},
                data=value.result.encode(),
            )
        else:
            return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        if payload.metadata.get("is_input") == b"true":
            # a type hint, when there is one, must agree
            assert not type_hint or type_hint is GreetingInput
            return GreetingInput(payload.data.decode())
        else:
            assert not type_hint or type_hint is GreetingOutput
            return GreetingOutput(payload.data.decode())


class GreetingPayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        # ours first, then the default ones
        super().__init__(
            GreetingEncodingPayloadConverter(),
            *DefaultPayloadConverter.default_encoding_payload_converters,
        )


# The default data converter with another payload converter.
greeting_data_converter = dataclasses.replace(
    fastcore.converter.default(),
    payload_converter_class=GreetingPayloadConverter,
)

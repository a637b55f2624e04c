"""A data converter for pydantic v2 models, as ``temporalio.contrib.pydantic``.

``Engine(data_converter=pydantic_data_converter)``: values are written with pydantic's JSON
serializer (models, dataclasses, datetimes, UUIDs, sets...) and read back with a
``TypeAdapter`` of the type hint, so a model arrives as the model, validated. Importing this
module imports pydantic; importing ``fastcore`` does not.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

try:
    from pydantic import TypeAdapter
    from pydantic_core import SchemaSerializer, to_json
    from pydantic_core.core_schema import any_schema
except ImportError as err:  # pragma: no cover - exercised only without pydantic installed
    raise ImportError(
        "fastcore.contrib.pydantic needs pydantic 2: pip install 'fastcore-temporal[pydantic]'"
    ) from err

from .._payload import Payload
from ..converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
)

__all__ = [
    "PydanticJSONPlainPayloadConverter",
    "PydanticPayloadConverter",
    "ToJsonOptions",
    "pydantic_data_converter",
]


@dataclass
class ToJsonOptions:
    """How values are written to JSON."""

    exclude_unset: bool = False


class PydanticJSONPlainPayloadConverter(EncodingPayloadConverter):
    """``json/plain`` through pydantic: anything pydantic serializes, validated on the way in.

    Args:
        to_json_options: How to write JSON (None: pydantic's defaults).
        max_cached_type_adapters: Type adapters kept per type hint (None: no limit, 0: none).
    """

    def __init__(
        self,
        to_json_options: ToJsonOptions | None = None,
        *,
        max_cached_type_adapters: int | None = 1024,
    ) -> None:
        if max_cached_type_adapters is not None and max_cached_type_adapters < 0:
            raise ValueError("max_cached_type_adapters cannot be negative")
        self._options = to_json_options
        self._serializer = SchemaSerializer(any_schema())
        self._adapter = functools.lru_cache(maxsize=max_cached_type_adapters)(TypeAdapter)

    @property
    def encoding(self) -> str:
        """``json/plain``."""
        return "json/plain"

    def to_payload(self, value: Any) -> Payload | None:
        """The JSON pydantic writes for ``value``."""
        if self._options is not None:
            data = self._serializer.to_json(value, exclude_unset=self._options.exclude_unset)
        else:
            data = to_json(value)
        return Payload({"encoding": b"json/plain"}, data)

    def from_payload(self, payload: Payload, type_hint: Any = None) -> Any:
        """The value a ``TypeAdapter`` of the hint validates from the JSON."""
        hint = type_hint if type_hint is not None else Any
        try:
            adapter: TypeAdapter[Any] = self._adapter(hint)
        except TypeError:
            try:
                hash(hint)
            except TypeError:  # an unhashable hint: no cache
                adapter = TypeAdapter(hint)
            else:
                raise
        return adapter.validate_json(payload.data)


class PydanticPayloadConverter(CompositePayloadConverter):
    """The default payload converter with its ``json/plain`` part replaced by pydantic's."""

    def __init__(
        self,
        to_json_options: ToJsonOptions | None = None,
        *,
        max_cached_type_adapters: int | None = 1024,
    ) -> None:
        pydantic_json = PydanticJSONPlainPayloadConverter(
            to_json_options, max_cached_type_adapters=max_cached_type_adapters
        )
        super().__init__(
            *(
                pydantic_json if c.encoding == "json/plain" else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


pydantic_data_converter = DataConverter(payload_converter_class=PydanticPayloadConverter)
"""The pydantic data converter: ``Engine(data_converter=pydantic_data_converter)``."""

"""Data conversion, as ``temporalio.converter``: payload converters, codecs, failure converters.

Everything a Temporal user configures moves with only its imports changed::

    from fastcore.converter import DataConverter, PayloadCodec
    engine = Engine(workflows=[...], data_converter=DataConverter(payload_codec=MyCodec()))

What differs (fastcore has no protobuf, and converts synchronously inside workflow code):
``DataConverter.encode``/``decode`` are plain methods, not coroutines; a codec's coroutines
are driven to their end at once and must not await I/O; failures are dicts shaped as
Temporal's ``Failure`` rather than the proto; ``json/protobuf`` payloads are read as JSON and
never written. ``docs/client-and-converter.md`` lists every difference.
"""

from __future__ import annotations

from ._converter import DataConverter, default
from ._failure_converter import (
    DefaultFailureConverter,
    DefaultFailureConverterWithEncodedAttributes,
    FailureConverter,
)
from ._json import AdvancedJSONEncoder, JSONTypeConverter, JSONTypeConverterUnhandled, value_to_type
from ._payload_codec import PayloadCodec
from ._payload_converter import (
    BinaryNullPayloadConverter,
    BinaryPlainPayloadConverter,
    CompositePayloadConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadConverter,
)

__all__ = [
    "AdvancedJSONEncoder",
    "BinaryNullPayloadConverter",
    "BinaryPlainPayloadConverter",
    "CompositePayloadConverter",
    "DataConverter",
    "DefaultFailureConverter",
    "DefaultFailureConverterWithEncodedAttributes",
    "DefaultPayloadConverter",
    "EncodingPayloadConverter",
    "FailureConverter",
    "JSONPlainPayloadConverter",
    "JSONTypeConverter",
    "JSONTypeConverterUnhandled",
    "PayloadCodec",
    "PayloadConverter",
    "default",
    "value_to_type",
]

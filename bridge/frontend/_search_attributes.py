"""Search attributes between Temporal's messages and the engine, which keeps them.

In: a start's ``SearchAttributes`` (a ``json/plain`` payload per attribute, its type in the
``type`` metadata) become the engine's typed search attributes; an attribute without type
metadata takes the type the engine knows it by, or the one its JSON value suggests (Keyword
for text, Int, Double, Bool, KeywordList), as the frontend did before the engine kept them.
The engine checks names and types (a built-in name, a value of the wrong type, an attribute
used with another type before) and says what is wrong: ``INVALID_ARGUMENT``.

Out: the engine's typed attributes (from ``describe()`` and list rows) as Temporal's
payloads, with the ``type`` metadata clients decode typed attributes by.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from temporalio.api.common.v1 import Payload as TPayload
from temporalio.api.common.v1 import SearchAttributes

from fastcore.common import SearchAttributeKey, TypedSearchAttributes
from fastcore.integration import search_attributes, visibility

from ..history._common import attribute_type_of
from ._errors import invalid

__all__ = ["from_temporal_attributes", "to_temporal_attributes"]


def from_temporal_attributes(
    attrs: SearchAttributes, known: Mapping[str, SearchAttributeKey[Any]]
) -> TypedSearchAttributes | None:
    """A start's search attributes as the engine takes them (None when there are none).

    Raises:
        FrontendError: ``INVALID_ARGUMENT`` for a value that is not JSON, or an attribute
            whose type cannot be told.
    """
    encoded: dict[str, dict[str, Any]] = {}
    for name, payload in attrs.indexed_fields.items():
        if name in visibility.BUILTIN_ATTRIBUTES:
            raise invalid(f"search attribute {name!r} is built in and cannot be set")
        try:
            value = json.loads(payload.data) if payload.data else None
        except ValueError:
            raise invalid(f"search attribute {name!r}: the value is not JSON") from None
        if value is None:
            continue  # Temporal: a null value sets nothing
        type_name = payload.metadata.get("type", b"").decode()
        if not type_name:
            key = known.get(name)
            type_name = key._metadata_type if key is not None else (attribute_type_of(value) or "")
        if not type_name:
            raise invalid(f"search attribute {name!r}: cannot tell the type of {value!r}")
        encoded[name] = {"type": type_name, "value": value}
    if not encoded:
        return None
    try:
        return search_attributes.decode(encoded)
    except (TypeError, ValueError) as err:  # InvalidArgumentError is a ValueError
        raise invalid(f"search attributes: {err}") from None


def to_temporal_attributes(attrs: TypedSearchAttributes) -> SearchAttributes:
    """The engine's typed search attributes as Temporal's message."""
    out = SearchAttributes()
    for name, entry in search_attributes.encode(attrs).items():
        out.indexed_fields[name].CopyFrom(
            TPayload(
                metadata={"encoding": b"json/plain", "type": str(entry["type"]).encode()},
                data=json.dumps(entry["value"]).encode(),
            )
        )
    return out

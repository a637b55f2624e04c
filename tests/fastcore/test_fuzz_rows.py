"""Fuzzing the store's row decoding: whatever a row holds, reading it gives an event or
``RowError`` (a run's rows: a history or ``StoreError``), never another exception; and
every event written reads back equal."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fastcore._converter import Payload
from fastcore._rows import RowError, dump_event, load_event, load_history
from fastcore.errors import StoreError
from fastcore.history import Event, EventType

from ..fuzzing import fuzz

EVENT_TYPES = list(EventType)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
payloads = st.builds(
    Payload,
    st.dictionaries(st.text(min_size=1, max_size=8), st.binary(max_size=8), max_size=3),
    st.binary(max_size=32),
)
attribute_values = st.recursive(
    json_scalars | payloads,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
events = st.builds(
    Event,
    st.integers(min_value=1, max_value=10**6),
    st.sampled_from(EVENT_TYPES),
    st.floats(min_value=0, max_value=4e9, allow_nan=False),
    st.dictionaries(st.text(max_size=12), attribute_values, max_size=6),
)


def _valid_text(value: Any) -> bool:
    """Whether ``value`` holds only strings UTF-8 can encode (what a store can write)."""
    try:
        json.dumps(value, ensure_ascii=False, default=lambda p: p.data.hex()).encode()
    except UnicodeEncodeError:
        return False
    return True


@fuzz
@given(events)
def test_every_event_written_reads_back_equal(event: Event) -> None:
    if not _valid_text(event.attributes):
        return  # no store writes a lone surrogate: the engine refuses it at the call
    assert load_event(dump_event(event)) == event


@fuzz
@given(st.one_of(st.text(), st.binary()))
def test_arbitrary_text_is_an_event_or_a_row_error(text: str | bytes) -> None:
    try:
        event = load_event(text)
    except RowError:
        return
    assert isinstance(event, Event)


@fuzz
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "event_id": json_values | st.integers(),
            "event_type": st.sampled_from([t.value for t in EVENT_TYPES]) | json_values,
            "timestamp": json_values | st.floats(),
            "attributes": json_values
            | st.dictionaries(
                st.text(),
                json_values | st.fixed_dictionaries({"_payload": json_values}),
                max_size=4,
            ),
        },
    )
)
def test_shapes_of_json_are_an_event_or_a_row_error(obj: dict[str, Any]) -> None:
    try:
        text = json.dumps(obj)
    except (ValueError, TypeError):  # NaN and friends: not JSON a store holds
        return
    try:
        event = load_event(text)
    except RowError:
        return
    assert isinstance(event.event_id, int) and event.event_id >= 1
    assert math.isfinite(event.timestamp)
    assert isinstance(event.attributes, dict)


@fuzz
@given(
    st.lists(
        st.tuples(st.integers(min_value=-2, max_value=8), st.text(max_size=80) | events),
        max_size=8,
    )
)
def test_a_runs_rows_are_a_history_or_a_store_error_naming_it(rows: list[Any]) -> None:
    stored = [
        (
            eid,
            dump_event(data)
            if isinstance(data, Event) and _valid_text(data.attributes)
            else data
            if isinstance(data, str)
            else "{}",
        )
        for eid, data in rows
    ]
    try:
        history = load_history("wf-fuzz", "run-fuzz", stored)
    except StoreError as err:
        assert (err.workflow_id, err.run_id) == ("wf-fuzz", "run-fuzz")
        assert "wf-fuzz" in str(err) and "run-fuzz" in str(err)
        return
    assert [e.event_id for e in history] == list(range(1, len(history) + 1))
    assert history[0].event_type is EventType.WORKFLOW_EXECUTION_STARTED

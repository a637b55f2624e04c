"""Fuzzing the history translation both ways.

Out: any history the engine writes (simulated workloads: activities that fail, time out and
heartbeat, timers, signals, updates, children, continue-as-new, cancellation) translates to
Temporal's format and reads back equal, as a proto and as JSON. In: whatever Temporal JSON a
stranger hands ``from_temporal`` (garbage, or a real history with events dropped, retyped or
rewired) gives events or ``ValueError``, the documented error, never anything else.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.history import from_temporal, to_temporal, to_temporal_json
from fastcore.history import Event
from tests.simulation.runner import run_seed

from ...fuzzing import fuzz

_SEEDS = st.integers(min_value=1, max_value=10**6)
_HISTORIES: dict[int, list[list[Event]]] = {}


@pytest.fixture(scope="module", autouse=True)
def _forget_histories() -> Iterator[None]:
    """The cache lives as long as this module's tests: no Event outlives them (a later test
    counts the Event objects in the process)."""
    yield
    _HISTORIES.clear()


def _histories(seed: int) -> list[list[Event]]:
    """Every run's history of a simulated seed (cached: the in-tests reuse them)."""
    if seed not in _HISTORIES:
        _HISTORIES[seed] = list(run_seed(seed, store="memory").histories.values())
    return _HISTORIES[seed]


@fuzz
@given(_SEEDS)
def test_every_history_round_trips_as_proto_and_as_json(seed: int) -> None:
    for events in _histories(seed):
        assert from_temporal(to_temporal(events)) == events
        assert from_temporal(json.loads(to_temporal_json(events))) == events


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


def _read(doc: Any) -> None:
    try:
        events = from_temporal(doc)
    except ValueError:
        return  # the documented error: a history fastcore cannot read
    assert all(isinstance(e, Event) for e in events)


@fuzz
@given(json_values | st.dictionaries(st.just("events"), st.lists(json_values, max_size=5)))
def test_garbage_is_a_value_error(doc: Any) -> None:
    _read(doc if isinstance(doc, dict) else json.dumps(doc))


_MUTATIONS = ["drop", "retype", "rewire", "replace", "duplicate", "swap", "truncate_text"]
_replacements = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.just([])
_fraction = st.floats(min_value=0, max_value=1, exclude_max=True)
_mutation = st.tuples(st.sampled_from(_MUTATIONS), _fraction, _fraction, _replacements)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _mutate(doc: dict[str, Any], kind: str, at: float, where: float, value: Any) -> None:
    items = doc["events"]
    if not items:
        return
    i = int(at * len(items))
    if kind == "drop":
        del items[i]
    elif kind == "duplicate":
        items.insert(i, copy.deepcopy(items[i]))
    elif kind == "swap":
        j = int(where * len(items))
        items[i], items[j] = items[j], items[i]
    elif kind == "retype":
        types = [e.get("eventType") for e in items] + ["EVENT_TYPE_UNSPECIFIED", "NOPE", 7]
        items[i]["eventType"] = types[int(where * len(types))]
    else:
        paths = [p for p in _paths(items[i]) if p]
        if not paths:
            return
        path = paths[int(where * len(paths))]
        if kind == "rewire":
            value = str(int(at * 40) - 3)  # an event id that may or may not exist
        elif kind == "truncate_text":
            value = str(value)[:3]
        _set(items[i], path, value)


@fuzz
@given(
    st.integers(min_value=1, max_value=40), _fraction, st.lists(_mutation, min_size=1, max_size=3)
)
def test_a_damaged_temporal_history_reads_or_is_a_value_error(
    seed: int, pick: float, mutations: list[tuple[str, float, float, Any]]
) -> None:
    histories = _histories(seed)
    events = histories[int(pick * len(histories))]
    doc = json.loads(to_temporal_json(events))
    for kind, at, where, value in mutations:
        _mutate(doc, kind, at, where, value)
    _read(doc)

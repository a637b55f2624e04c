"""Payloads cross the gRPC bridge as they are: the server decodes nothing, the engine turns
a signal's, update's or query's arguments into values once, at the handler's call, and a
codec's payloads travel encoded end to end."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import fastcore.converter
from bridge import BridgeClient, BridgeServer
from fastcore import Engine, EventType, Payload, workflow
from fastcore.converter import DefaultPayloadConverter, PayloadCodec


@dataclass
class Point:
    x: int
    y: int


class CountingPayloadConverter(DefaultPayloadConverter):
    """The default converter, counting what it converts (the engine's and the client's)."""

    decoded: list[str] = []
    encoded: list[str] = []

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        self.encoded.extend(type(v).__name__ for v in values)
        return super().to_payloads(values)

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[Any] | None = None
    ) -> list[Any]:
        self.decoded.extend(getattr(h, "__name__", str(h)) for h in (type_hints or [None]))
        return super().from_payloads(payloads, type_hints)


@workflow.defn
class Plotter:
    def __init__(self) -> None:
        self.points: list[Point] = []
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return len(self.points)

    @workflow.signal
    def plot(self, p: Point) -> None:
        assert isinstance(p, Point)
        self.points.append(p)

    @workflow.update
    def plot_checked(self, p: Point) -> int:
        assert isinstance(p, Point)
        self.points.append(p)
        return len(self.points)

    @plot_checked.validator
    def check(self, p: Point) -> None:
        assert isinstance(p, Point)

    @workflow.query
    def near(self, p: Point) -> list[Point]:
        return [q for q in self.points if abs(q.x - p.x) + abs(q.y - p.y) <= 1]

    @workflow.signal
    def finish(self) -> None:
        self.done = True


async def test_arguments_are_decoded_once_at_the_engine(unique_id: str) -> None:
    counting = dataclasses.replace(
        fastcore.converter.default(), payload_converter_class=CountingPayloadConverter
    )
    decoded = CountingPayloadConverter.decoded
    async with (
        Engine(workflows=[Plotter], data_converter=counting) as engine,
        BridgeServer(engine) as server,
    ):
        client = await BridgeClient.connect(server.address, data_converter=counting)
        try:
            handle = await client.start_workflow(Plotter.run, id=unique_id)
            decoded.clear()
            await handle.signal(Plotter.plot, Point(1, 2))
            assert decoded == ["Point"]  # the handler's decode; the server decoded nothing
            decoded.clear()
            assert await handle.execute_update(Plotter.plot_checked, Point(2, 2)) == 2
            # the validator and the handler share one decode; the client decodes the result
            assert decoded == ["Point", "int"]
            decoded.clear()
            assert await handle.query(Plotter.near, Point(1, 1)) == [Point(1, 2)]
            # the query's argument once, and its answer once, by the client (the server
            # passes the engine's payload on without decoding it)
            assert decoded == ["Point", "list"]
        finally:
            await client.close()


class XorCodec(PayloadCodec):
    """A codec (a toy cipher: it is the shape that matters) marking what it encoded."""

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [
            Payload(
                metadata={"encoding": b"binary/xor"},
                data=bytes(b ^ 0x5A for b in p.SerializeToString()),
            )
            for p in payloads
        ]

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [
            Payload.FromString(bytes(b ^ 0x5A for b in p.data))
            if p.metadata.get("encoding") == b"binary/xor"
            else p
            for p in payloads
        ]


async def test_a_codec_travels_encoded_through_the_bridge(unique_id: str) -> None:
    xor = dataclasses.replace(fastcore.converter.default(), payload_codec=XorCodec())
    async with (
        Engine(workflows=[Plotter], data_converter=xor) as engine,
        BridgeServer(engine) as server,
    ):
        client = await BridgeClient.connect(server.address, data_converter=xor)
        try:
            handle = await client.start_workflow(Plotter.run, id=unique_id)
            await handle.signal(Plotter.plot, Point(7, 7))
            assert await handle.execute_update(Plotter.plot_checked, Point(7, 8)) == 2
            assert await handle.query(Plotter.near, Point(7, 7)) == [Point(7, 7), Point(7, 8)]
            await handle.signal(Plotter.finish)
            assert await handle.result() == 2
            events = await engine.get_workflow_handle(unique_id).fetch_history()
            signal = next(
                e for e in events if e.event_type is EventType.WORKFLOW_EXECUTION_SIGNALED
            )
            (p,) = signal.attributes["input"]
            assert p.metadata == {"encoding": b"binary/xor"}
            assert b"7" not in p.data  # encoded as the client sent it, never re-encoded
        finally:
            await client.close()

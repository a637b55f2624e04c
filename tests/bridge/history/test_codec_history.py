"""A codec's payloads in Temporal's history format: translated byte for byte, metadata kept,
and a temporalio data converter with the same codec (its protobuf ``Payload`` reading what
fastcore's ``Payload.SerializeToString`` wrote) decodes them; Temporal's Replayer replays the
history with that converter."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta

import temporalio.converter
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload as TPayload
from temporalio.worker import Replayer as TemporalReplayer
from temporalio.worker import UnsandboxedWorkflowRunner

import fastcore.converter
from bridge import as_temporal_workflow
from bridge.history import from_temporal, to_temporal
from fastcore import Engine, Payload, activity, workflow

KEY = AESGCM(b"test-key-test-key-test-key-test!")


def _encrypt(data: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + KEY.encrypt(nonce, data, None)


def _decrypt(data: bytes) -> bytes:
    return KEY.decrypt(data[:12], data[12:], None)


class FastcoreCodec(fastcore.converter.PayloadCodec):
    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [
            Payload(
                metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"k1"},
                data=_encrypt(p.SerializeToString()),
            )
            for p in payloads
        ]

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [
            Payload.FromString(_decrypt(p.data))
            if p.metadata.get("encoding") == b"binary/encrypted"
            else p
            for p in payloads
        ]


class TemporalCodec(temporalio.converter.PayloadCodec):
    """The same codec, written against temporalio (protobuf payloads)."""

    async def encode(self, payloads: Sequence[TPayload]) -> list[TPayload]:
        return [
            TPayload(
                metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"k1"},
                data=_encrypt(p.SerializeToString()),
            )
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[TPayload]) -> list[TPayload]:
        return [
            TPayload.FromString(_decrypt(p.data))
            if p.metadata.get("encoding") == b"binary/encrypted"
            else p
            for p in payloads
        ]


@activity.defn
async def greet(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn
class Greeting:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=5)
        )


def test_payload_wire_format_is_protobufs() -> None:
    ours = Payload({"encoding": b"json/plain", "x": b"\x00\xff"}, b'{"a": [1, 2]}')
    theirs = TPayload.FromString(ours.SerializeToString())
    assert dict(theirs.metadata) == ours.metadata and theirs.data == ours.data
    back = Payload.FromString(theirs.SerializeToString())
    assert back == ours
    assert Payload.FromString(TPayload().SerializeToString()) == Payload({}, b"")


async def test_codec_payloads_survive_translation_and_replay_in_temporal() -> None:
    ours = dataclasses.replace(fastcore.converter.default(), payload_codec=FastcoreCodec())
    async with Engine(workflows=[Greeting], activities=[greet], data_converter=ours) as engine:
        handle = await engine.start_workflow(Greeting.run, "secret-name", id=uuid.uuid4().hex)
        assert await handle.result() == "Hello, secret-name!"
        events = await handle.fetch_history()
    history = to_temporal(events)
    started = history.events[0].workflow_execution_started_event_attributes
    (arg,) = started.input.payloads
    recorded = events[0].attributes["input"][0]
    assert arg.metadata["encoding"] == b"binary/encrypted"
    assert arg.data == recorded.data  # byte for byte
    assert b"secret-name" not in history.to_json().encode()
    theirs = dataclasses.replace(
        temporalio.converter.DataConverter.default, payload_codec=TemporalCodec()
    )
    assert await theirs.decode([arg]) == ["secret-name"]
    replayer = TemporalReplayer(
        workflows=[as_temporal_workflow(Greeting)],
        data_converter=theirs,
        workflow_runner=UnsandboxedWorkflowRunner(),  # (the sandbox cannot re-import cryptography)
    )
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None
    # and back: fastcore reads Temporal's form of it, codec payloads unchanged
    again = from_temporal(history)
    assert again[0].attributes["input"][0].data == recorded.data

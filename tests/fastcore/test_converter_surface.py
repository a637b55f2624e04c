"""fastcore.converter as temporalio.converter: custom payload converters, codecs (the stored
history holds encoded payloads), failure converters, the pydantic converter, RawValue, and
the default converter's type hints."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum, IntEnum, StrEnum
from pathlib import Path
from typing import Any

import pydantic
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import fastcore.converter
from fastcore import Engine, Payload, activity, workflow
from fastcore.common import RawValue
from fastcore.contrib.pydantic import pydantic_data_converter
from fastcore.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    PayloadCodec,
)
from fastcore.errors import ActivityError, ApplicationError, InvalidArgumentError

# ---------------------------------------------------------------- a custom payload converter


class Greeting:
    """A class JSON knows nothing of: only the custom converter below writes it."""

    def __init__(self, text: str) -> None:
        self.text = text


class GreetingPayloadConverterPart(EncodingPayloadConverter):
    @property
    def encoding(self) -> str:
        return "text/greeting"

    def to_payload(self, value: Any) -> Payload | None:
        if isinstance(value, Greeting):
            return Payload(metadata={"encoding": self.encoding.encode()}, data=value.text.encode())
        return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        assert not type_hint or type_hint is Greeting
        return Greeting(payload.data.decode())


class GreetingPayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(
            GreetingPayloadConverterPart(),
            *DefaultPayloadConverter.default_encoding_payload_converters,
        )


greeting_converter = dataclasses.replace(
    fastcore.converter.default(), payload_converter_class=GreetingPayloadConverter
)


@activity.defn
async def shout(greeting: Greeting) -> Greeting:
    return Greeting(greeting.text.upper() + "!")


@workflow.defn
class Greeter:
    @workflow.run
    async def run(self, greeting: Greeting) -> Greeting:
        return await workflow.execute_activity(
            shout, greeting, start_to_close_timeout=timedelta(seconds=5)
        )


async def test_a_custom_payload_converter(store_url: str) -> None:
    async with Engine(
        store_url, workflows=[Greeter], activities=[shout], data_converter=greeting_converter
    ) as engine:
        handle = await engine.start_workflow(Greeter.run, Greeting("hello"), id=uuid.uuid4().hex)
        result = await handle.result()
        assert isinstance(result, Greeting) and result.text == "HELLO!"
        started = (await handle.fetch_history())[0]
        (arg,) = started.attributes["input"]
        assert arg.metadata["encoding"] == b"text/greeting" and arg.data == b"hello"
        # JSON still works beside it
        assert engine.converter.decode_one(engine.converter.encode_one({"a": 1})) == {"a": 1}


# ---------------------------------------------------------------- an encryption codec

KEY = b"test-key-test-key-test-key-test!"


class EncryptionCodec(PayloadCodec):
    def __init__(self, key_id: str = "test-key-id", key: bytes = KEY) -> None:
        super().__init__()
        self.key_id = key_id
        self.encryptor = AESGCM(key)

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [
            Payload(
                metadata={
                    "encoding": b"binary/encrypted",
                    "encryption-key-id": self.key_id.encode(),
                },
                data=self.encrypt(p.SerializeToString()),
            )
            for p in payloads
        ]

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        out: list[Payload] = []
        for p in payloads:
            if p.metadata.get("encoding", b"").decode() != "binary/encrypted":
                out.append(p)
                continue
            key_id = p.metadata.get("encryption-key-id", b"").decode()
            if key_id != self.key_id:
                raise ValueError(f"Unrecognized key ID {key_id}")
            out.append(Payload.FromString(self.decrypt(p.data)))
        return out

    def encrypt(self, data: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self.encryptor.encrypt(nonce, data, None)

    def decrypt(self, data: bytes) -> bytes:
        return self.encryptor.decrypt(data[:12], data[12:], None)


encrypted = dataclasses.replace(fastcore.converter.default(), payload_codec=EncryptionCodec())


@activity.defn
async def compose(name: str) -> str:
    if name == "Mallory":
        raise ApplicationError(
            "secret-failure-detail", {"card": "4111-secret"}, type="Denied", non_retryable=True
        )
    return f"Hello, {name}!"


@workflow.defn
class Secret:
    @workflow.run
    async def run(self, name: str) -> str:
        try:
            return await workflow.execute_activity(
                compose, name, start_to_close_timeout=timedelta(seconds=5)
            )
        except ActivityError as err:
            assert isinstance(err.cause, ApplicationError)
            return f"denied: {err.cause.details[0]['card'][-6:]}"


async def test_an_encryption_codec_encodes_every_stored_payload(tmp_path: Path) -> None:
    db = tmp_path / "secret.db"
    async with Engine(
        f"sqlite:///{db}", workflows=[Secret], activities=[compose], data_converter=encrypted
    ) as engine:
        handle = await engine.start_workflow(Secret.run, "Temporal-secret-name", id="enc-1")
        assert await handle.result() == "Hello, Temporal-secret-name!"
        assert await engine.execute_workflow(Secret.run, "Mallory", id="enc-2") == "denied: secret"
        for ev in await handle.fetch_history():
            for value in ev.attributes.values():
                for p in value if isinstance(value, list) else [value]:
                    if isinstance(p, Payload):
                        assert p.metadata["encoding"] == b"binary/encrypted"
    # nothing readable reached the disk
    raw = b"".join(
        str(row).encode() for row in sqlite3.connect(db).execute("SELECT * FROM events").fetchall()
    )
    for secret in (b"Temporal-secret-name", b"Hello, Temporal", b"4111-secret"):
        assert secret not in raw
    assert b"binary/encrypted" in raw
    # and an engine with the codec reads it back after a restart
    async with Engine(
        f"sqlite:///{db}", workflows=[Secret], activities=[compose], data_converter=encrypted
    ) as engine:
        assert await engine.get_workflow_handle("enc-1").result() == "Hello, Temporal-secret-name!"


class SlowCodec(PayloadCodec):
    """A codec that awaits real I/O, which fastcore cannot run inside workflow code."""

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        import asyncio

        await asyncio.sleep(0.001)
        return list(payloads)

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return list(payloads)


async def test_a_codec_that_awaits_io_is_a_clear_error() -> None:
    converter = DataConverter(payload_codec=SlowCodec())
    with pytest.raises(InvalidArgumentError, match="awaited I/O"):
        converter.encode_one("x")


async def test_encoded_failure_attributes(store_url: str) -> None:
    converter = DataConverter(
        payload_codec=EncryptionCodec(),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
    async with Engine(
        store_url, workflows=[Secret], activities=[compose], data_converter=converter
    ) as engine:
        handle = await engine.start_workflow(Secret.run, "Mallory", id=uuid.uuid4().hex)
        assert await handle.result() == "denied: secret"
        failed = next(
            ev
            for ev in await handle.fetch_history()
            if ev.event_type.name == "ACTIVITY_TASK_FAILED"
        )
        failure = failed.attributes["failure"]
        assert failure["message"] == "Encoded failure" and failure["stack_trace"] == ""
        assert failure["encoded_attributes"].metadata["encoding"] == b"binary/encrypted"
        err = converter.decode_failure(failure)
        assert isinstance(err, ApplicationError) and err.message == "secret-failure-detail"


# ---------------------------------------------------------------- the pydantic converter


class Line(pydantic.BaseModel):
    sku: str
    qty: int
    at: datetime
    ref: uuid.UUID


@activity.defn
async def double(lines: list[Line]) -> list[Line]:
    assert all(isinstance(line, Line) for line in lines)
    return [line.model_copy(update={"qty": line.qty * 2}) for line in lines]


@workflow.defn
class Orders:
    @workflow.run
    async def run(self, lines: list[Line]) -> list[Line]:
        return await workflow.execute_activity(
            double, lines, start_to_close_timeout=timedelta(seconds=5)
        )


async def test_the_pydantic_data_converter(store_url: str) -> None:
    lines = [Line(sku="a", qty=1, at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), ref=uuid.uuid4())]
    async with Engine(
        store_url, workflows=[Orders], activities=[double], data_converter=pydantic_data_converter
    ) as engine:
        out = await engine.execute_workflow(Orders.run, lines, id=uuid.uuid4().hex)
        assert out == [lines[0].model_copy(update={"qty": 2})]
        assert isinstance(out[0].ref, uuid.UUID) and out[0].at.tzinfo is not None


def test_importing_fastcore_does_not_import_pydantic() -> None:
    code = (
        "import sys, fastcore, fastcore.converter, fastcore.client; "
        "assert 'pydantic' not in sys.modules, 'pydantic imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- the default converter's hints


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Size(IntEnum):
    S = 1
    M = 2


class Mood(StrEnum):
    CALM = "calm"
    LOUD = "loud"


@dataclass
class Part:
    size: Size
    color: Color
    made: datetime
    ref: uuid.UUID
    mood: Mood | None = None


@dataclass
class Assembly:
    parts: list[Part]
    by_size: dict[Size, Part]
    spare: Part | None
    tags: tuple[Mood, ...]
    either: int | str
    group: set[Size]


@activity.defn
async def inspect_assembly(a: Assembly) -> Assembly:
    assert a.parts[0].size is Size.M and a.parts[0].color is Color.BLUE
    assert a.parts[0].mood is Mood.LOUD and a.spare is None
    assert isinstance(a.parts[0].made, datetime) and isinstance(a.parts[0].ref, uuid.UUID)
    assert list(a.by_size) == [Size.S] and a.tags == (Mood.CALM,) and a.group == {Size.S}
    return a


@workflow.defn
class Assemble:
    @workflow.run
    async def run(self, a: Assembly) -> Assembly:
        return await workflow.execute_activity(
            inspect_assembly, a, start_to_close_timeout=timedelta(seconds=5)
        )


async def test_type_hints_rebuild_enums_datetimes_uuids_and_nesting(store_url: str) -> None:
    part = Part(
        Size.M, Color.BLUE, datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), uuid.uuid4(), Mood.LOUD
    )
    small = Part(Size.S, Color.RED, datetime(2024, 1, 1, tzinfo=UTC), uuid.uuid4())
    a = Assembly([part], {Size.S: small}, None, (Mood.CALM,), "x", {Size.S})
    async with Engine(store_url, workflows=[Assemble], activities=[inspect_assembly]) as engine:
        out = await engine.execute_workflow(Assemble.run, a, id=uuid.uuid4().hex)
        assert out == a
        assert out.parts[0].size is Size.M and out.by_size[Size.S].color is Color.RED


def test_value_to_type_errors_name_the_field() -> None:
    c = fastcore.converter.default()
    payload = c.encode_one(
        {"size": 7, "color": "red", "made": "2024-01-01", "ref": str(uuid.uuid4())}
    )
    with pytest.raises(InvalidArgumentError, match="size"):
        c.decode_one(payload, Part)


# ---------------------------------------------------------------- RawValue


@activity.defn
async def passthrough(raw: RawValue) -> RawValue:
    assert isinstance(raw, RawValue)
    return RawValue(Payload({"encoding": b"binary/plain"}, raw.payload.data + b"!"))


@workflow.defn
class Raw:
    @workflow.run
    async def run(self, data: bytes) -> bytes:
        raw = await workflow.execute_activity(
            passthrough,
            RawValue(Payload({"encoding": b"binary/plain"}, data)),
            start_to_close_timeout=timedelta(seconds=5),
        )
        assert isinstance(raw, RawValue)
        return raw.payload.data


async def test_raw_values_pass_through_unconverted(store_url: str) -> None:
    async with Engine(store_url, workflows=[Raw], activities=[passthrough]) as engine:
        assert await engine.execute_workflow(Raw.run, b"\x00\xff", id=uuid.uuid4().hex) == (
            b"\x00\xff!"
        )

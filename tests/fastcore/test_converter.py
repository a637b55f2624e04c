"""The data converter: JSON, dataclasses, pydantic models, errors for what JSON cannot hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pydantic
import pytest

from fastcore import Engine, activity, workflow
from fastcore._converter import default_converter
from fastcore.errors import InvalidArgumentError


class Item(pydantic.BaseModel):
    sku: str
    qty: int


@dataclass
class Box:
    items: list[Item]
    note: str = ""


@activity.defn
async def total(box: Box) -> Item:
    return Item(sku="sum", qty=sum(i.qty for i in box.items))


@workflow.defn
class Pack:
    @workflow.run
    async def run(self, items: list[Item]) -> Item:
        assert all(isinstance(i, Item) for i in items)
        return await workflow.execute_activity(
            total, Box(items=items, note="x"), start_to_close_timeout=timedelta(seconds=5)
        )


async def test_pydantic_and_dataclass_values_cross_every_boundary(store_url: str) -> None:
    async with Engine(store_url, workflows=[Pack], activities=[total]) as engine:
        out = await engine.execute_workflow(
            Pack.run, [Item(sku="a", qty=2), Item(sku="b", qty=3)], id=uuid.uuid4().hex
        )
        assert out == Item(sku="sum", qty=5)


def test_round_trips_and_errors() -> None:
    c = default_converter
    for v in (None, 1, -5, 2**70 - 1, 1.5, "x", "é", True, [1, "a"], {"k": [None]}):
        assert c.decode_one(c.encode_one(v)) == v
    assert c.decode_one(c.encode_one((1, 2)), tuple[int, int]) == (1, 2)
    with pytest.raises(InvalidArgumentError, match="JSON"):
        c.encode_one(object())
    with pytest.raises(InvalidArgumentError):
        c.decode_one(c.encode_one("not a number"), Item)
    assert c.encode_one(7).data == b"7"

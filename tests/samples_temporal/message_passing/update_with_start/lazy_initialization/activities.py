"""message_passing/update_with_start/lazy_initialization/activities.py: a price lookup.

Source: temporalio/samples-python
message_passing/update_with_start/lazy_initialization/activities.py at
73af0dd7edc7140466fec53558e76208ca9b5447 (re-written, not copied).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastcore import activity


@dataclass
class ShoppingCartItem:
    sku: str
    quantity: int


@activity.defn
async def get_price(item: ShoppingCartItem) -> int | None:
    await asyncio.sleep(0.1)
    price = None if item.sku == "sku-456" else 599
    if price is None:
        return None
    return price * item.quantity

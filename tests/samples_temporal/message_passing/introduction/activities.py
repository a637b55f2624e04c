"""message_passing/introduction/activities.py: a stand-in remote greeting service.

Source: temporalio/samples-python message_passing/introduction/activities.py at
5f5191562d9b539b6b9fe2cf7eb0704e594b9c6e (re-written, not copied).
"""

from __future__ import annotations

import asyncio

from fastcore import activity
from tests.samples_temporal.message_passing.introduction import Language


@activity.defn
async def call_greeting_service(to_language: Language) -> str | None:
    """A call to a remote greeting service that knows every language."""
    greetings = {
        Language.ARABIC: "مرحبا بالعالم",
        Language.CHINESE: "你好，世界",
        Language.ENGLISH: "Hello, world",
        Language.FRENCH: "Bonjour, monde",
        Language.HINDI: "नमस्ते दुनिया",
        Language.PORTUGUESE: "Olá mundo",
        Language.SPANISH: "Hola mundo",
    }
    await asyncio.sleep(0.2)  # the network call
    return greetings.get(to_language)

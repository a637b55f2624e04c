"""encryption/codec.py: an AES-GCM payload codec with a key id in the metadata.

Source: temporalio/samples-python encryption/codec.py at
2a2a9811a42bbf6d702ea35a7a1c24b45f96460c (re-written, not copied). ``Payload`` comes from
``fastcore`` where the sample imports ``temporalio.api.common.v1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fastcore import Payload
from fastcore.converter import PayloadCodec

default_key = b"test-key-test-key-test-key-test!"
default_key_id = "test-key-id"


class EncryptionCodec(PayloadCodec):
    def __init__(self, key_id: str = default_key_id, key: bytes = default_key) -> None:
        super().__init__()
        self.key_id = key_id
        # AES-GCM directly, to match the TypeScript and Go samples.
        self.encryptor = AESGCM(key)

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        # every payload, encrypted, tagged with the key's id
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
        ret: list[Payload] = []
        for p in payloads:
            # not ours: pass it through
            if p.metadata.get("encoding", b"").decode() != "binary/encrypted":
                ret.append(p)
                continue
            key_id = p.metadata.get("encryption-key-id", b"").decode()
            if key_id != self.key_id:
                raise ValueError(f"Unrecognized key ID {key_id}. Current key ID is {self.key_id}.")
            ret.append(Payload.FromString(self.decrypt(p.data)))
        return ret

    def encrypt(self, data: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self.encryptor.encrypt(nonce, data, None)

    def decrypt(self, data: bytes) -> bytes:
        return self.encryptor.decrypt(data[:12], data[12:], None)

"""Crypto-shredding: personal data is sealed with a key of its own, kept beside the store.

Intake seals each complainant's identity and words; workflow seals what officers write about a
case. The key never goes into an event. Deleting it leaves the sealed blobs in the event store
unreadable forever: that data is erased, history included.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12

ERASED = "data dihapus"
"""What a reader sees where sealed data was erased."""


@dataclass(frozen=True)
class SealingKey:
    """A data key and the reference it is filed under (bound into every ciphertext)."""

    ref: UUID
    key: bytes

    @classmethod
    def new(cls, ref: UUID | None = None) -> SealingKey:
        """A fresh random 256-bit key."""
        return cls(ref or uuid4(), AESGCM.generate_key(bit_length=256))

    def encrypt(self, data: bytes) -> bytes:
        """AES-GCM with a fresh nonce."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self.key).encrypt(nonce, data, self.ref.bytes)

    def decrypt(self, sealed: bytes) -> bytes:
        """What `encrypt` sealed with this key; ValueError for anything else."""
        try:
            return AESGCM(self.key).decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], self.ref.bytes
            )
        except InvalidTag as error:
            raise ValueError("sealed data does not match this key") from error

    def seal(self, payload: Any) -> str:
        """A JSON-able payload, encrypted, as text fit for an event field."""
        plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return base64.b64encode(self.encrypt(plain)).decode("ascii")

    def open(self, blob: str) -> Any:
        """The payload `seal` produced."""
        return json.loads(self.decrypt(base64.b64decode(blob)))

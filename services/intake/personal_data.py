"""Crypto-shredding: a complainant's identity and words are sealed with a key of their own.

The key lives in intake's `personal_keys` table, never in an event. Deleting it leaves the
sealed blobs in the event store unreadable forever: that person is erased, history included.
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


@dataclass(frozen=True)
class PersonalKey:
    """A data key and the pseudonymous reference it is filed under."""

    ref: UUID
    key: bytes

    @classmethod
    def new(cls) -> PersonalKey:
        """A fresh random 256-bit key."""
        return cls(uuid4(), AESGCM.generate_key(bit_length=256))

    def seal(self, payload: dict[str, Any]) -> str:
        """Encrypt a JSON-able payload; the ref is bound in as associated data."""
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        sealed = nonce + AESGCM(self.key).encrypt(nonce, plain, self.ref.bytes)
        return base64.b64encode(sealed).decode("ascii")

    def open(self, blob: str) -> dict[str, Any]:
        """Decrypt what `seal` produced with this key."""
        raw = base64.b64decode(blob)
        try:
            plain = AESGCM(self.key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self.ref.bytes)
        except InvalidTag as error:
            raise ValueError("sealed data does not match this key") from error
        payload: dict[str, Any] = json.loads(plain)
        return payload

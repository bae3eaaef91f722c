"""Tracking codes a person can read aloud and type: Crockford base32, a check character.

Format XXXX-XXXX: seven random characters (35 bits) and a Luhn mod 32 check character,
so a mistyped code is caught before any lookup. Uniqueness is enforced by the store.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
# Characters people confuse, read as Crockford base32 says.
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
_RANDOM_LENGTH = 7


def _check_character(payload: str) -> str:
    """Luhn mod N over the alphabet."""
    total, factor, base = 0, 2, len(ALPHABET)
    for char in reversed(payload):
        addend = factor * _VALUE[char]
        total += addend // base + addend % base
        factor = 1 if factor == 2 else 2
    return ALPHABET[(base - total % base) % base]


def _is_valid(chars: str) -> bool:
    total, factor, base = 0, 1, len(ALPHABET)
    for char in reversed(chars):
        addend = factor * _VALUE[char]
        total += addend // base + addend % base
        factor = 1 if factor == 2 else 2
    return total % base == 0


def new_code() -> str:
    """A fresh random code, formatted XXXX-XXXX."""
    bits = secrets.randbits(5 * _RANDOM_LENGTH)
    payload = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(_RANDOM_LENGTH))
    chars = payload + _check_character(payload)
    return f"{chars[:4]}-{chars[4:]}"


def normalize(raw: str) -> str | None:
    """The canonical form of a typed code, or None if it cannot be a valid code."""
    chars = "".join(raw.split()).replace("-", "").upper().translate(_CONFUSABLE)
    if len(chars) != _RANDOM_LENGTH + 1 or any(char not in _VALUE for char in chars):
        return None
    if not _is_valid(chars):
        return None
    return f"{chars[:4]}-{chars[4:]}"

"""Keyed hashes of identifiers: how intake finds a sender or a person without storing who.

HMAC-SHA256 under a secret (ADUAN_PSEUDONYM_SECRET, or one made once and kept in intake's
database). Without the secret a hash cannot be tested against a guessed phone number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import phonenumbers

from services.intake.draft import Contact
from shared import db, pii
from shared.settings import Settings


class Pseudonyms:
    """Turns identifiers into stable keyed hashes."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    async def load(cls, settings: Settings) -> Pseudonyms:
        """The configured secret, or the one kept in the database (made on first start)."""
        configured = settings.pseudonym_secret.get_secret_value()
        if configured:
            return cls(configured.encode())
        conn = await db.connect(settings)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS intake.pseudonym_secret "
                "(id integer PRIMARY KEY, secret bytea NOT NULL)"
            )
            await conn.execute(
                "INSERT INTO intake.pseudonym_secret VALUES (1, $1) ON CONFLICT DO NOTHING",
                secrets.token_bytes(32),
            )
            secret = await conn.fetchval("SELECT secret FROM intake.pseudonym_secret WHERE id = 1")
        finally:
            await conn.close()
        return cls(bytes(secret))

    def of(self, kind: str, value: str) -> str:
        """The hash of one identifier of a kind (phone, email, nik, or a channel's account)."""
        normalized = normalize(kind, value)
        digest = hmac.new(self._secret, f"{kind}:{normalized}".encode(), hashlib.sha256)
        return digest.hexdigest()

    def sender(self, channel: str, account: str) -> str:
        """The hash a conversation and a rate limit are kept under."""
        return self.of(f"account:{channel}", account)

    def of_name(self, name: str | None) -> list[str]:
        """The hashes of each word of a name: a search by some of its words finds it."""
        return sorted({self.of("name", word) for word in name_words(name or "")})

    def of_contact(self, contact: Contact | None) -> list[str]:
        """The hashes an erasure can find this contact by."""
        if contact is None:
            return []
        pairs = [("phone", contact.phone), ("email", contact.email), ("nik", contact.nik)]
        hashes = [self.of(kind, value) for kind, value in pairs if value]
        if contact.account and contact.account_channel:
            hashes.append(self.sender(contact.account_channel, contact.account))
        return hashes

    def of_text(self, *texts: str) -> list[str]:
        """The hashes of the identifiers typed into texts (NIK, phone, e-mail: shared/pii.py):
        an erasure by one of them finds the text too, whoever wrote it, anonymous or not."""
        return self.of_found([pair for text in texts for pair in pii.identifiers(text)])

    def of_found(self, identifiers: Iterable[tuple[str, str]]) -> list[str]:
        """The hashes of identifiers `pii.identifiers` found."""
        return sorted({self.of(kind, value) for kind, value in set(identifiers)})


def normalize(kind: str, value: str) -> str:
    """One spelling per identifier: E.164 phones, lower-case emails, bare digits."""
    value = value.strip()
    if kind == "phone":
        number = phone_number(value)
        if number is None:
            return value
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if kind == "email":
        return value.lower()
    # a NIK typed on a phone in full-width or Arabic-Indic digits is the same NIK
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in value)


@lru_cache(maxsize=4096)  # a register's row checks its phone, then hashes it: parsed once
def phone_number(value: str) -> phonenumbers.PhoneNumber | None:
    """A phone number as written in Indonesia (None if it cannot be one); never mutate it."""
    try:
        return phonenumbers.parse(value, "ID")
    except phonenumbers.NumberParseException:
        return None


_WORD = re.compile(r"[^\W\d_]{2,}")  # letters only; initials and titles' dots dropped


def name_words(name: str) -> list[str]:
    """The words a name is searched by: letters only, case-folded ("Siti  Aminah" = "siti
    aminah")."""
    return [word.casefold() for word in _WORD.findall(name)]

"""The receipt secret: with the tracking code, the complainant's key to their own case.

The tracking code alone opens the public status: it is printed, read aloud on the phone and
carried by a QR code, so it must be assumed known to others. The code together with its receipt
secret opens the complainant's own view (the office's messages and answer, confidential cases
too; their own replies; "Sudah selesai?"; the survey).

The secret is a keyed hash of the code under a key derived from the deployment's shared secret
(`shared.feed.service_credential`), so every service checks it without a lookup and nothing of
it is stored. It is shown once on the receipt page, printed on the officer's receipt and sent on
the complainant's channel; links carry it in the fragment (`#kunci=`), which never reaches a
server log or a Referer header. Requests present it in `SECRET_HEADER`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import quote

from shared.tracking_code import ALPHABET
from shared.tracking_code import normalize as normalize_code

SECRET_HEADER = "X-Aduan-Receipt-Secret"  # noqa: S105 (a header name)
FRAGMENT_KEY = "kunci"
_GROUPS, _GROUP_LENGTH = 3, 4  # XXXX-XXXX-XXXX: 60 bits of Crockford base32
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
_DOMAIN = b"aduan.receipt-secret.v1"


def receipt_key(credential: str) -> bytes:
    """The key receipt secrets are made under, derived from the deployment's shared secret."""
    return hmac.new(credential.encode(), _DOMAIN, hashlib.sha256).digest()


def secret_for(key: bytes, code: str) -> str:
    """The receipt secret of a tracking code (any spelling the code normalizes from)."""
    canonical = normalize_code(code) or code
    digest = hmac.new(key, canonical.encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:8], "big")
    chars = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(_GROUPS * _GROUP_LENGTH))
    return "-".join(chars[i : i + _GROUP_LENGTH] for i in range(0, len(chars), _GROUP_LENGTH))


def normalize_secret(raw: str) -> str:
    """A typed secret in its canonical spelling (spaces and dashes dropped, confusables read)."""
    chars = "".join(raw.split()).replace("-", "").upper().translate(_CONFUSABLE)
    return "-".join(chars[i : i + _GROUP_LENGTH] for i in range(0, len(chars), _GROUP_LENGTH))


_CODE_SHAPE = re.compile(r"(?<![0-9A-Za-z-])[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}(?![0-9A-Za-z])")
_SECRET_SHAPE = re.compile(
    r"(?<![0-9A-Za-z-])[0-9A-Za-z]{4}(?:[- ]?[0-9A-Za-z]{4}){2}(?![0-9A-Za-z])"
)
HIDDEN_SECRET = "[kunci tanda terima]"  # noqa: S105 (what stands in its place)


def without_secrets(key: bytes, text: str, codes: tuple[str, ...] = ()) -> str:
    """The text without the receipt secret of a tracking code in it (or of `codes`): a reply
    that quotes its receipt, a complainant who pastes it. Stored, it would let every officer
    who reads the text act as the complainant."""
    named = {normalize_code(found) for found in _CODE_SHAPE.findall(text)} | set(codes)
    secrets = {secret_for(key, code) for code in named if code}
    if not secrets:
        return text
    return _SECRET_SHAPE.sub(
        lambda found: HIDDEN_SECRET if normalize_secret(found[0]) in secrets else found[0], text
    )


def opens(key: bytes, code: str, presented: str | None) -> bool:
    """Whether a presented secret is the code's receipt secret (compared in constant time)."""
    if not presented or len(presented) > 64:
        return False
    expected = secret_for(key, code).encode()
    return hmac.compare_digest(normalize_secret(presented).encode(), expected)


def tracking_link(public_url: str, page_path: str, code: str, secret: str | None = None) -> str:
    """The public tracking page of a code; with the secret, the complainant's own view."""
    link = f"{public_url.rstrip('/')}{page_path}?kode={quote(code)}"
    return f"{link}#{FRAGMENT_KEY}={quote(secret)}" if secret else link

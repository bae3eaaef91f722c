"""Personal data typed into free text: found, and masked where the reader may not see it.

The contract every surface uses: `find(text)` lists what was found, `mask(text)` replaces it
(a NIK keeps its last four digits; `[telepon]`, `[email]`, `[nama]`). This first version knows
e-mail addresses, Indonesian phone numbers and 16-digit NIK-like numbers by pattern only; the
full detector replaces it behind the same two functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERNS = {
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "nik": re.compile(r"(?<!\d)\d{16}(?!\d)"),
    "phone": re.compile(r"(?<![\w+])(?:\+62|62|0)8\d{1,3}[\s.-]?\d{3,4}[\s.-]?\d{3,5}(?!\d)"),
}


@dataclass(frozen=True)
class Found:
    """One piece of personal data in a text: its kind, where it stands, what it says."""

    kind: str
    start: int
    end: int
    value: str


def find(text: str) -> list[Found]:
    """The personal data in a text, in order, without overlaps."""
    found = sorted(
        (
            Found(kind, m.start(), m.end(), m.group())
            for kind, p in _PATTERNS.items()
            for m in p.finditer(text)
        ),
        key=lambda item: (item.start, -item.end),
    )
    kept: list[Found] = []
    for item in found:
        if not kept or item.start >= kept[-1].end:
            kept.append(item)
    return kept


def placeholder(item: Found) -> str:
    """What a masked item reads as."""
    if item.kind == "nik":
        return f"[NIK ****{item.value[-4:]}]"
    return {"phone": "[telepon]", "email": "[email]"}.get(item.kind, "[nama]")


def mask(text: str) -> str:
    """The text with every piece of personal data replaced by its placeholder."""
    parts, at = [], 0
    for item in find(text):
        parts += [text[at : item.start], placeholder(item)]
        at = item.end
    return "".join(parts) + text[at:]

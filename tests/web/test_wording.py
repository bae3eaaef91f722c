"""The office's words, one each: the number a complainant is given is the *nomor tiket* (the
brief's glossary, and what every receipt message says). The pages called it *kode pelacakan*,
so a citizen told "nomor tiket" by WhatsApp looked for a field of that name in vain."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OTHER_NAMES = re.compile(
    r"kode pelacakan|kode lacak|nomor pelacakan|\bkode (ini|anda)\b|\bkodenya\b"
    r"|\bkode diperlukan|salin kode|setiap kode\b|dengan kode (dan|anda)\b",
    re.IGNORECASE,
)


def test_the_complainants_number_has_one_name() -> None:
    places = [*(ROOT / "web").rglob("*.html"), *(ROOT / "web").rglob("*.js")]
    places += [*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]
    found = [
        f"{place.relative_to(ROOT)}:{number}: {line.strip()}"
        for place in places
        for number, line in enumerate(place.read_text(encoding="utf-8").splitlines(), 1)
        if OTHER_NAMES.search(line)
    ]
    assert len(places) > 50  # the places were found
    assert found == []

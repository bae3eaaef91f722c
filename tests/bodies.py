"""Officers' command bodies as the tests send them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.settings import Settings

OFFICE = ZoneInfo(Settings().timezone)  # the office's calendar, as the services read it


def as_sent(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A command's body as sent: a BAP the test leaves undated is dated the day it is sent
    (never before the case's receipt, never after today), in the office's calendar."""
    if path == "bap" and "date" not in body:
        return {"date": datetime.now(OFFICE).date().isoformat(), **body}
    return body

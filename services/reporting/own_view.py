"""The complainant's own view of their case: its public history and the office's messages.

Served with public tracking (`/reporting/v1/track/{code}`) when the request presents the code's
receipt secret; the access table's complainant row (shared/access.py) says what it shows.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from services.reporting import queries
from shared.db import Connection as Conn
from shared.vocabulary import PUBLIC_HISTORY, Status

MESSAGE_EVENT = "InformationRequested"


class HistoryItem(BaseModel):
    """One step of the case as its complainant reads it: when (WIB), what, at which step."""

    at: datetime
    event: str
    label: str
    step: str | None = None
    step_label: str | None = None
    message: str | None = None  # the office's message to them (what it asks for)


async def history_rows(conn: Conn, *, case_id: UUID) -> list[asyncpg.Record]:
    """A case's public history, oldest first."""
    return await conn.fetch(
        "SELECT at, event, step, message FROM case_history WHERE case_id = $1 "
        "ORDER BY at, source, version",
        case_id,
    )


def history_of(
    case: asyncpg.Record, rows: list[asyncpg.Record], tz: ZoneInfo
) -> tuple[list[HistoryItem], str | None]:
    """The history items, and what the office asks for now (while the case waits for it)."""
    items = [
        HistoryItem(
            at=row["at"].astimezone(tz),
            event=row["event"],
            label=PUBLIC_HISTORY.get(row["event"], row["event"]),
            step=row["step"],
            step_label=_step_label(case, row["step"]),
            message=row["message"],
        )
        for row in rows
    ]
    asked = [item for item in items if item.event == MESSAGE_EVENT]
    waiting = case["status"] == Status.WAITING_INFO.value
    request = (asked[-1].message or "") if waiting and asked else None
    return items, request


def _step_label(case: asyncpg.Record, step: str | None) -> str | None:
    try:
        return queries.step_label(case["kind"], case["sop_version"], step)
    except (KeyError, ValueError):
        return None

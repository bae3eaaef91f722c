"""What officers and analysts see: worklists, and any rekap table as CSV or XLSX (the case
search and its files: case_search.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from services.reporting import queries
from services.reporting.api import (
    CurrentSettings,
    Pool,
    now,
)
from shared.access import Facet, privacy_of, step_of, visible
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.db import Connection, read
from shared.problems import problems
from shared.sop import OFFICE_ROLES, Role
from shared.vocabulary import STATUS_LABELS, Group, Status, is_in
from shared.working_time import WorkingCalendar

router = APIRouter(prefix="/v1", tags=["officers"])

STAFF = OFFICE_ROLES | {Role.ANALIS}
PAGE = 1000  # the most cases a search answers at once; an export reads up to EXPORT
EXPORT = 100_000
Format = Annotated[str, Path(pattern="^(csv|xlsx)$", description="csv atau xlsx")]
_STORED = ("tracking_code", "kind", "channel", "category", "received_at", "current_step")


class WorkItem(BaseModel):
    """A case waiting at one of this role's steps."""

    case_id: str
    tracking_code: str
    kind: str
    channel: str
    category: str | None
    received_at: datetime
    current_step: str | None
    current_step_label: str | None
    status: str
    status_label: str
    step_due_at: datetime | None
    deadline_at: datetime | None
    working_minutes_left: float | None
    overdue: bool
    waiting: bool


@router.get("/worklist", responses=problems(401, 403, 422, 503))
async def worklist(
    pool: Pool,
    settings: CurrentSettings,
    officer: CurrentOfficer,
    role: Role,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[WorkItem]:
    """Open cases at this role's steps: overdue first, then the least working time left."""
    if role not in officer.roles:
        raise Forbidden("Token ini tidak memegang peran tersebut.")

    async def work(conn: Connection) -> tuple[WorkingCalendar, list[Any]]:
        calendar = await queries.calendar(
            conn, agency=settings.agency, base=settings.working_calendar()
        )
        return calendar, await queries.worklist(
            conn, agency=settings.agency, role=role, limit=limit
        )

    calendar, records = await read(pool, work)
    moment = now()
    items = []
    for record in records:
        if Facet.STATUS not in facets_of(record, officer):
            continue  # the policy is read here too, should a step's actors ever differ
        waiting = is_in(record["status"], Group.WAITING)
        due = record["step_due_at"]
        left = None if due is None else calendar.working_minutes_between(moment, due)
        items.append(
            WorkItem(
                **{key: record[key] for key in _STORED},
                status=record["status"],
                step_due_at=due,
                deadline_at=record["deadline_at"],
                case_id=str(record["case_id"]),
                current_step_label=queries.step_label(
                    record["kind"], record["sop_version"], record["current_step"]
                ),
                status_label=STATUS_LABELS[Status(record["status"])],
                working_minutes_left=None if left is None else round(left, 1),
                overdue=bool(due and moment >= due) and not waiting,
                waiting=waiting,
            )
        )
    return sorted(items, key=lambda item: (item.waiting, item.working_minutes_left or 0.0))


def facets_of(record: Any, officer: Officer) -> frozenset[Facet]:
    """What this officer may see of a case row."""
    privacy = privacy_of(anonymous=record["anonymous"], confidential=record["confidential"])
    step = step_of(record["kind"], record["sop_version"], record["current_step"])
    return visible(officer.roles, privacy, step)


def _file(
    content: bytes, media_type: str, filename: str, headers: dict[str, str] | None = None
) -> Response:
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, media_type=media_type, headers=disposition | (headers or {}))

"""Officers' lists of work: live cases at their role's steps, and the imported backlog.

The worklist holds live work only: cases past their case deadline (14 working days for a
complaint) first, then overdue steps, then the least working time left; cases waiting for
the complainant last. Cases still open in the imported register are history, not live work:
they are on the role's backlog list, oldest first, to be worked through or closed in bulk
(workflow's `POST /workflow/v1/backlog/close`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from services.reporting import queries
from services.reporting.api import now
from services.reporting.officer_api import facets_of
from services.reporting.tenancy import OfficerScope, Scope, acting_in, agencies, read_as
from shared.access import Facet
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.db import Connection
from shared.problems import problems
from shared.settings import Settings
from shared.sop import PROVINCE, PROVINCE_ROLES, Role
from shared.vocabulary import STATUS_LABELS, Group, Status, is_in
from shared.working_time import WorkingCalendar

router = APIRouter(prefix="/v1", tags=["officers"])

_STORED = ("tracking_code", "kind", "channel", "category", "received_at", "current_step")


class WorkItem(BaseModel):
    """A case waiting at one of this role's steps.

    `late`: open past its case deadline; `overdue`: its current step past its time standard.
    """

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
    late: bool
    waiting: bool
    imported: bool
    replied_at: datetime | None = None  # the complainant's last reply on their tracking page


def _item(record: Any, calendar: WorkingCalendar, moment: datetime) -> WorkItem:
    waiting = is_in(record["status"], Group.WAITING)
    due, deadline = record["step_due_at"], record["deadline_at"]
    left = None if due is None else calendar.working_minutes_between(moment, due)
    return WorkItem(
        **{key: record[key] for key in _STORED},
        status=record["status"],
        step_due_at=due,
        deadline_at=deadline,
        case_id=str(record["case_id"]),
        current_step_label=queries.step_label(
            record["kind"], record["sop_version"], record["current_step"]
        ),
        status_label=STATUS_LABELS[Status(record["status"])],
        working_minutes_left=None if left is None else round(left, 1),
        overdue=bool(due and moment >= due) and not waiting,
        late=bool(deadline and moment >= deadline) and not waiting,
        waiting=waiting,
        imported=record["imported"],
        replied_at=record["replied_at"],
    )


async def _list(
    request: Request, officer: Officer, scope: Scope, role: Role, *, imported: bool, limit: int
) -> list[WorkItem]:
    if role in PROVINCE_ROLES:  # the coordinator's list: the province's queue
        if role not in officer.roles_in(PROVINCE):
            raise Forbidden("Token ini tidak memegang peran tersebut.")
        acting = Scope((PROVINCE,), province=True)
    else:
        acting = acting_in(officer, scope, role)  # the agencies where the officer holds the role
    settings: Settings = request.app.state.settings
    known = await agencies(request)

    def base(agency: str) -> WorkingCalendar:
        if agency == settings.agency or agency not in known:
            return settings.working_calendar()
        return known[agency].calendar(settings.timezone)

    async def work(conn: Connection) -> tuple[dict[str, WorkingCalendar], list[Any]]:
        calendars = await queries.calendars(
            conn, bases={agency: base(agency) for agency in acting.agencies}
        )
        records = await queries.worklist(
            conn, agencies=acting.ids, role=role, limit=limit, imported=imported
        )
        return calendars, records

    calendars, records = await read_as(request.app.state.reads, acting, work)
    moment = now()
    # the policy is read here too, should a step's actors ever differ
    shown = [record for record in records if Facet.STATUS in facets_of(record, officer)]
    return [_item(record, calendars[record["agency"]], moment) for record in shown]


def first_due(item: WorkItem) -> tuple[bool, bool, bool, float]:
    """Live work's order: past the case deadline, overdue step, least time left; waiting last."""
    return (item.waiting, not item.late, not item.overdue, item.working_minutes_left or 0.0)


@router.get("/worklist", responses=problems(401, 403, 422, 503))
async def worklist(
    request: Request,
    officer: CurrentOfficer,
    scope: OfficerScope,
    role: Role,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[WorkItem]:
    """Live open cases at this role's steps, in the officer's agencies where they hold the role
    (`instansi`: one of them): past the deadline first, then overdue steps, then the least
    working time left (imported register cases are on the backlog list)."""
    items = await _list(request, officer, scope, role, imported=False, limit=limit)
    return sorted(items, key=first_due)


@router.get("/backlog", responses=problems(401, 403, 422, 503))
async def backlog(
    request: Request,
    officer: CurrentOfficer,
    scope: OfficerScope,
    role: Role,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[WorkItem]:
    """Cases still open in the imported register at this role's steps, oldest first."""
    items = await _list(request, officer, scope, role, imported=True, limit=limit)
    return sorted(items, key=lambda item: item.received_at)

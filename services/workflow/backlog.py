"""Closing the imported register's open cases in bulk: each records its own closing event.

An office that imports its old register finds cases the register still calls "proses" that
were handled on paper long ago. An officer closes them as history, many at once, with one
reason; each case is checked by the same rule as its own `backlog-close` command (imported,
open, and the officer acts at the step it waits at). The cases that may be closed are saved
together, in one transaction; the others are listed with why not.
"""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from services.workflow.case import Case
from services.workflow.cases import Cases
from services.workflow.commands import Text
from services.workflow.rules import works_on_cases
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.outages import DEADLINE_SECONDS
from shared.problems import Problem, problems
from shared.refusals import Refused

router = APIRouter(prefix="/v1", tags=["workflow"])

MAX_CASES = 200


class BacklogCloseBody(BaseModel):
    """The imported cases to close and why."""

    model_config = ConfigDict(extra="forbid")

    case_ids: Annotated[list[UUID], Field(min_length=1, max_length=MAX_CASES, title="Kasus")]
    reason: Text = Field(title="Alasan penutupan")


class NotClosed(BaseModel):
    """A case left open, and why."""

    case_id: UUID
    code: str
    detail: str


class BacklogClosed(BaseModel):
    """What the bulk close did."""

    closed: list[UUID]
    refused: list[NotClosed]


def _close(cases: Cases, officer: Officer, case_id: UUID, reason: str, at: datetime) -> Case:
    case = cases.get_case(case_id, officer.reach)  # another agency's: unknown to them
    acting = officer.in_agency(case.agency)
    case.facets_for(acting)  # a case the officer may not see is unknown to them
    case.close_backlog(reason=cases.seal_if_kept(case.id, reason), by=acting, at=at)
    return case


def close_all(
    cases: Cases, officer: Officer, body: BacklogCloseBody, deadline: float
) -> BacklogClosed:
    """Close every listed case the officer may close; one save for all of them."""
    at = datetime.now(UTC)
    closing: list[Case] = []
    refused: list[NotClosed] = []
    for case_id in dict.fromkeys(body.case_ids):
        try:
            closing.append(_close(cases, officer, case_id, body.reason, at))
        except Refused as why:
            refused.append(NotClosed(case_id=case_id, code=why.code, detail=why.detail))
    if closing:
        try:
            cases.store(*closing, deadline=deadline)
        except IntegrityError:
            raise Problem(
                409,
                "Sebagian kasus diubah orang lain saat ditutup; tidak ada yang ditutup. Muat ulang "
                "lalu coba lagi.",
                code="stale-version",
            ) from None
    return BacklogClosed(closed=[case.id for case in closing], refused=refused)


@router.post("/backlog/close", responses=problems(401, 403, 409, 422, 503))
async def close_backlog(
    body: BacklogCloseBody, officer: CurrentOfficer, request: Request
) -> BacklogClosed:
    """Close imported register cases as history, with one reason recorded on each."""
    if not works_on_cases(officer):
        raise Forbidden("Hanya petugas yang menangani kasus dapat menutup kasus.")
    cases: Cases = request.app.state.cases
    due = cases.guard.due(DEADLINE_SECONDS)  # past it, the save rolls back
    return await cases.guard.call(lambda: close_all(cases, officer, body, due), due=due)

"""The cases behind each figure of the dashboard: every count on the page leads to its list.

The same conditions count and list (month.FIGURES); the access policy decides what of each
case an officer sees, as in the officers' search.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.reporting import month as monthly
from services.reporting.api import CurrentSettings, Pool, Year
from services.reporting.dashboard import FigureName, Month
from services.reporting.officer_api import STAFF, facets_of
from services.reporting.tenancy import OfficerScope, read_as
from shared.access import Facet
from shared.auth import CurrentOfficer, Forbidden
from shared.channels import CHANNEL_LABELS, Channel
from shared.db import Connection
from shared.problems import problems
from shared.sop import KIND_LABELS, Kind
from shared.vocabulary import STATUS_LABELS, Status

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])


class CaseLine(BaseModel):
    """A case behind a figure: never personal data (reporting holds none)."""

    case_id: str
    tracking_code: str
    received_at: datetime
    kind_label: str | None
    channel_label: str | None
    category_label: str | None
    status_label: str
    deadline_at: datetime | None
    closed_at: datetime | None


class CaseList(BaseModel):
    """The cases behind one figure of the dashboard."""

    figure: str
    label: str
    cases: list[CaseLine]


def _line(record: Any, facets: frozenset[Facet], tz: ZoneInfo) -> CaseLine:
    whole = Facet.CASE in facets

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(tz) if moment and whole else None

    return CaseLine(
        case_id=str(record["case_id"]),
        tracking_code=record["tracking_code"],
        received_at=record["received_at"].astimezone(tz),
        kind_label=KIND_LABELS[Kind(record["kind"])] if whole else None,
        channel_label=CHANNEL_LABELS[Channel(record["channel"])] if whole else None,
        category_label=monthly.category_label(record["category"]) if whole else None,
        status_label=STATUS_LABELS[Status(record["status"])],
        deadline_at=local(record["deadline_at"]),
        closed_at=local(record["closed_at"]),
    )


@router.get("/cases", responses=problems(401, 403, 422, 503))
async def figure_cases(
    pool: Pool,
    settings: CurrentSettings,
    officer: CurrentOfficer,
    scope: OfficerScope,
    figure: FigureName,
    year: Year,
    month: Month,
    channel: Channel | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> CaseList:
    """The cases behind a dashboard figure (for officers and analysts), oldest first: of the
    officer's agencies (`instansi`: one of them)."""
    if not officer.has(*STAFF):
        raise Forbidden("Hanya petugas dan analis yang dapat melihat daftar kasus.")
    monthly.begun(year, month, settings.timezone)
    start, end = monthly.bounds(year, month, settings.timezone)
    query: dict[str, Any] = {
        "agencies": scope.ids,
        "start": start,
        "end": end,
        "now": datetime.now(UTC),
        "figure": figure,
        "channel": channel.value if channel else None,
        "category": category,
        "status": status.value if status else None,
        "limit": limit,
    }

    async def work(conn: Connection) -> list[Any]:
        return await monthly.cases(conn, **query)

    tz = ZoneInfo(settings.timezone)
    lines = []
    for record in await read_as(pool, scope, work):
        facets = facets_of(record, officer)
        if Facet.STATUS in facets:
            lines.append(_line(record, facets, tz))
    return CaseList(figure=figure, label=monthly.FIGURES[figure].label, cases=lines)

"""What officers and analysts see: worklists, case search, and any table as CSV or XLSX."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from services.reporting import exports, queries
from services.reporting.api import (
    CurrentSettings,
    GroupBy,
    Kept,
    Pool,
    RekapFilters,
    load_rekap,
    load_years,
    now,
    rekap_filters,
)
from shared.access import Facet, Privacy, may, privacy_of, step_of, visible
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.channels import Channel
from shared.db import Connection, read, read_long
from shared.problems import problems
from shared.sop import OFFICE_ROLES, Kind, Role
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
    replied_at: datetime | None = None  # the complainant's last reply on their tracking page


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
                replied_at=record["replied_at"],
            )
        )
    return sorted(items, key=lambda item: (item.waiting, item.working_minutes_left or 0.0))


def _staff(officer: Officer) -> Officer:
    if not officer.has(*STAFF):
        raise Forbidden("Hanya petugas dan analis yang dapat mencari kasus.")
    return officer


def search_query(
    code: Annotated[str | None, Query(max_length=9, pattern="^[0-9A-Za-z-]+$")] = None,
    status: Status | None = None,
    kind: Kind | None = None,
    channel: Channel | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    received_from: date | None = None,
    received_to: date | None = None,
) -> queries.Search:
    """Search criteria from the query string."""
    return queries.Search(
        code=code.upper() if code else None,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        channel=channel.value if channel else None,
        category=category,
        received_from=received_from,
        received_to=received_to,
    )


CASE_COLUMNS = (
    "tracking_code",
    "kind",
    "channel",
    "category",
    "received_at",
    "status",
    "current_step",
    "step_due_at",
    "deadline_at",
    "closed_at",
    "resolution",
    "bkpm_escalated",
    "overdue",
    "breached",
    "reopened",
)


# The facet of each column (shared/access.py); the others are Facet.CASE.
COLUMN_FACETS = {
    "tracking_code": Facet.STATUS,
    "status": Facet.STATUS,
    "public_answer": Facet.ANSWER,
}


def facets_of(record: Any, officer: Officer) -> frozenset[Facet]:
    """What this officer may see of a case row."""
    privacy = privacy_of(anonymous=record["anonymous"], confidential=record["confidential"])
    step = step_of(record["kind"], record["sop_version"], record["current_step"])
    return visible(officer.roles, privacy, step)


def columns_for(officer: Officer) -> tuple[str, ...]:
    """The case columns for this officer: the answer's only if they may read some answers."""
    answers = any(may(officer.roles, Facet.ANSWER, privacy) for privacy in Privacy)
    return (*CASE_COLUMNS, "public_answer") if answers else CASE_COLUMNS


def row_of(record: Any, officer: Officer, columns: Sequence[str]) -> dict[str, Any] | None:
    """A case row with what this officer may not see left empty; None: not even the case."""
    facets = facets_of(record, officer)
    if Facet.STATUS not in facets:
        return None
    shown = {c: record[c] if COLUMN_FACETS.get(c, Facet.CASE) in facets else None for c in columns}
    return {"case_id": str(record["case_id"])} | shown


async def _cases(
    pool: Any, settings: Any, officer: Officer, query: queries.Search, limit: int, offset: int
) -> list[dict[str, Any]]:
    _staff(officer)
    search = partial(
        queries.search,
        agency=settings.agency,
        query=query,
        tz=settings.timezone,
        limit=limit,
        offset=offset,
        roles=officer.roles,
    )
    records = await (read(pool, search) if limit <= PAGE else read_long(pool, search))
    columns = columns_for(officer)
    rows = (row_of(record, officer, columns) for record in records)
    return [row for row in rows if row is not None]


@router.get("/cases", responses=problems(401, 403, 422, 503))
async def search_cases(
    pool: Pool,
    settings: CurrentSettings,
    officer: CurrentOfficer,
    query: Annotated[queries.Search, Depends(search_query)],
    limit: Annotated[int, Query(ge=1, le=PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Cases by tracking code, status, kind, channel, category and dates (newest first)."""
    return await _cases(pool, settings, officer, query, limit, offset)


@router.get("/cases.{fmt}", responses=problems(401, 403, 422, 503), response_class=Response)
async def export_cases(
    pool: Pool,
    settings: CurrentSettings,
    officer: CurrentOfficer,
    query: Annotated[queries.Search, Depends(search_query)],
    fmt: Format,
) -> Response:
    """The case search as CSV or XLSX, with what the access policy lets this officer see."""
    rows = await _cases(pool, settings, officer, query, EXPORT, 0)
    header = ["case_id", *columns_for(officer)]
    values = [list(row.values()) for row in rows]
    if fmt == "csv":
        return _file(exports.to_csv(header, values), exports.CSV_TYPE, "kasus.csv")
    content = exports.to_xlsx(f"Daftar kasus — {settings.agency}", header, values)
    return _file(content, exports.XLSX_TYPE, "kasus.xlsx")


def _file(
    content: bytes, media_type: str, filename: str, headers: dict[str, str] | None = None
) -> Response:
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, media_type=media_type, headers=disposition | (headers or {}))


@router.get("/rekap.{fmt}", responses=problems(422, 503), response_class=Response)
async def export_rekap(
    pool: Pool,
    kept: Kept,
    settings: CurrentSettings,
    fmt: Format,
    filters: Annotated[RekapFilters, Depends(rekap_filters)],
    group_by: GroupBy = "month,channel",
) -> Response:
    """Any rekap query as CSV or XLSX."""
    copy = await load_rekap(pool, kept, settings.agency, filters, group_by)
    rekap = copy.value
    header = [*rekap.group_by, "count"]
    rows = [[row[key] for key in header] for row in rekap.rows]
    if fmt == "csv":
        return _file(exports.to_csv(header, rows), exports.CSV_TYPE, "rekap.csv", copy.headers())
    content = exports.to_xlsx(f"Rekap pengaduan — {settings.agency}", header, rows)
    return _file(content, exports.XLSX_TYPE, "rekap.xlsx", copy.headers())


@router.get("/rekap/years.{fmt}", responses=problems(422, 503), response_class=Response)
async def export_years(
    pool: Pool,
    kept: Kept,
    settings: CurrentSettings,
    fmt: Format,
    first: Annotated[int, Query(alias="from", ge=2000, le=2100)],
    last: Annotated[int, Query(alias="to", ge=2000, le=2100)],
    kind: Kind | None = None,
) -> Response:
    """The multi-year table as CSV or XLSX (with its chart)."""
    copy = await load_years(pool, kept, settings.agency, first, last, kind)
    table = copy.value
    header = ["Bulan", *map(str, table.years), "Jumlah"]
    rows = [[row["month_label"], *row["counts"].values(), row["total"]] for row in table.rows]
    rows.append(["Jumlah", *table.totals.values(), table.total])
    if fmt == "csv":
        csv = exports.to_csv(header, rows)
        return _file(csv, exports.CSV_TYPE, "rekap-tahunan.csv", copy.headers())
    title = f"Rekapitulasi jumlah pengaduan th. {first} s.d. {last}"
    content = exports.to_xlsx(title, header, rows, chart_columns=len(table.years), chart_rows=12)
    return _file(content, exports.XLSX_TYPE, "rekap-tahunan.xlsx", copy.headers())

"""The public reporting API: the rekap the office publishes, SOP compliance, the SKM, tracking.

Aggregate figures only, and public tracking without personal data or (for a confidential
case) content. Officers' views: case search and files in officer_api.py, the worklist and the
imported backlog in worklist.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel

from services.reporting import queries
from services.reporting.last_good import FRESH_SECONDS, Copy, LastGood
from services.reporting.own_view import MESSAGE_EVENT, HistoryItem, history_of, history_rows
from services.reporting.reads import fetch
from shared import db
from shared.access import COMPLAINANT, Facet, Privacy, privacy_of, readable, visible
from shared.channels import CHANNEL_LABELS, Channel
from shared.db import read
from shared.office_texts import OfficeTexts, clear_texts
from shared.problems import Problem, problems
from shared.receipt_guard import ReceiptGuard
from shared.receipts import SECRET_HEADER
from shared.settings import Settings
from shared.sop import KIND_LABELS, Kind
from shared.survey import ELEMENTS
from shared.tracking_code import normalize
from shared.vocabulary import STATUS_LABELS, Status
from shared.working_time import MONTHS

router = APIRouter(prefix="/v1", tags=["reporting"])


async def _pool(request: Request) -> db.Pool:
    pool: db.Pool = request.app.state.pool
    return pool


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _last_good(request: Request) -> LastGood:
    kept: LastGood = request.app.state.last_good
    return kept


Pool = Annotated[db.Pool, Depends(_pool)]
CurrentSettings = Annotated[Settings, Depends(_settings)]
Kept = Annotated[LastGood, Depends(_last_good)]
Year = Annotated[int, Query(ge=2000, le=2100, description="Tahun")]


class RekapFilters(BaseModel):
    """Any rekap dimension can filter; `group_by` picks the ones counted separately."""

    year: int | None = None
    month: int | None = None
    channel: Channel | None = None
    kind: Kind | None = None
    category: str | None = None
    status: Status | None = None
    timeliness: str | None = None

    def as_filters(self) -> dict[str, Any]:
        """Only the given filters, as stored values."""
        return {key: getattr(value, "value", value) for key, value in self if value is not None}


def rekap_filters(
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
    channel: Channel | None = None,
    kind: Kind | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    status: Status | None = None,
    timeliness: Annotated[str | None, Query(pattern="^(open|on_time|late|n/a)$")] = None,
) -> RekapFilters:
    """The rekap filters from the query string."""
    return RekapFilters(
        year=year,
        month=month,
        channel=channel,
        kind=kind,
        category=category,
        status=status,
        timeliness=timeliness,
    )


GroupBy = Annotated[
    str,
    Query(
        pattern=r"^(year|month|channel|kind|category|status|timeliness)"
        r"(,(year|month|channel|kind|category|status|timeliness))*$",
        description="Dimensi dipisah koma, mis. month,channel",
    ),
]


class Rekap(BaseModel):
    """Counts grouped by the chosen dimensions."""

    agency: str
    filters: dict[str, Any]
    group_by: list[str]
    rows: list[dict[str, Any]]
    total: int


def _key(*parts: Any) -> str:
    """What identifies a public read among its copies."""
    return json.dumps(parts, sort_keys=True, default=str)


async def load_rekap(
    pool: db.Pool, kept: LastGood, agency: str, filters: RekapFilters, group_by: str
) -> Copy[Rekap]:
    """A rekap query, shared by the API and the exports (the last good copy while the
    database is away)."""
    dims = list(dict.fromkeys(group_by.split(","))) if group_by else []

    async def fresh() -> Rekap:
        query = partial(queries.rekap, agency=agency, filters=filters.as_filters(), group_by=dims)
        records = await read(pool, query, FRESH_SECONDS)
        rows = [dict(record) for record in records]
        return Rekap(
            agency=agency,
            filters=filters.as_filters(),
            group_by=dims,
            rows=rows,
            total=sum(row["count"] or 0 for row in rows),
        )

    return await kept.read("rekap", _key(agency, filters.as_filters(), dims), Rekap, fresh)


@router.get("/rekap", responses=problems(422, 503))
async def get_rekap(
    pool: Pool,
    kept: Kept,
    settings: CurrentSettings,
    response: Response,
    filters: Annotated[RekapFilters, Depends(rekap_filters)],
    group_by: GroupBy = "month,channel",
) -> Rekap:
    """Counts of complaints and consultations, filtered and grouped by any dimension."""
    copy = await load_rekap(pool, kept, settings.agency, filters, group_by)
    response.headers.update(copy.headers())
    return copy.value


class YearTable(BaseModel):
    """The office's published shape: months as rows, years as columns, totals."""

    agency: str
    kind: str | None
    years: list[int]
    rows: list[dict[str, Any]]
    totals: dict[str, int]
    total: int


async def load_years(
    pool: db.Pool, kept: LastGood, agency: str, first: int, last: int, kind: Kind | None
) -> Copy[YearTable]:
    """The multi-year table, shared by the API and the exports (the last good copy while the
    database is away)."""
    if last < first or last - first > 30:
        message = (
            "Tahun akhir tidak boleh sebelum tahun awal."
            if last < first
            else "Paling banyak 30 tahun dalam satu tabel."
        )
        error = {"field": "to", "code": "range", "message": message}
        raise Problem(422, f"Periksa kembali: to. {message}", code="validation", errors=[error])

    async def fresh() -> YearTable:
        query = partial(
            queries.by_year_and_month,
            agency=agency,
            first=first,
            last=last,
            kind=kind.value if kind else None,
        )
        counts = await read(pool, query, FRESH_SECONDS)
        return year_table(agency, first, last, kind, counts)

    key = _key(agency, first, last, kind.value if kind else None)
    return await kept.read("years", key, YearTable, fresh)


def year_table(
    agency: str, first: int, last: int, kind: Kind | None, counts: dict[tuple[int, int], int]
) -> YearTable:
    """Months as rows, years as columns, from counts per (year, month)."""
    years = list(range(first, last + 1))
    rows = [
        {
            "month": month,
            "month_label": MONTHS[month - 1],
            "counts": {str(year): counts.get((year, month), 0) for year in years},
            "total": sum(counts.get((year, month), 0) for year in years),
        }
        for month in range(1, 13)
    ]
    totals = {str(year): sum(counts.get((year, m), 0) for m in range(1, 13)) for year in years}
    return YearTable(
        agency=agency,
        kind=kind.value if kind else None,
        years=years,
        rows=rows,
        totals=totals,
        total=sum(totals.values()),
    )


@router.get("/rekap/years", responses=problems(422, 503))
async def get_years(
    pool: Pool,
    kept: Kept,
    settings: CurrentSettings,
    response: Response,
    first: Annotated[int, Query(alias="from", ge=2000, le=2100)],
    last: Annotated[int, Query(alias="to", ge=2000, le=2100)],
    kind: Kind | None = None,
) -> YearTable:
    """Rekapitulasi jumlah pengaduan th. FROM s.d. TO: months by years, with totals."""
    copy = await load_years(pool, kept, settings.agency, first, last, kind)
    response.headers.update(copy.headers())
    return copy.value


def year_range(year: int, tz: str) -> tuple[datetime, datetime]:
    """A calendar year in the office's time zone, as instants."""
    zone = ZoneInfo(tz)
    return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)


@router.get("/compliance", responses=problems(422, 503))
async def get_compliance(
    pool: Pool, settings: CurrentSettings, year: Year, kind: Kind = Kind.COMPLAINT
) -> list[dict[str, Any]]:
    """Per SOP step: count, share within the time standard, median and p90 working minutes."""
    start, end = year_range(year, settings.timezone)
    return await fetch(
        pool, queries.compliance, agency=settings.agency, kind=kind, start=start, end=end
    )


@router.get("/consultations", responses=problems(422, 503))
async def get_consultations(
    pool: Pool, settings: CurrentSettings, year: Year
) -> list[dict[str, Any]]:
    """The Pojok OSS per month, with BKPM escalations."""
    rows = await fetch(
        pool, queries.consultations, agency=settings.agency, year=year, tz=settings.timezone
    )
    return [dict(row) for row in rows]


@router.get("/satisfaction", responses=problems(422, 503))
async def get_satisfaction(pool: Pool, settings: CurrentSettings, year: Year) -> dict[str, Any]:
    """The SKM of a year: each element's mean, the index (25–100) and its grade."""
    start, end = year_range(year, settings.timezone)
    result = await fetch(pool, queries.satisfaction, agency=settings.agency, start=start, end=end)
    return result | {"element_labels": list(ELEMENTS)}


class Tracking(BaseModel):
    """What the public may know of a case: never personal data."""

    tracking_code: str
    status: str
    status_label: str
    kind: str | None = None
    kind_label: str | None = None
    channel_label: str | None = None
    current_step: str | None = None
    current_step_label: str | None = None
    received_at: datetime | None = None
    deadline_at: datetime | None = None
    closed_at: datetime | None = None
    answer: str | None = None
    # The complainant's own view (the receipt secret presented): their case's history, what
    # the office asks of them now, the answer as written (confidential cases too).
    own: bool | None = None  # True: the complainant's own view
    history: list[HistoryItem] | None = None
    request: str | None = None


def _privacy(record: asyncpg.Record) -> Privacy:
    return privacy_of(anonymous=record["anonymous"], confidential=record["confidential"])


def tracking_of(record: asyncpg.Record, tz: ZoneInfo, *, own: bool = False) -> Tracking:
    """The view of a case row as the access policy's public row (or, `own`, the complainant's
    row) allows; the public reads the answer with personal data masked."""
    status = Status(record["status"])
    public = Tracking(
        tracking_code=record["tracking_code"],
        status=status.value,
        status_label=STATUS_LABELS[status],
        own=own or None,
    )
    facets = visible([COMPLAINANT] if own else None, _privacy(record))
    if Facet.CASE not in facets:
        return public
    answer = record["public_answer"] if Facet.ANSWER in facets else None

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(tz) if moment else None

    return public.model_copy(
        update={
            "kind": record["kind"],
            "kind_label": KIND_LABELS[Kind(record["kind"])],
            "channel_label": CHANNEL_LABELS[Channel(record["channel"])],
            "current_step": record["current_step"],
            "current_step_label": queries.step_label(
                record["kind"], record["sop_version"], record["current_step"]
            ),
            "received_at": local(record["received_at"]),
            "deadline_at": local(record["deadline_at"]),
            "closed_at": local(record["closed_at"]),
            "answer": None if answer is None else readable(answer, facets),
        }
    )


def unknown_code() -> Problem:
    """404 for a code unknown here, or of a case the public may not know of."""
    return Problem(404, "Nomor tiket tidak ditemukan.", code="unknown-tracking-code")


SecretHeader = Annotated[
    str | None,
    Header(alias=SECRET_HEADER, max_length=64, description="Kunci tanda terima (pemohon)"),
]


@router.get("/track/{code}", responses=problems(403, 404, 429, 503))
async def track(
    pool: Pool,
    kept: Kept,
    settings: CurrentSettings,
    request: Request,
    response: Response,
    code: Annotated[str, Path(max_length=32, description="Nomor tiket, mis. 7K3M-9QXP")],
    secret: SecretHeader = None,
) -> Tracking:
    """Where a case stands, by its tracking code (this office's cases only); with the receipt
    secret, the complainant's own view: history, the office's request and answer."""
    canonical = normalize(code)
    if canonical is None:
        raise unknown_code()
    if secret is not None:
        return await _own(pool, settings, request, canonical, secret)

    async def fresh() -> Tracking:
        query = partial(queries.tracked_case, agency=settings.agency, tracking_code=canonical)
        record = await read(pool, query, FRESH_SECONDS)
        if record is None or Facet.STATUS not in visible(None, _privacy(record)):
            raise unknown_code()
        return tracking_of(record, ZoneInfo(settings.timezone))

    copy = await kept.read("track", _key(settings.agency, canonical), Tracking, fresh, shared=False)
    response.headers.update(copy.headers())
    return copy.value


async def _own(
    pool: db.Pool, settings: Settings, request: Request, code: str, secret: str
) -> Tracking:
    """The complainant's own view: read fresh (never a kept copy), after the guard."""
    guard: ReceiptGuard = request.app.state.receipt_guard
    address = request.client.host if request.client else "unknown"
    await guard.check(code, secret, address)
    query = partial(queries.tracked_case, agency=settings.agency, tracking_code=code)
    record = await read(pool, query, FRESH_SECONDS)
    if record is None:
        raise unknown_code()
    tz = ZoneInfo(settings.timezone)
    rows = await read(pool, partial(history_rows, case_id=record["case_id"]), FRESH_SECONDS)
    history, asked = history_of(record, rows, tz)
    own = tracking_of(record, tz, own=True)
    credential: str = request.app.state.service_credential
    texts = await clear_texts(settings, credential, record["case_id"])
    return in_clear(own.model_copy(update={"history": history, "request": asked}), texts)


def in_clear(own: Tracking, texts: OfficeTexts | None) -> Tracking:
    """The own view with the office's answer and latest message as written (workflow's clear
    texts); as it is, masked, when workflow could not say."""
    if texts is None:
        return own
    update: dict[str, Any] = {}
    if own.answer is not None and texts.answer:
        update["answer"] = texts.answer
    if own.request is not None and texts.message:
        update["request"] = texts.message
    asked = [item for item in own.history or [] if item.event == MESSAGE_EVENT]
    if asked and asked[-1].message and texts.message:
        latest = asked[-1].model_copy(update={"message": texts.message})
        update["history"] = [latest if item is asked[-1] else item for item in own.history or []]
    return own.model_copy(update=update)


def now() -> datetime:
    """The current instant (UTC)."""
    return datetime.now(UTC)

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
from services.reporting.tenancy import EVERY_AGENCY, PublicScope, Scope, read_as
from shared import db
from shared.access import COMPLAINANT, Facet, Privacy, privacy_of, readable, visible
from shared.channels import CHANNEL_LABELS, Channel
from shared.limits import PublicReadLimit
from shared.office_texts import OfficeTexts, clear_texts
from shared.problems import Problem, problems
from shared.receipt_guard import ReceiptGuard
from shared.receipts import SECRET_HEADER
from shared.service import client_address
from shared.settings import Settings
from shared.sop import KIND_LABELS, Kind
from shared.survey import ELEMENTS
from shared.tracking_code import normalize
from shared.vocabulary import STATUS_LABELS, Status
from shared.working_time import MONTHS

router = APIRouter(prefix="/v1", tags=["reporting"])


async def _reads(request: Request) -> db.Source:
    reads: db.Source = request.app.state.reads
    return reads


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _last_good(request: Request) -> LastGood:
    kept: LastGood = request.app.state.last_good
    return kept


Pool = Annotated[db.Source, Depends(_reads)]
"""Where a request that only reads reads: the read replica if one is configured (the primary
while it is away), else the primary."""
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


class AgencyCount(BaseModel):
    """One agency's share of a rekap: its id and its count."""

    agency: str
    count: int


class Rekap(BaseModel):
    """Counts grouped by the chosen dimensions (summed over the agencies read), and each
    agency's total: one for an agency's rekap, every agency for the province's."""

    agency: str  # the agency's id, or "*" for the province
    filters: dict[str, Any]
    group_by: list[str]
    rows: list[dict[str, Any]]
    total: int
    agencies: list[AgencyCount] = []


def _key(*parts: Any) -> str:
    """What identifies a public read among its copies."""
    return json.dumps(parts, sort_keys=True, default=str)


def summed(records: list[Any], dims: list[str]) -> tuple[list[dict[str, Any]], list[AgencyCount]]:
    """Rows per agency summed over the agencies (in the dimensions' order), and each
    agency's total."""
    rows: dict[tuple[Any, ...], int] = {}
    per_agency: dict[str, int] = dict.fromkeys(sorted({r["agency"] for r in records}), 0)
    for record in records:
        key = tuple(record[d] for d in dims)
        rows[key] = rows.get(key, 0) + (record["count"] or 0)
        per_agency[record["agency"]] += record["count"] or 0
    if not dims:  # one total, as an ungrouped count always answers
        rows = {(): sum(rows.values())}
    ordered = sorted(rows.items(), key=lambda item: tuple((v is None, v) for v in item[0]))
    return (
        [dict(zip(dims, key, strict=True)) | {"count": count} for key, count in ordered],
        [AgencyCount(agency=agency, count=count) for agency, count in per_agency.items()],
    )


async def load_rekap(
    pool: db.Source, kept: LastGood, scope: Scope, filters: RekapFilters, group_by: str
) -> Copy[Rekap]:
    """A rekap query, shared by the API and the exports (the last good copy while the
    database is away)."""
    dims = list(dict.fromkeys(group_by.split(","))) if group_by else []

    async def fresh() -> Rekap:
        query = partial(
            queries.rekap, agencies=scope.ids, filters=filters.as_filters(), group_by=dims
        )
        records = await read_as(pool, scope, query, FRESH_SECONDS)
        rows, agencies = summed(records, dims)
        return Rekap(
            agency=scope.label,
            filters=filters.as_filters(),
            group_by=dims,
            rows=rows,
            total=sum(row["count"] for row in rows),
            agencies=agencies,
        )

    return await kept.read("rekap", _key(scope.label, filters.as_filters(), dims), Rekap, fresh)


@router.get("/rekap", responses=problems(403, 404, 422, 429, 503))
async def get_rekap(
    pool: Pool,
    kept: Kept,
    scope: PublicScope,
    response: Response,
    filters: Annotated[RekapFilters, Depends(rekap_filters)],
    group_by: GroupBy = "month,channel",
) -> Rekap:
    """Counts of complaints and consultations, filtered and grouped by any dimension, of one
    agency (`instansi`, the home agency by default) or of the province (`instansi=*`, for the
    provincial coordinator: summed, with each agency's total)."""
    copy = await load_rekap(pool, kept, scope, filters, group_by)
    response.headers.update(copy.headers())
    return copy.value


class AgencyYears(BaseModel):
    """One agency's line of the province's multi-year table: its total per year."""

    agency: str
    counts: dict[str, int]
    total: int


class YearTable(BaseModel):
    """The office's published shape: months as rows, years as columns, totals (for the
    province: summed, and each agency's totals per year)."""

    agency: str
    kind: str | None
    years: list[int]
    rows: list[dict[str, Any]]
    totals: dict[str, int]
    total: int
    agencies: list[AgencyYears] = []


def check_years(first: int, last: int) -> None:
    """422 for a range of years the table cannot show."""
    if last < first or last - first > 30:
        message = (
            "Tahun akhir tidak boleh sebelum tahun awal."
            if last < first
            else "Paling banyak 30 tahun dalam satu tabel."
        )
        error = {"field": "to", "code": "range", "message": message}
        raise Problem(422, f"Periksa kembali: to. {message}", code="validation", errors=[error])


async def load_years(
    pool: db.Source, kept: LastGood, scope: Scope, first: int, last: int, kind: Kind | None
) -> Copy[YearTable]:
    """The multi-year table, shared by the API and the exports (the last good copy while the
    database is away)."""
    check_years(first, last)

    async def fresh() -> YearTable:
        query = partial(
            queries.by_year_and_month,
            agencies=scope.ids,
            first=first,
            last=last,
            kind=kind.value if kind else None,
        )
        counts = await read_as(pool, scope, query, FRESH_SECONDS)
        return year_table(scope.label, first, last, kind, counts)

    key = _key(scope.label, first, last, kind.value if kind else None)
    return await kept.read("years", key, YearTable, fresh)


def year_table(
    agency: str,
    first: int,
    last: int,
    kind: Kind | None,
    counts: dict[tuple[str, int, int], int],
) -> YearTable:
    """Months as rows, years as columns, from counts per (agency, year, month)."""
    years = list(range(first, last + 1))
    summed_counts: dict[tuple[int, int], int] = {}
    per_agency: dict[str, dict[str, int]] = {}
    for (owner, year, month), count in counts.items():
        summed_counts[(year, month)] = summed_counts.get((year, month), 0) + count
        by_year = per_agency.setdefault(owner, dict.fromkeys(map(str, years), 0))
        by_year[str(year)] += count
    rows = [
        {
            "month": month,
            "month_label": MONTHS[month - 1],
            "counts": {str(year): summed_counts.get((year, month), 0) for year in years},
            "total": sum(summed_counts.get((year, month), 0) for year in years),
        }
        for month in range(1, 13)
    ]
    totals = {str(y): sum(summed_counts.get((y, m), 0) for m in range(1, 13)) for y in years}
    return YearTable(
        agency=agency,
        kind=kind.value if kind else None,
        years=years,
        rows=rows,
        totals=totals,
        total=sum(totals.values()),
        agencies=[
            AgencyYears(agency=owner, counts=by_year, total=sum(by_year.values()))
            for owner, by_year in sorted(per_agency.items())
        ],
    )


@router.get("/rekap/years", responses=problems(403, 404, 422, 429, 503))
async def get_years(
    pool: Pool,
    kept: Kept,
    scope: PublicScope,
    response: Response,
    first: Annotated[int, Query(alias="from", ge=2000, le=2100)],
    last: Annotated[int, Query(alias="to", ge=2000, le=2100)],
    kind: Kind | None = None,
) -> YearTable:
    """Rekapitulasi jumlah pengaduan th. FROM s.d. TO: months by years, with totals, of one
    agency (`instansi`) or of the province (`instansi=*`: summed, with each agency's line)."""
    copy = await load_years(pool, kept, scope, first, last, kind)
    response.headers.update(copy.headers())
    return copy.value


def year_range(year: int, tz: str) -> tuple[datetime, datetime]:
    """A calendar year in the office's time zone, as instants."""
    zone = ZoneInfo(tz)
    return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)


@router.get("/compliance", responses=problems(403, 404, 422, 429, 503))
async def get_compliance(
    pool: Pool,
    settings: CurrentSettings,
    scope: PublicScope,
    year: Year,
    kind: Kind = Kind.COMPLAINT,
) -> list[dict[str, Any]]:
    """Per SOP step: count, share within the time standard, median and p90 working minutes."""
    start, end = year_range(year, settings.timezone)
    query = partial(queries.compliance, agencies=scope.ids, kind=kind, start=start, end=end)
    return await read_as(pool, scope, query)


@router.get("/consultations", responses=problems(403, 404, 422, 429, 503))
async def get_consultations(
    pool: Pool, settings: CurrentSettings, scope: PublicScope, year: Year
) -> list[dict[str, Any]]:
    """The Pojok OSS per month, with BKPM escalations."""
    query = partial(queries.consultations, agencies=scope.ids, year=year, tz=settings.timezone)
    rows = await read_as(pool, scope, query)
    return [dict(row) for row in rows]


@router.get("/satisfaction", responses=problems(403, 404, 422, 429, 503))
async def get_satisfaction(
    pool: Pool, settings: CurrentSettings, scope: PublicScope, year: Year
) -> dict[str, Any]:
    """The SKM of a year: each element's mean, the index (25–100) and its grade."""
    start, end = year_range(year, settings.timezone)
    query = partial(queries.satisfaction, agencies=scope.ids, start=start, end=end)
    result = await read_as(pool, scope, query)
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


@router.get("/track/{code}", responses=problems(403, 404, 422, 429, 503))
async def track(
    pool: Pool,
    kept: Kept,
    settings: CurrentSettings,
    request: Request,
    response: Response,
    code: Annotated[str, Path(max_length=32, description="Nomor tiket, mis. 7K3M-9QXP")],
    _limited: PublicReadLimit,
    secret: SecretHeader = None,
) -> Tracking:
    """Where a case stands, by its tracking code, whichever agency has it (codes are unique
    across the deployment, and a case keeps its code when it moves); with the receipt secret,
    the complainant's own view: history, the office's request and answer."""
    canonical, scope = normalize(code), EVERY_AGENCY
    if canonical is not None and secret is not None:
        return await _own(pool, settings, scope, request, canonical, secret)
    guard: ReceiptGuard = request.app.state.receipt_guard
    async with guard.looking_up(client_address(request)) as lookup:  # codes are not to be walked
        if canonical is None:
            lookup.missed()
            raise unknown_code()

        async def fresh() -> Tracking:
            query = partial(queries.tracked_case, tracking_code=canonical)
            record = await read_as(pool, scope, query, FRESH_SECONDS)
            if record is None or Facet.STATUS not in visible(None, _privacy(record)):
                raise unknown_code()
            return tracking_of(record, ZoneInfo(settings.timezone))

        key = _key(scope.label, canonical)
        try:
            copy = await kept.read("track", key, Tracking, fresh, shared=False)
        except Problem as refused:
            if refused.code == unknown_code().code:
                lookup.missed()
            raise
    response.headers.update(copy.headers())
    return copy.value


async def _own(
    pool: db.Source, settings: Settings, scope: Scope, request: Request, code: str, secret: str
) -> Tracking:
    """The complainant's own view: read fresh (never a kept copy), after the guard."""
    guard: ReceiptGuard = request.app.state.receipt_guard
    await guard.check(code, secret, client_address(request))
    query = partial(queries.tracked_case, tracking_code=code)
    record = await read_as(pool, scope, query, FRESH_SECONDS)
    if record is None:
        raise unknown_code()
    tz = ZoneInfo(settings.timezone)
    entries = partial(history_rows, case_id=record["case_id"])
    rows = await read_as(pool, scope, entries, FRESH_SECONDS)
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

"""The rekap as files the office publishes: any rekap query with Indonesian headers and labels,
and the multi-year table ("Rekapitulasi jumlah pengaduan th. 2021 s.d. 2023") per channel and
month, with the office's name and a source line, as XLSX and PDF (and a plain CSV)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from services.reporting import exports
from services.reporting.api import (
    GroupBy,
    Kept,
    Pool,
    RekapFilters,
    YearTable,
    check_years,
    load_rekap,
    load_years,
    rekap_filters,
)
from services.reporting.drawing import PublicPlace
from services.reporting.last_good import FRESH_SECONDS, Copy
from services.reporting.letter import Letter, Office, Section, printed
from services.reporting.month import category_label
from services.reporting.officer_api import _file
from services.reporting.tenancy import AgencyOffice, PublicScope, Scope, agency_names, read_as
from shared.channels import CHANNEL_LABELS, Channel
from shared.db import Connection
from shared.problems import problems
from shared.sop import KIND_LABELS, Kind
from shared.vocabulary import DIMENSION_LABELS, STATUS_LABELS, TIMELINESS_LABELS, Status
from shared.working_time import MONTHS

router = APIRouter(prefix="/v1", tags=["reporting"])

Format = Annotated[str, Path(pattern="^(csv|xlsx)$", description="csv atau xlsx")]
YearsFormat = Annotated[str, Path(pattern="^(csv|xlsx|pdf)$", description="csv, xlsx atau pdf")]
First = Annotated[int, Query(alias="from", ge=2000, le=2100)]
Last = Annotated[int, Query(alias="to", ge=2000, le=2100)]


def label_of(dimension: str, value: Any) -> Any:
    """A stored rekap value as a published table shows it (numbers stay numbers)."""
    if value is None or dimension == "year":
        return value
    labels: dict[str, Any] = {
        "month": lambda v: MONTHS[int(v) - 1],
        "channel": lambda v: CHANNEL_LABELS[Channel(v)],
        "kind": lambda v: KIND_LABELS[Kind(v)],
        "category": category_label,
        "status": lambda v: STATUS_LABELS[Status(v)],
        "timeliness": lambda v: TIMELINESS_LABELS.get(v, v),
    }
    return labels[dimension](value) if dimension in labels else value


@router.get("/rekap.{fmt}", responses=problems(403, 404, 422, 429, 503), response_class=Response)
async def export_rekap(
    place: PublicPlace,
    request: Request,
    pool: Pool,
    kept: Kept,
    scope: PublicScope,
    office: AgencyOffice,
    fmt: Format,
    filters: Annotated[RekapFilters, Depends(rekap_filters)],
    group_by: GroupBy = "month,channel",
) -> Response:
    """Any rekap query as CSV or XLSX, headed and labelled in Indonesian, of one agency or of
    the province (summed, then a row per agency)."""
    copy = await load_rekap(pool, kept, scope, filters, group_by)
    rekap = copy.value
    header = [DIMENSION_LABELS[d] for d in [*rekap.group_by, "count"]]
    rows = [[*(label_of(d, row[d]) for d in rekap.group_by), row["count"]] for row in rekap.rows]
    if scope.province:
        blank = [None] * max(len(rekap.group_by) - 1, 0)
        names = await agency_names(request)
        rows += [
            [f"Instansi: {names.get(a.agency, a.agency)}", *blank, a.count] for a in rekap.agencies
        ]
    if fmt == "csv":
        csv = await place(partial(exports.to_csv, header, rows))
        return _file(csv, exports.CSV_TYPE, "rekap.csv", copy.headers())
    title = f"Rekap pengaduan — {office.name}"
    content = await place(partial(exports.to_xlsx, title, header, rows))
    return _file(content, exports.XLSX_TYPE, "rekap.xlsx", copy.headers())


class ChannelYears(BaseModel):
    """The multi-year table per channel: for each year, each month's count per channel."""

    years: list[int]
    channels: list[str]
    channel_labels: list[str]
    month_labels: list[str]
    counts: dict[str, dict[str, dict[str, int]]]  # year -> month (1–12) -> channel -> count


async def _per_channel(
    conn: Connection, *, agencies: list[str], first: int, last: int, kind: str | None
) -> list[Any]:
    return await conn.fetch(
        "SELECT year, month, channel, sum(count)::bigint AS count FROM rekap_by_channel "
        "WHERE agency = ANY($1::text[]) AND year BETWEEN $2 AND $3 "
        "AND ($4::text IS NULL OR kind = $4) GROUP BY year, month, channel",
        agencies,
        first,
        last,
        kind,
    )


async def channel_years(
    pool: Pool, kept: Kept, scope: Scope, first: int, last: int, kind: Kind | None
) -> Copy[ChannelYears]:
    """Counts per year, month and channel (only the channels with any in the range); the last
    good copy while the database is away."""
    stored = kind.value if kind else None

    async def fresh() -> ChannelYears:
        query = partial(_per_channel, agencies=scope.ids, first=first, last=last, kind=stored)
        rows = await read_as(pool, scope, query, FRESH_SECONDS)
        seen = {row["channel"] for row in rows}
        channels = [channel.value for channel in Channel if channel.value in seen]
        years = list(range(first, last + 1))
        months = range(1, 13)
        counts = {str(y): {str(m): dict.fromkeys(channels, 0) for m in months} for y in years}
        for row in rows:
            counts[str(row["year"])][str(row["month"])][row["channel"]] = int(row["count"])
        return ChannelYears(
            years=years,
            channels=channels,
            channel_labels=[CHANNEL_LABELS[Channel(channel)] for channel in channels],
            month_labels=list(MONTHS),
            counts=counts,
        )

    key = json.dumps([scope.label, first, last, stored])
    return await kept.read("years_channels", key, ChannelYears, fresh)


@router.get("/rekap/years/channels", responses=problems(403, 404, 422, 429, 503))
async def get_channel_years(
    pool: Pool,
    kept: Kept,
    scope: PublicScope,
    response: Response,
    first: First,
    last: Last,
    kind: Kind | None = None,
) -> ChannelYears:
    """The multi-year table per channel and month."""
    check_years(first, last)
    copy = await channel_years(pool, kept, scope, first, last, kind)
    response.headers.update(copy.headers())
    return copy.value


def _year_section(table: ChannelYears, year: int) -> Section:
    months = table.counts[str(year)]
    rows: list[list[Any]] = []
    for month in range(1, 13):
        values = [months[str(month)][c] for c in table.channels]
        rows.append([MONTHS[month - 1], *values, sum(values)])
    totals = [sum(months[str(m)][c] for m in range(1, 13)) for c in table.channels]
    rows.append(["Jumlah", *totals, sum(totals)])
    header = ["Bulan", *table.channel_labels, "Jumlah"]
    return Section(f"Tahun {year}", header, rows, total_row=True, weights=_weights(header))


def _weights(header: list[str]) -> tuple[float, ...]:
    return (1.6, *[1.0] * (len(header) - 1))


def years_letter(
    office: Office,
    table: ChannelYears,
    kind: Kind | None,
    produced_at: datetime,
    province: YearTable | None = None,
    names: dict[str, str] | None = None,
) -> Letter:
    """The multi-year table as the office publishes it: per year, months by channel, and the
    years side by side (the province's: summed, then each agency's totals per year)."""
    what = "PENGADUAN" if kind is None or kind == Kind.COMPLAINT else "KONSULTASI"
    what += " DAN KONSULTASI" if kind is None else ""
    first, last = table.years[0], table.years[-1]
    overall: list[list[Any]] = []
    for month in range(1, 13):
        values = [sum(table.counts[str(y)][str(month)].values()) for y in table.years]
        overall.append([MONTHS[month - 1], *values, sum(values)])
    year_totals = [sum(row[1 + i] for row in overall) for i in range(len(table.years))]
    overall.append(["Jumlah", *year_totals, sum(year_totals)])
    header = ["Bulan", *map(str, table.years), "Jumlah"]
    sections = [_year_section(table, year) for year in table.years]
    sections.append(
        Section("Jumlah per tahun", header, overall, total_row=True, weights=_weights(header))
    )
    if province is not None:
        sections.append(_agencies_section(province, names or {}))
    return Letter(
        office=office,
        title=f"REKAPITULASI JUMLAH {what} TH. {first} S.D. {last}",
        subtitle=[
            office.name if province is None else "Seluruh instansi provinsi",
            "Per kanal pengaduan dan per bulan",
        ],
        sections=sections,
        produced_at=produced_at,
        landscape=len(table.channels) > 5,
        signed=False,
    )


def _agencies_section(province: YearTable, names: dict[str, str]) -> Section:
    """The province's table: a row per agency, its count per year."""
    header = ["Instansi", *map(str, province.years), "Jumlah"]
    rows: list[list[Any]] = [
        [names.get(a.agency, a.agency), *a.counts.values(), a.total] for a in province.agencies
    ]
    rows.append(["Jumlah", *province.totals.values(), province.total])
    return Section("Per instansi", header, rows, total_row=True, weights=_weights(header))


@router.get(
    "/rekap/years.{fmt}", responses=problems(403, 404, 422, 429, 503), response_class=Response
)
async def export_years(
    place: PublicPlace,
    request: Request,
    pool: Pool,
    kept: Kept,
    scope: PublicScope,
    office: AgencyOffice,
    fmt: YearsFormat,
    first: First,
    last: Last,
    kind: Kind | None = None,
) -> Response:
    """The multi-year table per channel and month as XLSX or PDF (the office's letterhead and
    a source line), or the months-by-years table as CSV."""
    copy = await load_years(pool, kept, scope, first, last, kind)
    if fmt == "csv":
        table = copy.value
        header = ["Bulan", *map(str, table.years), "Jumlah"]
        rows = [[row["month_label"], *row["counts"].values(), row["total"]] for row in table.rows]
        rows.append(["Jumlah", *table.totals.values(), table.total])
        if scope.province:
            names = await agency_names(request)
            rows += [
                [f"Instansi: {names.get(a.agency, a.agency)}", *a.counts.values(), a.total]
                for a in table.agencies
            ]
        csv = await place(partial(exports.to_csv, header, rows))
        return _file(csv, exports.CSV_TYPE, "rekap-tahunan.csv", copy.headers())
    per_channel = await channel_years(pool, kept, scope, first, last, kind)
    per_agency = copy.value if scope.province else None
    names = await agency_names(request) if scope.province else {}
    letter = years_letter(office, per_channel.value, kind, datetime.now(UTC), per_agency, names)
    headers = per_channel.headers()
    if fmt == "pdf":
        pdf = await place(partial(printed, letter, "pdf"))
        return _file(pdf, "application/pdf", "rekap-tahunan.pdf", headers)
    workbook = await place(partial(printed, letter, "xlsx"))
    return _file(workbook, exports.XLSX_TYPE, "rekap-tahunan.xlsx", headers)

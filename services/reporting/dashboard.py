"""The leadership's dashboard: a month against the one before, with charts drawn on the server.

Figures only, as public as the rekap. The charts are SVG drawn by reportlab (the library the
PDF recap already uses), so the page needs no script library and no network beyond the office.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from services.reporting import month as monthly
from services.reporting import queries
from services.reporting.api import CurrentSettings, Pool, Year
from services.reporting.drawing import drawn
from services.reporting.press import press
from services.reporting.tenancy import PublicScope, Scope, read_as
from shared.channels import CHANNEL_LABELS, Channel
from shared.db import Connection
from shared.problems import problems
from shared.sop import Kind
from shared.survey import ELEMENTS
from shared.vocabulary import STATUS_LABELS, Status
from shared.working_time import MONTHS

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])

Month = Annotated[int, Query(ge=1, le=12, description="Bulan (1–12)")]
Chart = Annotated[
    Literal["channels", "status", "categories", "compliance", "skm", "trend"],
    Path(description="channels, status, categories, compliance, skm atau trend"),
]
FigureName = Literal[
    "all",
    "complaints",
    "consultations",
    "on_time",
    "late_closed",
    "late_open",
    "running",
    "uncounted",
    "overdue_open",
    "breached_open",
    "imported_open",
]
TREND_MONTHS = 12
LIST = "/reporting/v1/dashboard/cases"


class Figure(BaseModel):
    """Complaints and consultations received."""

    complaints: int = 0
    consultations: int = 0

    @property
    def total(self) -> int:
        """Both kinds."""
        return self.complaints + self.consultations


class Period(BaseModel):
    """A month and its counts."""

    year: int
    month: int
    label: str
    complaints: int
    consultations: int
    total: int


class ChannelRow(BaseModel):
    """One channel: this month and the one before."""

    channel: str
    label: str
    this_month: int
    previous_month: int
    cases_url: str


class StatusRow(BaseModel):
    """Cases received in the month, by where they stand now."""

    status: str
    label: str
    count: int
    cases_url: str


class CategoryRow(BaseModel):
    """Cases received in the month under one category."""

    category: str
    label: str
    complaints: int
    consultations: int
    total: int
    cases_url: str


class Count(BaseModel):
    """A figure, what it is called, and the list of the cases behind it."""

    label: str
    count: int
    cases_url: str


class Timeliness(BaseModel):
    """Cases received in the month against the 14 working days (month.TIMELINESS_NOTE)."""

    on_time: int
    late_closed: int
    late_open: int
    late: int  # closed late and open past the deadline
    running: int  # open, still within the deadline: not counted yet
    open: int  # every open case of the month (late or running)
    uncounted: int
    on_time_share: float | None
    note: str


class SkmElement(BaseModel):
    """One element of the SKM: its mean score (1–4)."""

    label: str
    mean: float | None


class Dashboard(BaseModel):
    """Everything the dashboard page shows for one month; every count links to its cases."""

    this_month: Period
    previous_month: Period
    by_channel: list[ChannelRow]
    by_status: list[StatusRow]
    by_category: list[CategoryRow]
    figures: dict[str, Count]
    overdue_open: int
    past_deadline_open: int
    imported_open: int
    pungli: int
    timeliness: Timeliness
    compliance: list[dict[str, Any]]
    compliance_note: str
    satisfaction: dict[str, Any]
    skm_elements: list[SkmElement]
    trend: list[Period]


@dataclass(frozen=True)
class Months:
    """The chosen month, the one before, and the months of the trend."""

    year: int
    month: int
    instansi: str | None = None  # the agency (or "*") the figures are of, when not the home one

    @staticmethod
    def shift(year: int, month: int, by: int) -> tuple[int, int]:
        """The month `by` months away."""
        index = year * 12 + month - 1 + by
        return index // 12, index % 12 + 1

    @property
    def previous(self) -> tuple[int, int]:
        """The month before."""
        return self.shift(self.year, self.month, -1)

    def trend(self) -> list[tuple[int, int]]:
        """The twelve months ending with this one."""
        return [self.shift(self.year, self.month, -n) for n in range(TREND_MONTHS - 1, -1, -1)]

    def link(self, figure: str, **filters: str) -> str:
        """The list of the cases behind a figure of this month (with filters)."""
        query = {"figure": figure, "year": self.year, "month": self.month} | filters
        if self.instansi:
            query["instansi"] = self.instansi
        return f"{LIST}?{urlencode(query)}"


def _label(year: int, month: int) -> str:
    return f"{MONTHS[month - 1]} {year}"


async def _counts(
    conn: Connection, agencies: list[str], months: list[tuple[int, int]]
) -> dict[tuple[int, int, str, str], int]:
    """(year, month, channel, kind) -> count, for the given months."""
    rows = await conn.fetch(
        "SELECT year, month, channel, kind, sum(count)::bigint AS n FROM rekap_by_channel "
        "WHERE agency = ANY($1::text[]) AND (year * 12 + month) = ANY($2::int[]) "
        "GROUP BY year, month, channel, kind",
        agencies,
        [year * 12 + month for year, month in months],
    )
    return {(r["year"], r["month"], r["channel"], r["kind"]): r["n"] for r in rows}


def _period(counts: dict[tuple[int, int, str, str], int], year: int, month: int) -> Period:
    figure = Figure()
    for (y, m, _, kind), n in counts.items():
        if (y, m) == (year, month):
            if kind == Kind.COMPLAINT:
                figure.complaints += n
            else:
                figure.consultations += n
    return Period(
        year=year,
        month=month,
        label=_label(year, month),
        complaints=figure.complaints,
        consultations=figure.consultations,
        total=figure.total,
    )


def _channels(counts: dict[tuple[int, int, str, str], int], months: Months) -> list[ChannelRow]:
    rows: dict[str, list[int]] = {}
    for (y, m, channel, _), n in counts.items():
        if (y, m) in ((months.year, months.month), months.previous):
            pair = rows.setdefault(channel, [0, 0])
            pair[0 if (y, m) == (months.year, months.month) else 1] += n
    return [
        ChannelRow(
            channel=channel,
            label=CHANNEL_LABELS[Channel(channel)],
            this_month=pair[0],
            previous_month=pair[1],
            cases_url=months.link("all", channel=channel),
        )
        for channel, pair in sorted(rows.items(), key=lambda item: (-item[1][0], item[0]))
    ]


def _timeliness(figures: dict[str, int]) -> Timeliness:
    t = monthly.timeliness(figures)
    return Timeliness(
        on_time=t.on_time,
        late_closed=t.late_closed,
        late_open=t.late_open,
        late=t.late,
        running=t.running,
        open=t.late_open + t.running,
        uncounted=t.uncounted,
        on_time_share=t.share,
        note=monthly.TIMELINESS_NOTE,
    )


async def _month(conn: Connection, agencies: list[str], months: Months, tz: str) -> dict[str, Any]:
    start, end = monthly.bounds(months.year, months.month, tz)
    span: dict[str, Any] = {"agencies": agencies, "start": start, "end": end}
    return {
        "counts": await _counts(conn, agencies, months.trend()),
        "standing": await conn.fetch(
            "SELECT status, sum(count)::bigint AS n FROM rekap "
            "WHERE agency = ANY($1::text[]) AND year = $2 AND month = $3 GROUP BY status",
            agencies,
            months.year,
            months.month,
        ),
        "figures": await monthly.counts(conn, now=datetime.now(UTC), **span),
        "categories": await monthly.by_category(conn, **span),
        "compliance": await queries.compliance(conn, kind=Kind.COMPLAINT, **span),
        "satisfaction": await queries.satisfaction(conn, **span),
    }


def _statuses(standing: list[Any], months: Months) -> list[StatusRow]:
    by_status = {row["status"]: int(row["n"]) for row in standing}
    return [
        StatusRow(
            status=status.value,
            label=STATUS_LABELS[status],
            count=by_status[status],
            cases_url=months.link("all", status=status.value),
        )
        for status in Status
        if by_status.get(status)
    ]


def _skm(satisfaction: dict[str, Any]) -> list[SkmElement]:
    means = satisfaction.get("elements") or []
    return [
        SkmElement(label=label, mean=means[i] if i < len(means) else None)
        for i, label in enumerate(ELEMENTS)
    ]


def _board(got: dict[str, Any], months: Months) -> Dashboard:
    counts, figures, categories = got["counts"], got["figures"], got["categories"]
    return Dashboard(
        this_month=_period(counts, months.year, months.month),
        previous_month=_period(counts, *months.previous),
        by_channel=_channels(counts, months),
        by_status=_statuses(got["standing"], months),
        by_category=[
            CategoryRow(**row, cases_url=months.link("all", category=row["category"]))
            for row in categories
        ],
        figures={
            name: Count(label=figure.label, count=figures[name], cases_url=months.link(name))
            for name, figure in monthly.FIGURES.items()
        },
        overdue_open=figures["overdue_open"],
        past_deadline_open=figures["breached_open"],
        imported_open=figures["imported_open"],
        pungli=sum(r["complaints"] for r in categories if r["category"] == monthly.PUNGLI),
        timeliness=_timeliness(figures),
        compliance=got["compliance"],
        compliance_note=monthly.STEPS_NOTE,
        satisfaction=got["satisfaction"],
        skm_elements=_skm(got["satisfaction"]),
        trend=[_period(counts, y, m) for y, m in months.trend()],
    )


async def load(
    pool: Pool, settings: CurrentSettings, scope: Scope, year: int, month: int
) -> Dashboard:
    """The dashboard of one month of an agency (or of the province), from the read models
    (422 for a month not begun)."""
    monthly.begun(year, month, settings.timezone)
    home = scope.agencies == (settings.agency,) and not scope.province
    months = Months(year, month, None if home else scope.label)

    async def work(conn: Connection) -> dict[str, Any]:
        return await _month(conn, scope.ids, months, settings.timezone)

    return _board(await read_as(pool, scope, work), months)


@router.get("", responses=problems(403, 404, 422, 429, 503))
async def dashboard(
    pool: Pool, settings: CurrentSettings, scope: PublicScope, year: Year, month: Month
) -> Dashboard:
    """One month against the one before: by channel, status and category, timeliness (open
    cases past their deadline count as late), SOP, SKM per element, trend; each count with
    the list of its cases."""
    return await load(pool, settings, scope, year, month)


def _chart(name: str, board: Dashboard) -> str:
    """A chart as SVG, drawn by the press (press.py: reportlab is loaded in its child, not in
    the service). Called on the drawing thread (drawing.py)."""
    svg: str = press("services.reporting.charts:svg", name, board)
    return svg


@router.get(
    "/{name}.svg",
    responses=problems(403, 404, 422, 429, 503) | {200: {"content": {"image/svg+xml": {}}}},
    response_class=Response,
)
async def dashboard_chart(
    pool: Pool,
    settings: CurrentSettings,
    scope: PublicScope,
    name: Chart,
    year: Year,
    month: Month,
) -> Response:
    """A dashboard chart as SVG: channels, status, categories, compliance, skm or trend."""
    board = await load(pool, settings, scope, year, month)
    svg = await drawn(partial(_chart, name, board), public=True)
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "no-cache"})

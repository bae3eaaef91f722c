"""The leadership's dashboard: a month against the one before, with charts drawn on the server.

Figures only, as public as the rekap. The charts are SVG drawn by reportlab (the library the
PDF recap already uses), so the page needs no script library and no network beyond the office.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel
from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

from services.reporting import exports, queries
from services.reporting.api import CurrentSettings, Pool, Year
from shared.channels import CHANNEL_LABELS, Channel
from shared.db import Connection, read
from shared.problems import problems
from shared.sop import KIND_LABELS, Kind
from shared.vocabulary import STATUS_LABELS, Status
from shared.working_time import MONTHS

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])

Month = Annotated[int, Query(ge=1, le=12, description="Bulan (1–12)")]
Chart = Annotated[
    Literal["channels", "status", "trend", "compliance"],
    Path(description="channels, status, trend atau compliance"),
]
PRIMARY, SECONDARY = colors.HexColor("#1f6f8b"), colors.HexColor("#99c24d")
TREND_MONTHS = 12


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


class StatusRow(BaseModel):
    """Cases received in the month, by where they stand now."""

    status: str
    label: str
    count: int


class Timeliness(BaseModel):
    """Cases received in the month: finished within 14 working days, late, still open."""

    on_time: int
    late: int
    open: int
    on_time_share: float | None


class Dashboard(BaseModel):
    """Everything the dashboard page shows for one month."""

    this_month: Period
    previous_month: Period
    by_channel: list[ChannelRow]
    by_status: list[StatusRow]
    overdue_open: int
    past_deadline_open: int
    timeliness: Timeliness
    compliance: list[dict[str, Any]]
    satisfaction: dict[str, Any]
    trend: list[Period]


@dataclass(frozen=True)
class Months:
    """The chosen month, the one before, and the months of the trend."""

    year: int
    month: int

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

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """This month as instants in the office's time zone."""
        zone = ZoneInfo(tz)
        end = self.shift(self.year, self.month, 1)
        return datetime(self.year, self.month, 1, tzinfo=zone), datetime(*end, 1, tzinfo=zone)


def _label(year: int, month: int) -> str:
    return f"{MONTHS[month - 1]} {year}"


async def _counts(
    conn: Connection, agency: str, months: list[tuple[int, int]]
) -> dict[tuple[int, int, str, str], int]:
    """(year, month, channel, kind) -> count, for the given months."""
    rows = await conn.fetch(
        "SELECT year, month, channel, kind, sum(count)::bigint AS n FROM rekap_by_channel "
        "WHERE agency = $1 AND (year * 12 + month) = ANY($2::int[]) "
        "GROUP BY year, month, channel, kind",
        agency,
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
        )
        for channel, pair in sorted(rows.items(), key=lambda item: (-item[1][0], item[0]))
    ]


async def load(pool: Pool, settings: CurrentSettings, year: int, month: int) -> Dashboard:
    """The dashboard of one month, from the read models."""
    months = Months(year, month)
    agency = settings.agency
    start, end = months.bounds(settings.timezone)

    async def work(conn: Connection) -> tuple[Any, ...]:
        counts = await _counts(conn, agency, months.trend())  # ends with this month and the last
        standing = await conn.fetch(
            "SELECT status, timeliness, sum(count)::bigint AS n FROM rekap "
            "WHERE agency = $1 AND year = $2 AND month = $3 GROUP BY status, timeliness",
            agency,
            year,
            month,
        )
        late = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE overdue) AS overdue, "
            "count(*) FILTER (WHERE breached) AS breached FROM case_summary "
            "WHERE agency = $1 AND status = ANY($2)",
            agency,
            queries.OPEN,
        )
        compliance = await queries.compliance(
            conn, agency=agency, kind=Kind.COMPLAINT, start=start, end=end
        )
        satisfaction = await queries.satisfaction(conn, agency=agency, start=start, end=end)
        return counts, standing, late, compliance, satisfaction

    counts, standing, late, compliance, satisfaction = await read(pool, work)
    by_status: dict[str, int] = {}
    timeliness = {"on_time": 0, "late": 0, "open": 0}
    for row in standing:
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
        timeliness[row["timeliness"]] = timeliness.get(row["timeliness"], 0) + row["n"]
    finished = timeliness["on_time"] + timeliness["late"]
    return Dashboard(
        this_month=_period(counts, year, month),
        previous_month=_period(counts, *months.previous),
        by_channel=_channels(counts, months),
        by_status=[
            StatusRow(status=status.value, label=STATUS_LABELS[status], count=by_status[status])
            for status in Status
            if by_status.get(status)
        ],
        overdue_open=int(late["overdue"]) if late else 0,
        past_deadline_open=int(late["breached"]) if late else 0,
        timeliness=Timeliness(
            on_time=timeliness["on_time"],
            late=timeliness["late"],
            open=timeliness["open"],
            on_time_share=round(timeliness["on_time"] / finished, 4) if finished else None,
        ),
        compliance=compliance,
        satisfaction=satisfaction,
        trend=[_period(counts, y, m) for y, m in months.trend()],
    )


@router.get("", responses=problems(422, 503))
async def dashboard(pool: Pool, settings: CurrentSettings, year: Year, month: Month) -> Dashboard:
    """One month against the one before: by channel, by status, timeliness, SOP, SKM, trend."""
    return await load(pool, settings, year, month)


def _legend(drawing: Drawing, x: int, y: int, pairs: list[tuple[Any, str]]) -> None:
    legend = Legend()
    legend.x, legend.y, legend.fontSize, legend.alignment = x, y, 8, "right"
    legend.colorNamePairs = pairs
    drawing.add(legend)


def _whole_steps(axis: Any, top: float) -> None:
    """Counts are whole: ticks at whole numbers, about five of them."""
    axis.valueMax = max(top, 1)
    axis.valueStep = max(1, math.ceil(top / 5))


def _horizontal(
    title: str, labels: list[str], series: list[list[float]], *, percent: bool = False
) -> Drawing:
    width = 520
    rows = max(len(labels), 1)
    height = 60 + rows * 14 * len(series)
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 150, 20
    chart.width, chart.height = width - 180, height - 50
    chart.data = [list(reversed(s)) or [0] for s in series]
    chart.categoryAxis.categoryNames = list(reversed(labels)) or ["-"]
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -6
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    _whole_steps(chart.valueAxis, 100 if percent else max(max(s, default=0) for s in series))
    for index, color in enumerate((PRIMARY, SECONDARY)[: len(series)]):
        chart.bars[index].fillColor = color
    drawing.add(chart)
    drawing.add(String(10, height - 14, title, fontSize=10))
    return drawing


def chart(name: str, board: Dashboard) -> Drawing:
    """One of the dashboard's charts."""
    this, previous = board.this_month.label, board.previous_month.label
    if name == "channels":
        drawing = _horizontal(
            f"Per kanal: {this} dan {previous}",
            [row.label for row in board.by_channel],
            [
                [row.this_month for row in board.by_channel],
                [row.previous_month for row in board.by_channel],
            ],
        )
        _legend(drawing, 380, int(drawing.height) - 6, [(PRIMARY, this), (SECONDARY, previous)])
        return drawing
    if name == "status":
        return _horizontal(
            f"Status pengaduan dan konsultasi yang diterima {this}",
            [row.label for row in board.by_status],
            [[row.count for row in board.by_status]],
        )
    if name == "compliance":
        return _horizontal(
            f"Kepatuhan waktu standar per langkah SOP (%) — {this}",
            [f"{row['number']}. {row['label']}"[:34] for row in board.compliance],
            [[round((row["within_standard_share"] or 0) * 100) for row in board.compliance]],
            percent=True,
        )
    drawing = Drawing(520, 240)
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = 40, 40, 460, 160
    bars.data = [[p.complaints for p in board.trend], [p.consultations for p in board.trend]]
    bars.categoryAxis.categoryNames = [f"{p.label[:3]} {str(p.year)[2:]}" for p in board.trend]
    bars.categoryAxis.labels.fontSize = 7
    bars.valueAxis.valueMin = 0
    bars.valueAxis.labels.fontSize = 7
    _whole_steps(bars.valueAxis, max(max(bars.data[0]), max(bars.data[1])))
    bars.bars[0].fillColor, bars.bars[1].fillColor = PRIMARY, SECONDARY
    drawing.add(bars)
    drawing.add(String(10, 224, "Dua belas bulan terakhir", fontSize=10))
    _legend(
        drawing,
        400,
        234,
        [(PRIMARY, KIND_LABELS[Kind.COMPLAINT]), (SECONDARY, KIND_LABELS[Kind.CONSULTATION])],
    )
    return drawing


@router.get(
    "/{name}.svg",
    responses=problems(422, 503) | {200: {"content": {"image/svg+xml": {}}}},
    response_class=Response,
)
async def dashboard_chart(
    pool: Pool, settings: CurrentSettings, name: Chart, year: Year, month: Month
) -> Response:
    """A dashboard chart as SVG: channels, status, trend or compliance."""
    board = await load(pool, settings, year, month)
    svg = renderSVG.drawToString(chart(name, board))
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "no-cache"})


Table = Annotated[
    Literal["channels", "status", "timeliness", "compliance", "trend"],
    Path(description="channels, status, timeliness, compliance atau trend"),
]
Format = Annotated[str, Path(pattern="^(csv|xlsx)$", description="csv atau xlsx")]


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def table(name: str, board: Dashboard) -> tuple[str, list[str], list[list[Any]]]:
    """One of the dashboard's tables: its title, header and rows."""
    this, previous = board.this_month.label, board.previous_month.label
    if name == "channels":
        rows: list[list[Any]] = [
            [row.label, row.this_month, row.previous_month] for row in board.by_channel
        ]
        return f"Per kanal — {this}", ["Kanal", this, previous], rows
    if name == "status":
        rows = [[row.label, row.count] for row in board.by_status]
        return f"Per status — diterima {this}", ["Status", "Jumlah"], rows
    if name == "timeliness":
        t = board.timeliness
        header = ["Selesai ≤ 14 hari kerja", "Terlambat", "Masih diproses", "Tepat waktu"]
        return (
            f"Ketepatan waktu — {this}",
            header,
            [[t.on_time, t.late, t.open, _share(t.on_time_share)]],
        )
    if name == "compliance":
        header = ["Langkah SOP", "Standar (menit)", "Jumlah", "Sesuai standar", "Median", "P90"]
        rows = [
            [
                f"{row['number']}. {row['label']}",
                row["standard_minutes"],
                row["count"],
                _share(row["within_standard_share"]),
                row["median_minutes"],
                row["p90_minutes"],
            ]
            for row in board.compliance
        ]
        return f"Kepatuhan langkah SOP — {this}", header, rows
    rows = [[p.label, p.complaints, p.consultations, p.total] for p in board.trend]
    return "Dua belas bulan terakhir", ["Bulan", "Pengaduan", "Konsultasi", "Jumlah"], rows


@router.get("/{name}.{fmt}", responses=problems(422, 503), response_class=Response)
async def dashboard_table(
    pool: Pool, settings: CurrentSettings, name: Table, fmt: Format, year: Year, month: Month
) -> Response:
    """A dashboard table as CSV or XLSX."""
    board = await load(pool, settings, year, month)
    title, header, rows = table(name, board)
    filename = f"dasbor-{name}-{year}-{month:02d}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response(
            exports.to_csv(header, rows), media_type=exports.CSV_TYPE, headers=disposition
        )
    content = exports.to_xlsx(title, header, rows)
    return Response(content, media_type=exports.XLSX_TYPE, headers=disposition)

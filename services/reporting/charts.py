"""The dashboard's charts, drawn on the server as SVG (reportlab): no script library, no network.
Drawn in the press's child (press.py), never in the service.

Shown at their own size (the page scrolls them sideways on a phone rather than shrinking
them), every text is at least MIN_FONT px: readable on the office's screens and projectors.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

from shared.sop import KIND_LABELS, Kind
from shared.survey import ELEMENTS

if TYPE_CHECKING:
    from services.reporting.dashboard import Dashboard

PRIMARY, SECONDARY = colors.HexColor("#1f6f8b"), colors.HexColor("#99c24d")
MIN_FONT, TITLE_FONT = 12, 14
WIDTH, ROW, LABELS = 680, 22, 250
NAMES = ("channels", "status", "categories", "compliance", "skm", "trend")


def _legend(drawing: Drawing, x: int, y: int, pairs: list[tuple[Any, str]]) -> None:
    legend = Legend()
    legend.x, legend.y, legend.fontSize, legend.alignment = x, y, MIN_FONT, "right"
    legend.columnMaximum, legend.deltax, legend.dxTextSpace = 1, 170, 6
    legend.colorNamePairs = pairs
    drawing.add(legend)


def _steps(axis: Any, top: float, *, whole: bool = True) -> None:
    """Ticks at whole numbers (counts), about five of them."""
    axis.valueMax = max(top, 1)
    axis.valueStep = max(1, math.ceil(top / 5)) if whole else max(top / 4, 0.25)


def horizontal(
    title: str, labels: list[str], series: list[list[float]], *, top: float | None = None
) -> Drawing:
    """Bars across, a row per label (and per series), the title above."""
    rows = max(len(labels), 1)
    height = 80 + rows * ROW * len(series)
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = LABELS, 30
    chart.width, chart.height = WIDTH - LABELS - 30, height - 80
    chart.data = [list(reversed(s)) or [0] for s in series]
    chart.categoryAxis.categoryNames = [label[:34] for label in reversed(labels)] or ["-"]
    chart.categoryAxis.labels.fontSize = MIN_FONT
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -6
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = MIN_FONT
    highest = max((max(s, default=0) for s in series), default=0)
    _steps(chart.valueAxis, top if top is not None else highest, whole=top is None or top > 10)
    for index, color in enumerate((PRIMARY, SECONDARY)[: len(series)]):
        chart.bars[index].fillColor = color
    drawing.add(chart)
    drawing.add(String(10, height - 22, title, fontSize=TITLE_FONT))
    return drawing


def trend(board: Dashboard) -> Drawing:
    """Complaints and consultations of the twelve months ending with this one."""
    drawing = Drawing(WIDTH, 300)
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = 50, 50, WIDTH - 70, 180
    bars.data = [[p.complaints for p in board.trend], [p.consultations for p in board.trend]]
    bars.categoryAxis.categoryNames = [f"{p.label[:3]} {str(p.year)[2:]}" for p in board.trend]
    bars.categoryAxis.labels.fontSize = MIN_FONT
    bars.categoryAxis.labels.angle = 30
    bars.categoryAxis.labels.boxAnchor = "ne"
    bars.valueAxis.valueMin = 0
    bars.valueAxis.labels.fontSize = MIN_FONT
    _steps(bars.valueAxis, max(*bars.data[0], *bars.data[1], 0))
    bars.bars[0].fillColor, bars.bars[1].fillColor = PRIMARY, SECONDARY
    drawing.add(bars)
    drawing.add(String(10, 276, "Dua belas bulan terakhir", fontSize=TITLE_FONT))
    pairs = [(PRIMARY, KIND_LABELS[Kind.COMPLAINT]), (SECONDARY, KIND_LABELS[Kind.CONSULTATION])]
    _legend(drawing, 330, 284, pairs)
    return drawing


def svg(name: str, board: Dashboard) -> str:
    """One of the dashboard's charts as SVG."""
    from reportlab.graphics import renderSVG

    drawn: str = renderSVG.drawToString(chart(name, board))
    return drawn


def chart(name: str, board: Dashboard) -> Drawing:
    """One of the dashboard's charts by name (NAMES)."""
    this, previous = board.this_month.label, board.previous_month.label
    if name == "channels":
        drawing = horizontal(
            f"Per kanal: {this} dan {previous}",
            [row.label for row in board.by_channel],
            [
                [row.this_month for row in board.by_channel],
                [row.previous_month for row in board.by_channel],
            ],
        )
        _legend(drawing, LABELS, int(drawing.height) - 32, [(PRIMARY, this), (SECONDARY, previous)])
        return drawing
    if name == "status":
        return horizontal(
            f"Status kasus yang diterima {this}",
            [row.label for row in board.by_status],
            [[row.count for row in board.by_status]],
        )
    if name == "categories":
        return horizontal(
            f"Pengaduan per kategori — {this}",
            [row.label for row in board.by_category],
            [[row.complaints for row in board.by_category]],
        )
    if name == "compliance":
        return horizontal(
            f"Langkah SOP sesuai waktu standar (%) — {this}",
            [f"{row['number']}. {row['label']}" for row in board.compliance],
            [[round((row["within_standard_share"] or 0) * 100) for row in board.compliance]],
            top=100,
        )
    if name == "skm":
        means = board.satisfaction.get("elements") or [0] * len(ELEMENTS)
        return horizontal(
            f"SKM per unsur (nilai rata-rata 1–4) — {this}",
            list(ELEMENTS),
            [[round(mean, 2) for mean in means]],
            top=4,
        )
    return trend(board)

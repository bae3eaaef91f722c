"""The monthly recap (SOP step 7) as files: an XLSX workbook and a PDF, each with a chart."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.reporting.exports import to_xlsx
from shared.channels import CHANNEL_LABELS, Channel
from shared.working_time import MONTHS


@dataclass(frozen=True)
class MonthFigures:
    """What the recap of one month says."""

    agency: str
    year: int
    month: int
    by_channel: dict[str, tuple[int, int]]  # channel -> (complaints, consultations)
    on_time: int
    late: int
    still_open: int
    compliance: list[dict[str, Any]]

    @property
    def title(self) -> str:
        """The recap's heading."""
        return f"Rekapitulasi Penanganan Pengaduan — {MONTHS[self.month - 1]} {self.year}"

    @property
    def complaints(self) -> int:
        """Complaints received in the month."""
        return sum(c for c, _ in self.by_channel.values())

    @property
    def consultations(self) -> int:
        """Consultations received in the month."""
        return sum(c for _, c in self.by_channel.values())

    def channel_rows(self) -> list[list[Any]]:
        """One row per channel that had any, then the totals."""
        rows: list[list[Any]] = [
            [
                CHANNEL_LABELS[Channel(channel)],
                complaints,
                consultations,
                complaints + consultations,
            ]
            for channel, (complaints, consultations) in sorted(self.by_channel.items())
        ]
        total = self.complaints + self.consultations
        return [*rows, ["Jumlah", self.complaints, self.consultations, total]]


HEADER = ["Kanal", "Pengaduan", "Konsultasi", "Jumlah"]
COMPLIANCE_HEADER = ["Langkah SOP", "Standar (menit)", "Jumlah", "Sesuai standar", "Median", "P90"]


def _compliance_rows(figures: MonthFigures) -> list[list[Any]]:
    def share(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.0f}%"

    return [
        [
            f"{row['number']}. {row['label']}",
            row["standard_minutes"],
            row["count"],
            share(row["within_standard_share"]),
            row["median_minutes"] if row["median_minutes"] is not None else "-",
            row["p90_minutes"] if row["p90_minutes"] is not None else "-",
        ]
        for row in figures.compliance
    ]


def workbook(figures: MonthFigures) -> bytes:
    """The recap as XLSX: the channel table with its chart (per-channel rows only)."""
    rows = figures.channel_rows()
    return to_xlsx(figures.title, HEADER, rows, chart_columns=2, chart_rows=len(rows) - 1)


def _chart(figures: MonthFigures) -> Drawing:
    rows = figures.channel_rows()[:-1] or [["-", 0, 0, 0]]
    drawing = Drawing(460, 220)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 40, 400, 150
    chart.data = [[row[1] for row in rows], [row[2] for row in rows]]
    chart.categoryAxis.categoryNames = [str(row[0]) for row in rows]
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#1f6f8b")
    chart.bars[1].fillColor = colors.HexColor("#99c24d")
    drawing.add(chart)
    drawing.add(String(40, 200, "Jumlah per kanal", fontSize=9))
    legend = Legend()
    legend.x, legend.y, legend.fontSize, legend.alignment = 300, 210, 8, "right"
    legend.colorNamePairs = [
        (chart.bars[0].fillColor, "Pengaduan"),
        (chart.bars[1].fillColor, "Konsultasi"),
    ]
    drawing.add(legend)
    return drawing


def pdf(figures: MonthFigures, produced_at: datetime) -> bytes:
    """The recap as PDF: heading, channel table, chart, timeliness, SOP compliance."""
    styles = getSampleStyleSheet()
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef2")),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
        ]
    )
    timeliness = (
        f"Selesai tepat waktu (≤ 14 hari kerja): {figures.on_time}; terlambat: {figures.late}; "
        f"masih diproses: {figures.still_open}."
    )
    story = [
        Paragraph(figures.title, styles["Title"]),
        Paragraph(
            f"Instansi: {figures.agency}. Dibuat {produced_at:%d-%m-%Y %H:%M} UTC.",
            styles["Normal"],
        ),
        Spacer(1, 12),
        Table([HEADER, *figures.channel_rows()], style=grid),
        Spacer(1, 12),
        _chart(figures),
        Paragraph(timeliness, styles["Normal"]),
        Spacer(1, 12),
        Paragraph("Kepatuhan terhadap standar waktu SOP (pengaduan)", styles["Heading3"]),
        Table([COMPLIANCE_HEADER, *_compliance_rows(figures)], style=grid),
    ]
    output = io.BytesIO()
    SimpleDocTemplate(output, pagesize=A4, title=figures.title).build(story)
    return output.getvalue()

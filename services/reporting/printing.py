"""A Letter (letter.py) as PDF (reportlab) and as XLSX (openpyxl): the same content in both.
Run in the press's child (press.py), never in the service."""

from __future__ import annotations

import io
import logging
import math
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from services.reporting.exports import write_cell
from services.reporting.letter import Letter, Section

log = logging.getLogger(__name__)

PRIMARY, SECONDARY = colors.HexColor("#1f6f8b"), colors.HexColor("#99c24d")
_BASE = getSampleStyleSheet()
STYLES = {
    "head": ParagraphStyle("head", _BASE["Normal"], fontSize=11, leading=14, alignment=TA_CENTER),
    "office": ParagraphStyle(
        "office",
        _BASE["Normal"],
        fontName="Helvetica-Bold",
        fontSize=13,
        leading=16,
        alignment=TA_CENTER,
    ),
    "small": ParagraphStyle("small", _BASE["Normal"], fontSize=9, leading=11, alignment=TA_CENTER),
    "title": ParagraphStyle(
        "title",
        _BASE["Normal"],
        fontName="Helvetica-Bold",
        fontSize=12,
        leading=15,
        alignment=TA_CENTER,
        spaceBefore=6,
    ),
    "centre": ParagraphStyle(
        "centre", _BASE["Normal"], fontSize=10, leading=13, alignment=TA_CENTER
    ),
    "mark": ParagraphStyle(
        "mark",
        _BASE["Normal"],
        fontName="Helvetica-Bold",
        fontSize=10,
        leading=13,
        textColor=colors.HexColor("#a61b1b"),
        alignment=TA_CENTER,
        spaceBefore=4,
    ),
    "heading": ParagraphStyle(
        "heading",
        _BASE["Normal"],
        fontName="Helvetica-Bold",
        fontSize=10.5,
        leading=13,
        spaceBefore=10,
        spaceAfter=4,
    ),
    "cell": ParagraphStyle("cell", _BASE["Normal"], fontSize=8.5, leading=10.5),
    "note": ParagraphStyle(
        "note",
        _BASE["Normal"],
        fontName="Helvetica-Oblique",
        fontSize=8.5,
        leading=10.5,
        spaceBefore=3,
    ),
    "sign": ParagraphStyle("sign", _BASE["Normal"], fontSize=10, leading=13),
    "footer": ParagraphStyle("footer", _BASE["Normal"], fontSize=8, leading=10),
}


def _text(value: Any, style: str = "cell") -> Paragraph:
    return Paragraph(escape("" if value is None else str(value)), STYLES[style])


def _logo(path: str, size: float) -> Flowable | None:
    if not path:
        return None
    if not Path(path).is_file():
        log.warning("office logo %s not found; the letterhead goes without it", path)
        return None
    return Image(path, width=size, height=size, kind="proportional")


def _letterhead(letter: Letter, width: float) -> list[Flowable]:
    lines = letter.office.letterhead()
    styles = ["head", "office"] + ["small"] * (len(lines) - 2)
    text = [
        Paragraph(escape(line), STYLES[style]) for line, style in zip(lines, styles, strict=False)
    ]
    logo = _logo(letter.office.logo_path, 2.2 * cm)
    cells = [[logo or "", text, ""]]
    head = Table(cells, colWidths=[2.6 * cm, width - 5.2 * cm, 2.6 * cm])
    head.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, 0), 1.6, colors.black),
            ]
        )
    )
    return [head, Spacer(1, 8)]


def _table(section: Section, width: float) -> Table:
    header = [_text(name) for name in section.header]
    rows = [[_text(cell) for cell in row] for row in section.rows]
    weights = section.weights or (3.0, *[1.0] * (len(section.header) - 1))
    widths = [width * w / sum(weights) for w in weights]
    table = Table(
        [header, *rows] if rows else [header, [_text("Tidak ada.")]], colWidths=widths, repeatRows=1
    )
    style: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef2")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if section.total_row and rows:
        style.append(("BACKGROUND", (0, len(rows)), (-1, len(rows)), colors.HexColor("#f3f3f3")))
    table.setStyle(TableStyle(style))
    return table


def _bars(section: Section) -> Drawing:
    rows = (section.rows[:-1] if section.total_row else section.rows) or [["-", 0, 0]]
    drawing = Drawing(460, 210)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 45, 400, 140
    chart.data = [[row[1] for row in rows], [row[2] for row in rows]]
    chart.categoryAxis.categoryNames = [str(row[0])[:18] for row in rows]
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.angle = 20 if len(rows) > 4 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(rows) > 4 else "n"
    chart.valueAxis.valueMin = 0
    top = max([*chart.data[0], *chart.data[1], 1])
    chart.valueAxis.valueMax, chart.valueAxis.valueStep = top, max(1, math.ceil(top / 5))
    chart.valueAxis.labels.fontSize = 8
    chart.bars[0].fillColor, chart.bars[1].fillColor = PRIMARY, SECONDARY
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y, legend.fontSize, legend.alignment = 40, 205, 8, "right"
    legend.columnMaximum, legend.deltax = 1, 90
    legend.colorNamePairs = [(PRIMARY, section.header[1]), (SECONDARY, section.header[2])]
    drawing.add(legend)
    return drawing


def _signature(letter: Letter, width: float) -> list[Flowable]:
    lines = [Paragraph(escape(line) or "&nbsp;", STYLES["sign"]) for line in letter.signature()]
    block = Table([["", lines]], colWidths=[width * 0.5, width * 0.5])
    return [Spacer(1, 14), KeepTogether(block)]


def printed(letter: Letter, fmt: str) -> bytes:
    """The letter as PDF or XLSX (in the press's child: press.py)."""
    return pdf(letter) if fmt == "pdf" else workbook(letter)


def pdf(letter: Letter) -> bytes:
    """The letter as PDF: letterhead, title, sections with notes, signature, footer."""
    size = landscape(A4) if letter.landscape else A4
    width = size[0] - 3.6 * cm
    story: list[Flowable] = _letterhead(letter, width)
    story.append(Paragraph(escape(letter.title), STYLES["title"]))
    story += [Paragraph(escape(line), STYLES["centre"]) for line in letter.subtitle]
    if letter.mark:
        story.append(Paragraph(escape(letter.mark), STYLES["mark"]))
    for section in letter.sections:
        story.append(Paragraph(escape(section.heading), STYLES["heading"]))
        story.append(_table(section, width))
        if section.chart:
            story.append(_bars(section))
        if section.note:
            story.append(Paragraph(escape(section.note), STYLES["note"]))
    if letter.signed:
        story += _signature(letter, width)
    story.append(Spacer(1, 10))
    story += [Paragraph(escape(line), STYLES["footer"]) for line in [*letter.footer, letter.made()]]

    def number_page(canvas: Any, doc: Any) -> None:
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(size[0] - 1.8 * cm, 1.0 * cm, f"Halaman {doc.page}")

    output = io.BytesIO()
    document = SimpleDocTemplate(
        output,
        pagesize=size,
        title=f"{letter.title} {letter.subtitle[0] if letter.subtitle else ''}",
        author=letter.office.name,
        leftMargin=1.8 * cm,
        rightMargin=1.8 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
    )
    document.build(story, onFirstPage=number_page, onLaterPages=number_page)
    return output.getvalue()


def workbook(letter: Letter) -> bytes:
    """The letter as XLSX: the same lines and tables as the PDF; a wide table (a section with
    a sheet of its own) on its own sheet under the letter's title."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Rekap"
    cursor = _lines(sheet, 1, letter.office.letterhead(), bold_first=2)
    heading = [letter.title, *letter.subtitle, *([letter.mark] if letter.mark else [])]
    cursor = _lines(sheet, cursor + 1, heading, bold_first=1)
    for section in letter.sections:
        if section.sheet:
            own = book.create_sheet(section.sheet)
            _section(own, _lines(own, 1, heading, bold_first=1) + 1, section)
            _widths(own)
        else:
            cursor = _section(sheet, cursor + 1, section)
    if letter.signed:
        cursor = _lines(sheet, cursor + 1, letter.signature(), column=3)
    _lines(sheet, cursor + 1, [*letter.footer, letter.made()])
    _widths(sheet)
    _sheet_logo(sheet, letter.office.logo_path)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def _lines(sheet: Any, row: int, lines: list[str], *, bold_first: int = 0, column: int = 1) -> int:
    for n, line in enumerate(lines):
        cell = sheet.cell(row=row + n, column=column)
        write_cell(cell, line)
        if n < bold_first:
            cell.font = Font(bold=True, size=12)
    return row + len(lines)


def _section(sheet: Any, row: int, section: Section) -> int:
    write_cell(sheet.cell(row=row, column=1), section.heading)
    sheet.cell(row=row, column=1).font = Font(bold=True)
    for column, name in enumerate(section.header, start=1):
        write_cell(sheet.cell(row=row + 1, column=column), name)
        sheet.cell(row=row + 1, column=column).font = Font(bold=True)
    for n, values in enumerate(section.rows, start=row + 2):
        for column, value in enumerate(values, start=1):
            write_cell(sheet.cell(row=n, column=column), value)
    end = row + 2 + len(section.rows)
    if section.chart and section.rows:
        _sheet_chart(sheet, section, header_row=row + 1)
    if section.note:
        write_cell(sheet.cell(row=end, column=1), section.note)
        sheet.cell(row=end, column=1).font = Font(italic=True)
        end += 1
    return end


def _sheet_chart(sheet: Any, section: Section, *, header_row: int) -> None:
    count = len(section.rows) - (1 if section.total_row else 0)
    chart = BarChart()
    chart.title = section.heading
    chart.y_axis.title = "Jumlah"
    data = Reference(sheet, min_col=2, max_col=3, min_row=header_row, max_row=header_row + count)
    labels = Reference(sheet, min_col=1, min_row=header_row + 1, max_row=header_row + count)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(labels)
    chart.height, chart.width = 7, 14
    sheet.add_chart(chart, f"H{header_row}")


def _widths(sheet: Any) -> None:
    for column in sheet.columns:
        values = [len(str(cell.value)) for cell in column if cell.value is not None]
        longest = max(values, default=8)
        letter = get_column_letter(column[0].column or 1)
        sheet.column_dimensions[letter].width = min(max(longest + 2, 10), 45)


def _sheet_logo(sheet: Any, path: str) -> None:
    if path and Path(path).is_file():
        image = SheetImage(path)
        image.width, image.height = round(60 * image.width / max(image.height, 1)), 60
        sheet.add_image(image, "G1")

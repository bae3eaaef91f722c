"""Tables as files: CSV and XLSX for any rekap query, the multi-year table, case lists.

Every file the system writes goes through `to_csv` or `to_xlsx`, and every cell through
`csv_value` or `write_cell` (shared/spreadsheets.py), so text someone typed can never become a
formula in a spreadsheet program.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from shared.spreadsheets import csv_value, formula_like, to_csv, write_cell

__all__ = ["csv_value", "formula_like", "to_csv", "to_xlsx", "write_cell"]

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_xlsx(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    chart_columns: int = 0,
    chart_rows: int | None = None,
) -> bytes:
    """A one-sheet workbook: a title, a bold header, the rows; optionally a bar chart of the
    first `chart_rows` rows (all by default) and `chart_columns` value columns. Made by the
    press (press.py: openpyxl is loaded in its child, not in the service)."""
    from services.reporting.press import press

    made: bytes = press(
        "services.reporting.exports:workbook", title, header, rows, chart_columns, chart_rows
    )
    return made


def workbook(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    chart_columns: int,
    chart_rows: int | None,
) -> bytes:
    """`to_xlsx`'s workbook, in the press's child."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Rekap"
    for row_number, values in enumerate([[title], header, *rows], start=1):
        for column_number, value in enumerate(values, start=1):
            write_cell(sheet.cell(row=row_number, column=column_number), value)
    sheet["A1"].font = Font(bold=True, size=13)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for column in sheet.columns:
        width = max(len(str(cell.value or "")) for cell in column[1:]) if len(column) > 1 else 10
        letter = get_column_letter(column[0].column or 1)
        sheet.column_dimensions[letter].width = min(max(width + 2, 10), 40)
    if chart_columns and rows:
        _chart(sheet, title, len(rows) if chart_rows is None else chart_rows, chart_columns)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def _chart(sheet: Any, title: str, row_count: int, columns: int) -> None:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.utils import get_column_letter

    chart = BarChart()
    chart.title = title
    chart.y_axis.title = "Jumlah"
    data = Reference(sheet, min_col=2, max_col=1 + columns, min_row=2, max_row=2 + row_count)
    categories = Reference(sheet, min_col=1, min_row=3, max_row=2 + row_count)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    chart.height, chart.width = 9, 18
    sheet.add_chart(chart, f"{get_column_letter(columns + 3)}3")

"""Tables as files: CSV and XLSX for any rekap query, the multi-year table, case lists."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """A CSV with a header row, UTF-8 with BOM so spreadsheet programs read it right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def to_xlsx(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    chart_columns: int = 0,
    chart_rows: int | None = None,
) -> bytes:
    """A one-sheet workbook: a title, a bold header, the rows; optionally a bar chart of the
    first `chart_rows` rows (all by default) and `chart_columns` value columns."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Rekap"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(list(header))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(value) for value in row])
    for column in sheet.columns:
        width = max(len(str(cell.value or "")) for cell in column[1:]) if len(column) > 1 else 10
        letter = get_column_letter(column[0].column or 1)
        sheet.column_dimensions[letter].width = min(max(width + 2, 10), 40)
    if chart_columns and rows:
        _chart(sheet, title, len(rows) if chart_rows is None else chart_rows, chart_columns)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def _cell(value: Any) -> Any:
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _chart(sheet: Any, title: str, row_count: int, columns: int) -> None:
    chart = BarChart()
    chart.title = title
    chart.y_axis.title = "Jumlah"
    data = Reference(sheet, min_col=2, max_col=1 + columns, min_row=2, max_row=2 + row_count)
    categories = Reference(sheet, min_col=1, min_row=3, max_row=2 + row_count)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    chart.height, chart.width = 9, 18
    sheet.add_chart(chart, f"{get_column_letter(columns + 3)}3")

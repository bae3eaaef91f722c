"""Cells of spreadsheet files written for people: text someone typed (an answer, a register's
label, a reason) can never become a formula in a spreadsheet program (OWASP "CSV injection").
Numbers and dates stay what they are. Every CSV and XLSX the system writes goes through these.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # openpyxl is imported on a file's first cell (exports are rare; it is large)
    from openpyxl.cell.cell import Cell, MergedCell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is read as a formula (OWASP's list)."""
_INERT = re.compile(r"-|[-+]?\d+(?:[.,]\d+)?")  # a lone dash or a plain number: never a formula


def formula_like(text: str) -> bool:
    """Whether a spreadsheet program could read this text as a formula."""
    return text.startswith(FORMULA_STARTS) and _INERT.fullmatch(text) is None


def csv_value(value: Any) -> Any:
    """A value as a CSV cell: None empty, formula-like text behind a single quote."""
    if value is None:
        return ""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """A CSV with a header row, UTF-8 with BOM so spreadsheet programs read it right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_value(name) for name in header])
    writer.writerows([csv_value(value) for value in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def write_cell(cell: Cell | MergedCell, value: Any) -> None:
    """Write one XLSX cell: text always as text (never a formula or an error code)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)  # openpyxl refuses them
        cell.data_type = "s"
        if formula_like(value):
            cell.quotePrefix = True  # stays text when someone edits the cell
        return
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    cell.value = value

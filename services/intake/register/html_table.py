"""A register exported as an HTML table under a spreadsheet's name (many applications' "Excel"
export is a web page named `.xls`): its largest table, laid out as a spreadsheet shows it.

A cell spanning columns (`colspan`) fills them, its text in the first; a cell spanning rows
(`rowspan`) holds its place in the rows below and is recorded as merged down, as a workbook's
merged cell is (`Sheet.spread`). Line breaks (`<br>`, paragraphs) stay in the cell's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

LOOKS_LIKE_HTML = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|table|head|body|meta)\b",
                             re.I | re.S)  # fmt: skip
"""The start of a web page (after a byte-order mark)."""
_BREAKS = {"br", "p", "div", "li"}
_MOST_SPAN = 1000  # a span larger than any register has is a fault of the file: cut to this


@dataclass
class _Table:
    rows: list[list[tuple[str, int, int]]] = field(default_factory=list)  # text, colspan, rowspan


class _Tables(HTMLParser):
    """Collects every table's rows of cells (a table inside a cell is a table of its own)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._open: list[_Table] = []
        self._cell: list[str] | None = None
        self._spans = (1, 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._close_cell()
            table = _Table()
            self.tables.append(table)
            self._open.append(table)
        elif not self._open:
            return
        elif tag == "tr":
            self._close_cell()
            self._open[-1].rows.append([])
        elif tag in ("td", "th"):
            self._close_cell()
            named = dict(attrs)
            self._spans = (_span(named.get("colspan")), _span(named.get("rowspan")))
            self._cell = []
        elif tag in _BREAKS and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "tr"):
            self._close_cell()
        elif tag == "table" and self._open:
            self._close_cell()
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _close_cell(self) -> None:
        if self._cell is None or not self._open:
            self._cell = None
            return
        table = self._open[-1]
        if not table.rows:
            table.rows.append([])
        lines = "".join(self._cell).replace("\xa0", " ").split("\n")
        text = "\n".join(" ".join(line.split()) for line in lines).strip()
        table.rows[-1].append((text, *self._spans))
        self._cell = None


def _span(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), _MOST_SPAN)
    except ValueError:
        return 1


def read_html(
    text: str,
) -> tuple[list[tuple[int, tuple[str | None, ...]]], list[tuple[int, int, int]]]:
    """The largest table's rows (numbered from 1, each a tuple of cells, None where empty) and
    its cells merged down (first row, last row, column index)."""
    parser = _Tables()
    parser.feed(text)
    parser.close()
    if not parser.tables:
        return [], []
    table = max(parser.tables, key=lambda t: len(t.rows))
    grid: list[list[str | None]] = []
    held: dict[int, int] = {}  # column -> rows a cell above still spans
    merged = []
    for number, cells in enumerate(table.rows, start=1):
        row: list[str | None] = []
        column = 0
        for text, colspan, rowspan in cells:
            while held.get(column, 0) > 0:
                row.append(None)
                column += 1
            row += [text or None] + [None] * (colspan - 1)
            if rowspan > 1:
                merged.append((number, number + rowspan - 1, column))
                for spanned in range(column, column + colspan):
                    held[spanned] = rowspan
            column += colspan
        while any(held.get(c, 0) > 0 for c in range(column, max(held, default=-1) + 1)):
            row.append(None)
            column += 1
        for spanned in list(held):
            held[spanned] -= 1
        grid.append(row)
    return [(n, tuple(row)) for n, row in enumerate(grid, start=1)], merged

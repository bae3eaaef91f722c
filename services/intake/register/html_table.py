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

LOOKS_LIKE_HTML = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--(?:(?!-->).)*-->\s*)*"
    r"<(?:!doctype\s+html|html|table|head|body|meta|style|title|link|script)\b",
    re.I | re.S,
)
"""The start of a web page (an XML declaration, comments, then a page's first tag; an export
that starts with its styles or title is a page too)."""
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


Rows = list[tuple[int, tuple[str | None, ...]]]
Merges = list[tuple[int, int, int]]


def read_html(text: str) -> tuple[Rows, Merges]:
    """The register's rows (numbered from 1, each a tuple of cells, None where empty) and its
    cells merged down (first row, last row, column index): the largest table, and with it
    every other table of the same header (a register exported a month or a printed page per
    table), in the page's order."""
    parser = _Tables()
    parser.feed(text)
    parser.close()
    if not parser.tables:
        return [], []
    largest = max(parser.tables, key=lambda t: len(t.rows))
    header = _header(largest)
    tables = [t for t in parser.tables if t is largest or (header and _header(t) == header)]
    rows: Rows = []
    merged: Merges = []
    for index, table in enumerate(tables):
        grid, downs = _laid_out(table)
        if index:  # the same register again: from its header on (its title is no row of it)
            start = next(n for n, cells in enumerate(table.rows) if _filled(cells) >= 3)
            grid = grid[start:]
            downs = [(a - start, b - start, c) for a, b, c in downs if a > start]
        offset = len(rows)
        rows += [(offset + n, row) for n, row in enumerate(grid, start=1)]
        merged += [(offset + first, offset + last, column) for first, last, column in downs]
    return rows, merged


def _header(table: _Table) -> tuple[str, ...]:
    """A table's first row of three or more filled cells (its header), as its words."""
    for cells in table.rows:
        if _filled(cells) >= 3:
            return tuple(" ".join(text.lower().split()) for text, _, _ in cells)
    return ()


def _filled(cells: list[tuple[str, int, int]]) -> int:
    return sum(bool(text) for text, _, _ in cells)


def _laid_out(table: _Table) -> tuple[list[tuple[str | None, ...]], Merges]:
    """The table's rows as a spreadsheet shows them, and its cells spanning rows."""
    grid: list[tuple[str | None, ...]] = []
    held: dict[int, int] = {}  # column -> rows a cell above still spans (this one included)
    merged: Merges = []
    for number, cells in enumerate(table.rows, start=1):
        row: list[str | None] = []
        for text, colspan, rowspan in cells:
            while held.get(len(row), 0) > 0:
                row.append(None)
            column = len(row)
            row += [text or None] + [None] * (colspan - 1)
            if rowspan > 1:
                merged.append((number, number + rowspan - 1, column))
                for spanned in range(column, column + colspan):
                    held[spanned] = rowspan
        rest = max(held, default=-1)  # columns held further right: empty cells up to them
        row += [None] * (rest + 1 - len(row))
        held = {column: left - 1 for column, left in held.items() if left > 1}
        grid.append(tuple(row))
    return grid, merged

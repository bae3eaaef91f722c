"""What an import (or its dry run) tells the office: first the totals and each reason with
its count and a few example rows, then, in a file (CSV, XLSX or JSON), every row's issues.

A register of ten thousand rows can carry thousands of warnings: the screen shows the summary
only, so the rejections are never buried; the file holds the row-by-row detail.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from services.intake.register.cells import Issue
from shared.spreadsheets import to_csv, write_cell

EXAMPLES = 3  # example rows shown per reason
REPORT_HEADER = ("Baris", "Kolom", "Tingkat", "Kode", "Keterangan")
REPORT_SUFFIXES = (".csv", ".xlsx", ".json")


@dataclass
class Report:
    """Counts and issues of one run over one file."""

    file: str
    dry_run: bool
    header_row: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # field -> header
    unmapped: tuple[str, ...] = ()
    rows: int = 0  # data rows read (blank rows not counted)
    blank: int = 0
    fit: set[int] = field(default_factory=set)  # the rows fit to import, each identity once
    duplicates: int = 0  # repeats of an earlier row of the file, skipped
    rejected: int = 0
    imported: int = 0  # stored by this run
    already: int = 0  # stored by an earlier run
    issues: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> int:
        """Rows fit to import, each once."""
        return len(self.fit)

    @property
    def warned_rows(self) -> int:
        """Rows fit to import with at least one warning (of those skipped or rejected, their
        warnings are in the report, not in this count)."""
        return len({issue.row for issue in self.issues if not issue.rejected} & self.fit)

    def rejected_rows(self) -> list[int]:
        """The numbers of the rejected rows."""
        return sorted({issue.row for issue in self.issues if issue.rejected})

    def lines(self) -> list[str]:
        """What the office reads first: the totals, the columns found, then each reason with
        its count and example rows, rejections first and the most frequent first."""
        mapped = ", ".join(f"{key}={header!r}" for key, header in self.columns.items())
        head = [
            self.summary(),
            f"Berkas {self.file}: judul kolom di baris {self.header_row}; {mapped}.",
        ]
        if self.unmapped:
            kept = ", ".join(repr(header) for header in self.unmapped)
            head.append(f"Kolom lain ({kept}) disimpan tersegel bersama isi pengaduan.")
        return head + self.reasons()

    def reasons(self) -> list[str]:
        """One line per reason: how many rows, what it means (its first message), examples."""
        groups: dict[tuple[bool, str], list[Issue]] = defaultdict(list)
        for issue in sorted(self.issues, key=lambda issue: issue.row):
            groups[(issue.rejected, issue.code)].append(issue)
        ordered = sorted(groups.items(), key=lambda item: (not item[0][0], -len(item[1])))
        lines = []
        for (rejected, code), issues in ordered:
            level = "DITOLAK" if rejected else "peringatan"
            first, others = issues[0], [str(issue.row) for issue in issues[1:EXAMPLES]]
            more = len(issues) - 1 - len(others)
            also = ", ".join(others) + (f" dan {more} lainnya" if more else "")
            lines.append(
                f"- {level} ({code}), {len(issues)} baris; contoh baris {first.row}: "
                f"{first.message}" + (f"; juga baris {also}" if also else "")
            )
        return lines

    def write(self, path: Path) -> None:
        """Every issue of every row, in the file's format by its suffix (CSV, XLSX or JSON)."""
        if path.suffix.lower() == ".json":
            path.write_text(json.dumps(self.as_json(), ensure_ascii=False, indent=1))
            return
        rows = [
            (issue.row, issue.column, "ditolak" if issue.rejected else "peringatan",
             issue.code, issue.message)
            for issue in sorted(self.issues, key=lambda issue: (issue.row, not issue.rejected))
        ]  # fmt: skip
        if path.suffix.lower() == ".xlsx":
            book = Workbook()
            sheet = book.active
            assert sheet is not None
            sheet.title = "Laporan impor"
            for number, values in enumerate([REPORT_HEADER, *rows], start=1):
                for column, value in enumerate(values, start=1):
                    write_cell(sheet.cell(row=number, column=column), value)
            book.save(path)
            return
        path.write_bytes(to_csv(REPORT_HEADER, rows))

    def summary(self) -> str:
        """The closing line."""
        counts = (
            f"{self.rows} baris dibaca, {self.valid} layak diimpor "
            f"({self.warned_rows} baris dengan peringatan), {self.duplicates} duplikat dilewati, "
            f"{self.rejected} ditolak"
        )
        if self.dry_run:
            return f"Uji coba (tidak ada yang disimpan): {counts}."
        return (
            f"Impor selesai: {counts}; {self.imported} kasus baru disimpan, "
            f"{self.already} sudah ada dari impor sebelumnya."
        )

    def as_json(self) -> dict[str, Any]:
        """The report for tools."""
        counts = ("rows", "blank", "valid", "duplicates", "rejected", "imported", "already")
        return {
            "file": self.file,
            "dry_run": self.dry_run,
            "header_row": self.header_row,
            "columns": self.columns,
            "unmapped": list(self.unmapped),
            **{name: getattr(self, name) for name in counts},
            "issues": [vars(issue) for issue in sorted(self.issues, key=lambda i: i.row)],
        }

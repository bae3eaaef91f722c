"""What an import (or its dry run) tells the office: every rejected row and why, every
warning, and the totals; as lines in Bahasa Indonesia and as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.intake.register.cells import Issue


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
    valid: int = 0  # fit to import, each once
    duplicates: int = 0  # repeats of an earlier row of the file, skipped
    rejected: int = 0
    imported: int = 0  # stored by this run
    already: int = 0  # stored by an earlier run
    issues: list[Issue] = field(default_factory=list)

    @property
    def warned_rows(self) -> int:
        """Rows with at least one warning."""
        return len({issue.row for issue in self.issues if not issue.rejected})

    def rejected_rows(self) -> list[int]:
        """The numbers of the rejected rows."""
        return sorted({issue.row for issue in self.issues if issue.rejected})

    def lines(self) -> list[str]:
        """The report as the office reads it."""
        mapped = ", ".join(f"{key}={header!r}" for key, header in self.columns.items())
        head = [f"Berkas {self.file}: judul kolom di baris {self.header_row}; {mapped}."]
        if self.unmapped:
            kept = ", ".join(repr(header) for header in self.unmapped)
            head.append(f"Kolom lain ({kept}) disimpan tersegel bersama isi pengaduan.")
        ordered = sorted(self.issues, key=lambda issue: (issue.row, not issue.rejected))
        return head + [issue.line() for issue in ordered] + [self.summary()]

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

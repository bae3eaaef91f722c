"""The monthly recap (SOP step 7) as a letter, and any Letter as PDF and as XLSX.

Both files are drawn from the same Letter (letter.py): letterhead, number, period, the tables
per channel and per category, timeliness and SOP compliance with notes on what they count, the
month's cases without personal data, and the signature block.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.reporting.letter import Letter, Office, Section, long_date
from services.reporting.month import STEPS_NOTE, TIMELINESS_NOTE, UNCOUNTED, PublicCase, Timeliness
from shared.channels import CHANNEL_LABELS, Channel
from shared.working_time import MONTHS


@dataclass(frozen=True)
class MonthFigures:
    """What the recap of one month says."""

    agency: str
    office: Office
    year: int
    month: int
    by_channel: dict[str, tuple[int, int]]  # channel -> (complaints, consultations)
    by_category: list[dict[str, Any]]
    timeliness: Timeliness
    compliance: list[dict[str, Any]]
    cases: list[PublicCase]

    @property
    def period(self) -> str:
        """Oktober 2025."""
        return f"{MONTHS[self.month - 1]} {self.year}"

    @property
    def complaints(self) -> int:
        """Complaints received in the month."""
        return sum(c for c, _ in self.by_channel.values())

    @property
    def consultations(self) -> int:
        """Consultations received in the month."""
        return sum(c for _, c in self.by_channel.values())

    @property
    def fingerprint(self) -> str:
        """What changes when entries of the month are recorded late: the counts per channel
        and per category (not the statuses, which move on by themselves)."""
        return fingerprint(self.by_channel, self.by_category)

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


def fingerprint(by_channel: dict[str, tuple[int, int]], by_category: list[dict[str, Any]]) -> str:
    """A digest of a month's counts per channel and per category."""
    facts = [sorted(by_channel.items()), [sorted(row.items()) for row in by_category]]
    return hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()[:32]


HEADER = ["Kanal", "Pengaduan", "Konsultasi", "Jumlah"]
COMPLIANCE_HEADER = [
    "Langkah SOP",
    "Waktu standar (menit kerja)",
    "Langkah selesai",
    "Sesuai standar",
    "Median (menit kerja)",
]
CASES_NOTE = (
    "Tanpa data pribadi (nama, kontak dan isi pengaduan tidak dimuat); nomor tiket kasus yang "
    "dirahasiakan tidak ditampilkan. Status per tanggal rekap dibuat."
)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _category_rows(figures: MonthFigures) -> list[list[Any]]:
    rows = [
        [r["label"], r["complaints"], r["consultations"], r["total"]] for r in figures.by_category
    ]
    return [
        *rows,
        [
            "Jumlah",
            figures.complaints,
            figures.consultations,
            figures.complaints + figures.consultations,
        ],
    ]


def _timeliness_rows(t: Timeliness) -> list[list[Any]]:
    return [
        ["Selesai tepat waktu (paling lambat 14 hari kerja)", t.on_time],
        ["Selesai terlambat", t.late_closed],
        ["Belum selesai, sudah melewati 14 hari kerja (dihitung terlambat)", t.late_open],
        ["Belum selesai, masih dalam tenggat (belum dihitung)", t.running],
        [f"{UNCOUNTED} (tidak dihitung)", t.uncounted],
        ["Persentase tepat waktu", _share(t.share)],
    ]


def _compliance_rows(figures: MonthFigures) -> list[list[Any]]:
    return [
        [
            f"{row['number']}. {row['label']}",
            row["standard_minutes"],
            row["count"],
            _share(row["within_standard_share"]),
            "-" if row["median_minutes"] is None else row["median_minutes"],
        ]
        for row in figures.compliance
    ]


def _case_rows(cases: list[PublicCase]) -> list[list[Any]]:
    return [
        [
            n,
            case.tracking_code,
            "-" if case.received_at is None else f"{case.received_at:%d-%m-%Y}",
            case.channel,
            case.category,
            case.status,
        ]
        for n, case in enumerate(cases, start=1)
    ]


def _sections(figures: MonthFigures) -> list[Section]:
    t = figures.timeliness
    judged = f" Bulan ini: {t.on_time} tepat waktu dari {t.on_time + t.late} yang dapat dinilai."
    return [
        Section("A. Jumlah per kanal", HEADER, figures.channel_rows(), total_row=True, chart=True),
        Section(
            "B. Jumlah per kategori",
            ["Kategori", *HEADER[1:]],
            _category_rows(figures),
            total_row=True,
        ),
        Section(
            "C. Ketepatan waktu penyelesaian (14 hari kerja)",
            ["Keadaan", "Jumlah"],
            _timeliness_rows(t),
            note=TIMELINESS_NOTE + judged,
        ),
        Section(
            "D. Kepatuhan waktu standar per langkah SOP (pengaduan)",
            COMPLIANCE_HEADER,
            _compliance_rows(figures),
            note=STEPS_NOTE,
            sheet="Kepatuhan SOP",
        ),
        Section(
            "E. Daftar pengaduan dan konsultasi yang diterima",
            ["No.", "Nomor tiket", "Tanggal diterima", "Kanal", "Kategori", "Status"],
            _case_rows(figures.cases),
            note=CASES_NOTE,
            sheet="Daftar kasus",
            weights=(0.5, 1.3, 1.3, 1.5, 2.2, 1.2),
        ),
    ]


def recap_letter(
    figures: MonthFigures, produced_at: datetime, revised_from: datetime | None = None
) -> Letter:
    """The month's recap as the office signs and publishes it."""
    first = datetime(figures.year, figures.month, 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return Letter(
        office=figures.office,
        title="REKAPITULASI PENANGANAN PENGADUAN DAN KONSULTASI",
        subtitle=[
            f"Bulan {figures.period}",
            f"Nomor: {figures.office.number(figures.year, figures.month)}",
            f"Periode: {long_date(first.date())} s.d. {long_date(last.date())}",
        ],
        sections=_sections(figures),
        produced_at=produced_at,
        revised_from=revised_from,
    )

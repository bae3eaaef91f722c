"""A month's cases as the dashboard and the recap count them: one definition of every figure.

Each figure is a condition over `case_summary` (cases received in the month, in office time),
so a count and the list of cases behind it are the same query. Timeliness counts an open case
already past its 14-working-day deadline as late, not only closed ones: the on-time share is
on time / (on time + closed late + open past the deadline); open cases still within their
deadline and merged duplicates are not in it yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from shared.access import Facet, privacy_of, visible
from shared.categories import CATEGORIES
from shared.channels import CHANNEL_LABELS, Channel
from shared.db import Connection
from shared.problems import Problem
from shared.vocabulary import STATUS_LABELS, Group, Status, statuses
from shared.working_time import MONTHS

UNCATEGORISED = "Belum dikategorikan"
UNCOUNTED = "Digabung, arsip register lama, atau tanpa tanggal selesai"
"""Closed cases not judged on time: merged, archived from the register, or closed undated."""
PUNGLI = "pungli"


def _among(group: Group) -> str:
    return "status IN (" + ", ".join(f"'{status}'" for status in statuses(group)) + ")"


_OPEN = _among(Group.OPEN)
_DATED = f"{_among(Group.ANSWERED)} AND closed_at IS NOT NULL"
# Past the deadline: the clock said so, or the deadline passed before now (or before the case
# began waiting on the complainant, when the clock stopped).
_PAST = "(breached OR deadline_at < coalesce(waiting_since, $4))"


@dataclass(frozen=True)
class Figure:
    """A count the pages show and the cases behind it: a label and a condition on a case."""

    label: str
    condition: str
    month_bound: bool = True  # False: every open case, whenever it was received


FIGURES: dict[str, Figure] = {
    "all": Figure("Diterima", "true"),
    "complaints": Figure("Pengaduan", "kind = 'complaint'"),
    "consultations": Figure("Konsultasi", "kind = 'consultation'"),
    "on_time": Figure(
        "Selesai ≤ 14 hari kerja", f"{_DATED} AND (deadline_at IS NULL OR closed_at <= deadline_at)"
    ),
    "late_closed": Figure("Selesai terlambat", f"{_DATED} AND closed_at > deadline_at"),
    "late_open": Figure("Belum selesai, melewati 14 hari kerja", f"{_OPEN} AND {_PAST}"),
    "running": Figure("Belum selesai, masih dalam tenggat", f"{_OPEN} AND NOT {_PAST}"),
    "uncounted": Figure(UNCOUNTED, f"NOT ({_OPEN}) AND NOT ({_DATED})"),
    "overdue_open": Figure(
        "Melewati waktu standar langkah", f"{_OPEN} AND overdue AND NOT imported", False
    ),
    "breached_open": Figure(
        "Melewati tenggat 14 hari kerja", f"{_OPEN} AND {_PAST} AND NOT imported", False
    ),
    "imported_open": Figure("Tunggakan register lama", f"{_OPEN} AND imported", False),
}
"""Every figure by name; a name is what a drill-down link carries."""

TIMELINESS_NOTE = (
    "Ketepatan waktu dihitung dari pengaduan dan konsultasi yang diterima pada bulan ini: "
    "tepat waktu = selesai paling lambat 14 hari kerja sejak diterima; terlambat = selesai "
    "sesudah tenggat, ditambah yang belum selesai padahal tenggatnya sudah lewat. Yang belum "
    "selesai dan masih dalam tenggat belum dihitung; kasus yang digabung atau ditutup sebagai "
    "arsip register lama tidak dinilai."
)
STEPS_NOTE = (
    "Tabel langkah menghitung setiap langkah SOP yang diselesaikan pada bulan ini (menurut "
    "tanggal selesainya langkah, termasuk kasus bulan sebelumnya) terhadap waktu standar "
    "langkah itu; langkah yang belum dikerjakan tidak dihitung, sehingga angkanya dapat "
    "berbeda dari ketepatan waktu 14 hari kerja."
)


@dataclass(frozen=True)
class Timeliness:
    """Cases received in the month by where they stand against the 14 working days."""

    on_time: int
    late_closed: int
    late_open: int
    running: int
    uncounted: int

    @property
    def late(self) -> int:
        """Closed late and open past the deadline."""
        return self.late_closed + self.late_open

    @property
    def share(self) -> float | None:
        """On time among the cases whose outcome is known (None: none yet)."""
        decided = self.on_time + self.late
        return round(self.on_time / decided, 4) if decided else None


def bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    """The month as instants in the office's time zone."""
    zone = ZoneInfo(tz)
    end = (year + month // 12, month % 12 + 1)
    return datetime(year, month, 1, tzinfo=zone), datetime(*end, 1, tzinfo=zone)


def begun(year: int, month: int, tz: str) -> None:
    """Refuse a month that has not begun in the office's time zone (422): its dashboard was all
    zeros, as if nothing had come in, and its recap a numbered letter reporting nothing."""
    today = datetime.now(ZoneInfo(tz))
    if (year, month) > (today.year, today.month):
        raise Problem(
            422,
            f"Bulan {MONTHS[month - 1]} {year} belum dimulai: pilih bulan ini atau sebelumnya.",
            code="month-not-begun",
        )


_AGENCIES = "agency = ANY($1::text[])"
_SCOPE = f"{_AGENCIES} AND received_at >= $2 AND received_at < $3"


async def counts(
    conn: Connection, *, agencies: list[str], start: datetime, end: datetime, now: datetime
) -> dict[str, int]:
    """Every figure of the month (and the open ones of any month)."""
    month = " AND received_at >= $2 AND received_at < $3"
    columns = ", ".join(
        f"count(*) FILTER (WHERE {figure.condition}{month if figure.month_bound else ''}) AS {name}"
        for name, figure in FIGURES.items()
    )
    row = await conn.fetchrow(
        f"SELECT {columns} FROM case_summary WHERE {_AGENCIES}", agencies, start, end, now
    )
    return {name: int(row[name]) if row else 0 for name in FIGURES}


def timeliness(figures: dict[str, int]) -> Timeliness:
    """The timeliness part of the month's counts."""
    return Timeliness(
        on_time=figures["on_time"],
        late_closed=figures["late_closed"],
        late_open=figures["late_open"],
        running=figures["running"],
        uncounted=figures["uncounted"],
    )


async def by_category(
    conn: Connection, *, agencies: list[str], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Cases received in the month per category: complaints, consultations, both."""
    rows = await conn.fetch(
        "SELECT coalesce(category, '') AS category, count(*) FILTER (WHERE kind = 'complaint') "
        "AS complaints, count(*) FILTER (WHERE kind = 'consultation') AS consultations "
        f"FROM case_summary WHERE {_SCOPE} GROUP BY 1",
        agencies,
        start,
        end,
    )
    found = {row["category"]: row for row in rows}
    order = [*CATEGORIES, *sorted(set(found) - set(CATEGORIES))]
    return [
        {
            "category": key,
            "label": category_label(key),
            "complaints": int(found[key]["complaints"]),
            "consultations": int(found[key]["consultations"]),
            "total": int(found[key]["complaints"] + found[key]["consultations"]),
        }
        for key in order
        if key in found
    ]


def category_label(key: str | None) -> str:
    """A category's label; a register's own or none at all, as it is."""
    if not key:
        return UNCATEGORISED
    return CATEGORIES.get(key, key)


async def cases(
    conn: Connection,
    *,
    agencies: list[str],
    start: datetime,
    end: datetime,
    now: datetime,
    figure: str = "all",
    channel: str | None = None,
    category: str | None = None,
    status: str | None = None,
    limit: int = 5000,
) -> list[asyncpg.Record]:
    """The cases behind a figure, oldest first (no personal data: reporting holds none)."""
    chosen = FIGURES[figure]
    scope = _SCOPE if chosen.month_bound else _AGENCIES
    return await conn.fetch(
        "SELECT case_id, agency, tracking_code, received_at, kind, channel, category, status, "
        "current_step, sop_version, deadline_at, closed_at, anonymous, confidential "
        f"FROM case_summary WHERE {scope} AND $2::timestamptz IS NOT NULL "
        "AND $3::timestamptz IS NOT NULL AND $4::timestamptz IS NOT NULL "
        f"AND {chosen.condition} AND ($5::text IS NULL OR channel = $5) "
        "AND ($6::text IS NULL OR coalesce(category, '') = $6) "
        "AND ($8::text IS NULL OR status = $8) "
        "ORDER BY received_at, tracking_code LIMIT $7",
        agencies,
        start,
        end,
        now,
        channel,
        category,
        limit,
        status,
    )


@dataclass(frozen=True)
class PublicCase:
    """A case as a published list shows it: code, date, channel, category, status only."""

    tracking_code: str
    received_at: datetime | None  # None: not the public's to know (a confidential case)
    channel: str
    category: str
    status: str


HIDDEN = "Dirahasiakan"


def public_case(record: Any, tz: ZoneInfo) -> PublicCase:
    """A case row as the public may read it (the access policy's public row)."""
    facets = visible(
        None, privacy_of(anonymous=record["anonymous"], confidential=record["confidential"])
    )
    whole = Facet.CASE in facets
    return PublicCase(
        tracking_code=record["tracking_code"] if Facet.STATUS in facets else HIDDEN,
        received_at=record["received_at"].astimezone(tz) if whole else None,
        channel=CHANNEL_LABELS[Channel(record["channel"])] if whole else "-",
        category=category_label(record["category"]) if whole else "-",
        status=STATUS_LABELS[Status(record["status"])] if Facet.STATUS in facets else "-",
    )

"""The dashboard's tables as CSV or XLSX, with the page's Indonesian headings."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import Response

from services.reporting import exports
from services.reporting.api import CurrentSettings, Pool, Year
from services.reporting.dashboard import Dashboard, Month, load
from services.reporting.drawing import PublicPlace
from services.reporting.tenancy import PublicScope
from shared.problems import problems

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])


Table = Annotated[
    Literal["channels", "status", "categories", "timeliness", "compliance", "skm", "trend"],
    Path(description="channels, status, categories, timeliness, compliance, skm atau trend"),
]
Format = Annotated[str, Path(pattern="^(csv|xlsx)$", description="csv atau xlsx")]


TIMELINESS = ("on_time", "late_closed", "late_open", "running", "uncounted")
"""The timeliness figures, in the order the pages show them."""


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def table(name: str, board: Dashboard) -> tuple[str, list[str], list[list[Any]]]:
    """One of the dashboard's tables: its title, header and rows."""
    this, previous = board.this_month.label, board.previous_month.label
    if name == "channels":
        rows: list[list[Any]] = [
            [row.label, row.this_month, row.previous_month] for row in board.by_channel
        ]
        return f"Per kanal — {this}", ["Kanal", this, previous], rows
    if name == "status":
        rows = [[row.label, row.count] for row in board.by_status]
        return f"Per status — diterima {this}", ["Status", "Jumlah"], rows
    if name == "categories":
        header = ["Kategori", "Pengaduan", "Konsultasi", "Jumlah"]
        rows = [[r.label, r.complaints, r.consultations, r.total] for r in board.by_category]
        return f"Per kategori — diterima {this}", header, rows
    if name == "timeliness":
        t = board.timeliness
        rows = [[board.figures[key].label, board.figures[key].count] for key in TIMELINESS]
        rows.append(["Tepat waktu", _share(t.on_time_share)])
        return f"Ketepatan waktu — {this}", ["Keadaan", "Jumlah"], rows
    if name == "skm":
        rows = [[e.label, "-" if e.mean is None else round(e.mean, 2)] for e in board.skm_elements]
        return f"SKM per unsur — {this}", ["Unsur", "Nilai rata-rata (1–4)"], rows
    if name == "compliance":
        header = ["Langkah SOP", "Standar (menit)", "Jumlah", "Sesuai standar", "Median", "P90"]
        rows = [
            [
                f"{row['number']}. {row['label']}",
                row["standard_minutes"],
                row["count"],
                _share(row["within_standard_share"]),
                row["median_minutes"],
                row["p90_minutes"],
            ]
            for row in board.compliance
        ]
        return f"Kepatuhan langkah SOP — {this}", header, rows
    rows = [[p.label, p.complaints, p.consultations, p.total] for p in board.trend]
    return "Dua belas bulan terakhir", ["Bulan", "Pengaduan", "Konsultasi", "Jumlah"], rows


@router.get("/{name}.{fmt}", responses=problems(403, 404, 422, 429, 503), response_class=Response)
async def dashboard_table(
    place: PublicPlace,
    pool: Pool,
    settings: CurrentSettings,
    scope: PublicScope,
    name: Table,
    fmt: Format,
    year: Year,
    month: Month,
) -> Response:
    """A dashboard table as CSV or XLSX."""
    board = await load(pool, settings, scope, year, month)
    title, header, rows = table(name, board)
    filename = f"dasbor-{name}-{year}-{month:02d}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        csv = await place(partial(exports.to_csv, header, rows))
        return Response(csv, media_type=exports.CSV_TYPE, headers=disposition)
    content = await place(partial(exports.to_xlsx, title, header, rows))
    return Response(content, media_type=exports.XLSX_TYPE, headers=disposition)

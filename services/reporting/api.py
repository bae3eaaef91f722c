"""The reporting API: the rekap and public tracking."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from services.reporting import rekap
from shared import db
from shared.problems import Problem, problems
from shared.settings import Settings
from shared.sop import STATUS_LABELS, Kind, Status, sop_for
from shared.tracking_code import normalize

router = APIRouter(prefix="/v1", tags=["reporting"])


async def _pool(request: Request) -> db.Pool:
    pool: db.Pool = request.app.state.pool
    return pool


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Pool = Annotated[db.Pool, Depends(_pool)]
CurrentSettings = Annotated[Settings, Depends(_settings)]


class RekapRow(BaseModel):
    """Complaints and consultations received in one month by one channel."""

    month: int
    channel: str
    count: int


class Rekap(BaseModel):
    """Counts per month and channel for a year."""

    agency: str
    year: int
    rows: list[RekapRow]
    total: int


class Tracking(BaseModel):
    """What the public may know of a case: never personal data."""

    tracking_code: str
    status: str
    status_label: str
    kind: str | None = None
    current_step: str | None = None
    current_step_label: str | None = None
    received_at: datetime | None = None


@router.get("/rekap", responses=problems(422))
async def get_rekap(
    pool: Pool,
    settings: CurrentSettings,
    year: Annotated[int, Query(ge=2000, le=2100, description="Tahun")],
) -> Rekap:
    """Counts per month and channel for one year."""
    async with pool.acquire() as conn:
        records = await rekap.by_month_and_channel(conn, agency=settings.agency, year=year)
    rows = [RekapRow(**record) for record in records]
    return Rekap(agency=settings.agency, year=year, rows=rows, total=sum(r.count for r in rows))


@router.get("/track/{code}", responses=problems(404))
async def track(
    pool: Pool,
    settings: CurrentSettings,
    code: Annotated[str, Path(max_length=32, description="Nomor tiket, mis. 7K3M-9QXP")],
) -> Tracking:
    """Where a case stands, by its tracking code."""
    canonical = normalize(code)
    record = None
    if canonical is not None:
        async with pool.acquire() as conn:
            record = await rekap.tracked_case(conn, agency=settings.agency, tracking_code=canonical)
    if record is None:
        raise Problem(404, "Nomor tiket tidak ditemukan.", code="unknown-tracking-code")
    return _tracking(record, ZoneInfo(settings.timezone))


def _tracking(record: asyncpg.Record, tz: ZoneInfo) -> Tracking:
    status = Status(record["status"])
    public = Tracking(
        tracking_code=record["tracking_code"],
        status=status.value,
        status_label=STATUS_LABELS[status],
    )
    if record["confidential"]:
        return public
    step = record["current_step"]
    label = None
    if step and record["sop_version"]:
        label = sop_for(Kind(record["kind"]), record["sop_version"]).step(step).label
    return public.model_copy(
        update={
            "kind": record["kind"],
            "current_step": step,
            "current_step_label": label,
            "received_at": record["received_at"].astimezone(tz),
        }
    )

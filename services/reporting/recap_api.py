"""The monthly recap files (SOP step 7): look, download, produce again on demand."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

from services.reporting.api import CurrentSettings, Pool
from services.reporting.exports import XLSX_TYPE
from services.reporting.letter import Office
from services.reporting.reads import in_thread
from services.reporting.recaps import (
    MonthlyRekap,
    Recaps,
    month_figures,
    month_shape,
    office_of,
    produce_recap,
)
from services.reporting.tenancy import OfficerScope, PublicScope, Scope, agencies
from shared.agencies import Agency
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.problems import Problem, problems
from shared.sop import OFFICE_ROLES, PROVINCE, Role

router = APIRouter(prefix="/v1/recaps", tags=["recaps"])

Year = Annotated[int, Path(ge=2000, le=2100)]
Month = Annotated[int, Path(ge=1, le=12)]
PRODUCERS = frozenset({Role.TIM_PENGADUAN, Role.ADMIN, Role.KEPALA_DINAS, Role.SEKRETARIS})


async def _recaps(request: Request) -> Recaps:
    recaps: Recaps = request.app.state.recaps
    return recaps


RecapsDep = Annotated[Recaps, Depends(_recaps)]


class RecapInfo(BaseModel):
    """A produced recap, where its files are, and whether the month changed since."""

    year: int
    month: int
    number: str
    produced_at: datetime
    first_produced_at: datetime
    revision: int  # 0: the first edition; more: produced again ("diperbarui")
    outdated: bool  # entries of the month were recorded after it: to be produced again
    complaints: int
    consultations: int
    document_id: str
    xlsx_url: str
    pdf_url: str


def _info(recap: MonthlyRekap, office: Office, *, outdated: bool) -> RecapInfo:
    """What is said of a recap: the number its own agency's letterhead gives it, and its files'
    addresses naming that agency (a coordinator acting in another agency opened their own's)."""
    base = f"/reporting/v1/recaps/{recap.year}/{recap.month}"
    agency = f"?instansi={quote(recap.agency, safe='')}"
    return RecapInfo(
        year=recap.year,
        month=recap.month,
        number=office.number(recap.year, recap.month),
        produced_at=recap.produced_at,
        first_produced_at=recap.first_produced_at,
        revision=recap.revision,
        outdated=outdated,
        complaints=recap.complaints,
        consultations=recap.consultations,
        document_id=recap.document_id,
        xlsx_url=f"{base}/rekap.xlsx{agency}",
        pdf_url=f"{base}/rekap.pdf{agency}",
    )


async def _found(recaps: Recaps, agency: str, year: int, month: int) -> MonthlyRekap:
    recap = await in_thread(partial(recaps.get_recap, agency, year, month))
    if recap is None:
        raise Problem(404, "Rekap bulan ini belum dibuat.", code="unknown-recap")
    return recap


def _one(scope: Scope, officer: Officer | None = None) -> str:
    """The agency whose monthly recap is meant: a recap is an agency's own document (the
    officer's acting agency when their reach holds several and `instansi` names none)."""
    if len(scope.agencies) == 1 and not scope.province:
        return scope.agencies[0]
    if officer is not None and officer.agency != PROVINCE and scope.holds(officer.agency):
        return officer.agency
    raise Problem(
        422, "Rekap bulanan dibuat per instansi: pilih instansi (instansi=...).", code="agency"
    )


@router.get("/{year}/{month}", responses=problems(403, 404, 422, 429, 503))
async def get_recap(
    recaps: RecapsDep,
    pool: Pool,
    settings: CurrentSettings,
    request: Request,
    scope: PublicScope,
    year: Year,
    month: Month,
) -> RecapInfo:
    """Whether the month's recap of an agency (`instansi`; the home agency by default) was
    produced, when, and whether the month changed since."""
    agency = _one(scope)
    recap = await _found(recaps, agency, year, month)
    shape = await month_shape(pool, settings, year, month, agency)
    office = office_of(settings, (await agencies(request)).get(agency))
    return _info(recap, office, outdated=recap.outdated(shape))


@router.get(
    "/{year}/{month}/rekap.{fmt}",
    responses=problems(401, 403, 404, 422, 503),
    response_class=Response,
)
async def download(
    recaps: RecapsDep,
    officer: CurrentOfficer,
    scope: OfficerScope,
    year: Year,
    month: Month,
    fmt: Annotated[str, Path(pattern="^(xlsx|pdf)$")],
) -> Response:
    """The recap of one of the officer's agencies (`instansi`) as XLSX or PDF."""
    agency = _one(scope, officer)
    if officer.roles_in(agency).isdisjoint({*OFFICE_ROLES, Role.ANALIS}):
        raise Forbidden("Hanya petugas dan analis yang dapat mengunduh rekap.")
    recap = await _found(recaps, agency, year, month)
    files = await in_thread(partial(recaps.files, recap.document_id))
    if files is None:
        raise Problem(404, "Berkas rekap tidak ditemukan.", code="unknown-recap")
    content, media = (files[0], XLSX_TYPE) if fmt == "xlsx" else (files[1], "application/pdf")
    name = f"rekap-{year}-{month:02d}.{fmt}"
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/{year}/{month}", responses=problems(401, 403, 404, 409, 422, 503))
async def produce(
    recaps: RecapsDep,
    pool: Pool,
    settings: CurrentSettings,
    request: Request,
    officer: CurrentOfficer,
    scope: OfficerScope,
    year: Year,
    month: Month,
) -> RecapInfo:
    """Produce the month's recap of one of the officer's agencies (`instansi`) now (again, if
    it was produced before)."""
    agency = _one(scope, officer)
    if officer.roles_in(agency).isdisjoint(PRODUCERS):
        raise Forbidden("Peran ini tidak dapat membuat rekap.")
    of = (await agencies(request)).get(agency) or Agency(id=agency, name=agency)  # unregistered
    figures = await month_figures(pool, settings, year, month, of)
    recap = await produce_recap(recaps, figures, "on_demand", datetime.now(UTC))
    if recap is None:
        raise Problem(
            409, "Rekap bulan ini sedang dibuat oleh permintaan lain.", code="recap-conflict"
        )
    return _info(recap, figures.office, outdated=False)

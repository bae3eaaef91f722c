"""The agencies a province's deployment serves, managed by the provincial administrator.

Everyone signed in reads them (names, units, office hours, letterhead, channel addresses); only
an administrator of the province (a membership in `*` with the admin role) registers or changes
one. Each is written through shared.agencies.save, the one table every service reads.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from services.workflow.cases import Cases
from shared import agencies, db
from shared.agencies import Agency, Channels, Letterhead
from shared.auth import CurrentOfficer, Forbidden
from shared.problems import Problem, problems
from shared.sop import PROVINCE, SOPS, Role

router = APIRouter(prefix="/v1/agencies", tags=["agencies"])

AgencyPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="Id instansi")]


def _cases(request: Request) -> Cases:
    cases: Cases = request.app.state.cases
    return cases


async def _known(request: Request) -> dict[str, Agency]:
    cases = _cases(request)
    cached = cases.cached_agencies()
    return cached if cached is not None else await cases.guard.call(cases.agencies)


def _invalid(field: str, message: str) -> Problem:
    error = {"field": field, "code": "invalid", "message": message}
    return Problem(422, f"Periksa kembali: {field}.", code="validation", errors=[error])


def _check_addresses(channels: Channels) -> None:
    """422 for an address that is no address of its kind (shared/agencies.py)."""
    errors = [
        {"field": f"channels.{kind}", "code": "invalid", "message": reason}
        for kind, reason in channels.invalid()
    ]
    if errors:
        fields = ", ".join(error["field"] for error in errors)
        raise Problem(422, f"Periksa kembali: {fields}.", code="validation", errors=errors)


class AgencyOut(BaseModel):
    """An agency as the API shows it (office hours as HH:MM:SS, local time)."""

    id: str
    name: str
    units: list[str]
    hours: dict[int, tuple[str, str]]  # weekday (0 = Monday) -> opening, closing
    sop_versions: dict[str, str]
    letterhead: Letterhead
    channels: Channels

    @classmethod
    def of(cls, agency: Agency) -> "AgencyOut":
        """The view of an agency."""
        return cls.model_validate(agency.model_dump(mode="json"))


@router.get("", responses=problems(401, 503))
async def list_agencies(officer: CurrentOfficer, request: Request) -> list[AgencyOut]:
    """Every agency the deployment serves."""
    return [AgencyOut.of(agency) for agency in (await _known(request)).values()]


@router.get("/{agency_id}", responses=problems(401, 404, 503))
async def get_agency(agency_id: AgencyPath, officer: CurrentOfficer, request: Request) -> AgencyOut:
    """One agency."""
    known = await _known(request)
    if agency_id not in known:
        raise Problem(404, "Instansi tidak ditemukan.", code="unknown-agency")
    return AgencyOut.of(known[agency_id])


@router.put("/{agency_id}", responses=problems(401, 403, 409, 422, 503))
async def put_agency(
    agency_id: AgencyPath, body: Agency, officer: CurrentOfficer, request: Request
) -> AgencyOut:
    """Register an agency or replace its data (the provincial administrator)."""
    if Role.ADMIN not in officer.roles_in(PROVINCE):
        raise Forbidden("Hanya administrator provinsi yang dapat mengelola instansi.")
    if body.id != agency_id:
        raise _invalid("id", "Id instansi harus sama dengan alamatnya.")
    for day, (opening, closing) in body.hours.items():
        if not 0 <= day <= 6 or opening.tzinfo or closing.tzinfo or not opening < closing:
            raise _invalid("hours", "Jam kerja: hari 0-6, jam buka sebelum jam tutup, tanpa zona.")
    if not body.hours:  # no working time: no step time, no deadline could ever be reckoned
        raise _invalid("hours", "Jam kerja: paling sedikit satu hari kerja.")
    for kind, version in body.sop_versions.items():
        if (kind, version) not in SOPS:
            raise _invalid("sop_versions", f"SOP {kind.value} versi '{version}' tidak dikenal.")
    _check_addresses(body.channels)
    settings = _cases(request).settings
    try:
        await db.read(  # within the read deadline
            request.app.state.pool, lambda conn: agencies.save(conn, body, settings)
        )
    except agencies.AddressTaken as taken:
        raise Problem(
            409,
            f"Alamat kanal sudah dipakai instansi lain: {', '.join(taken.addresses)}.",
            code="address-taken",
        ) from taken
    _cases(request).forget_agencies()
    return AgencyOut.of(body)

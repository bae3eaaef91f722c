"""Which agencies a read may see, enforced by PostgreSQL row-level security.

Every read-model table that holds an agency's data has a policy (schema.sql) that lets the
role `READER` see only the rows of the agencies named in the transaction-local setting
`aduan.agencies` ("*": every agency). A read on behalf of someone runs in a transaction that
takes that role and that setting (`read_as`); both end with the transaction, so a pooled
connection never carries one request's agencies into the next. The projection writes as the
tables' owner, whom the policies do not bind. On the read replica (`shared.db.Replicated`) it is
the same: the roles and policies replicate, and both settings may be set in a hot standby's
read-only transaction (tests/reporting/test_replica.py).

Officers read what their memberships reach (`Officer.reach`), narrowed with `?instansi=`;
public pages read as the agency they serve (the home agency unless `?instansi=` names another).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request

from services.reporting.letter import Office
from shared.agencies import Agency, Registry
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.db import Connection, Source, read, read_long
from shared.limits import PublicReadLimit
from shared.outages import DEADLINE_SECONDS, Unavailable
from shared.problems import Problem
from shared.settings import Settings
from shared.sop import PROVINCE, Role

T = TypeVar("T")

READER = "aduan_reporting_reader"
"""The role every read on someone's behalf takes: bound by the agency policies (schema.sql)."""
SETTING = "aduan.agencies"
"""The transaction-local setting the policies read: agency ids joined by commas, or "*"."""

InstansiQuery = Annotated[
    str | None,
    Query(
        pattern=r"^(\*|[a-z0-9][a-z0-9-]{1,62})$",
        description='Instansi (id), atau "*" untuk seluruh provinsi',
    ),
]


@dataclass(frozen=True)
class Scope:
    """The agencies a read may see: some, or (`province`) every one (`agencies`: all known)."""

    agencies: tuple[str, ...]
    province: bool = False

    @classmethod
    def of(cls, *agencies: str) -> Scope:
        """Some agencies (an id no agency can have, with the setting's separator, is none)."""
        return cls(tuple(sorted({a for a in agencies if "," not in a and a != PROVINCE})))

    @property
    def setting(self) -> str:
        """The value of `aduan.agencies` for this scope."""
        return "*" if self.province else ",".join(self.agencies)

    @property
    def ids(self) -> list[str]:
        """The agencies, as a query's `agency = ANY($n)` argument."""
        return list(self.agencies)

    def holds(self, agency: str) -> bool:
        """Whether the scope reaches this agency."""
        return self.province or agency in self.agencies

    @property
    def label(self) -> str:
        """What identifies the scope in an answer: one agency's id, or "*"."""
        return self.setting


EVERY_AGENCY = Scope((), province=True)
"""Reads by a tracking code: the code alone finds its case, whichever agency now has it."""


def scoped(scope: Scope, work: Callable[[Connection], Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """`work(conn)` in a transaction as the reader role, seeing only the scope's agencies."""

    async def run(conn: Connection) -> T:
        async with conn.transaction(readonly=True):
            await conn.execute(
                "SELECT set_config('role', $1, true), set_config($2, $3, true)",
                READER,
                SETTING,
                scope.setting,
            )
            return await work(conn)

    return run


async def read_as(
    pool: Source,
    scope: Scope,
    work: Callable[[Connection], Awaitable[T]],
    seconds: float = DEADLINE_SECONDS,
) -> T:
    """`shared.db.read`, seeing only the scope's agencies."""
    return await read(pool, scoped(scope, work), seconds)


async def read_long_as(pool: Source, scope: Scope, work: Callable[[Connection], Awaitable[T]]) -> T:
    """`shared.db.read_long`, seeing only the scope's agencies."""
    return await read_long(pool, scoped(scope, work))


async def agencies(request: Request) -> dict[str, Agency]:
    """Every agency of the deployment (cached for a few seconds; while the database is away,
    those read last, so that a kept copy of a public read can still answer)."""
    registry: Registry = request.app.state.agencies
    try:
        return await registry.all()
    except Unavailable:
        last = registry.last()
        if last is None:
            raise
        return last


async def agency_names(request: Request) -> dict[str, str]:
    """Each agency's name by its id."""
    return {agency_id: agency.name for agency_id, agency in (await agencies(request)).items()}


async def province(request: Request) -> Scope:
    """Every agency: those registered, and any the read model counts cases of."""
    reads: Source = request.app.state.reads
    counted = await read(
        reads, lambda conn: conn.fetch("SELECT DISTINCT agency FROM rekap_by_channel")
    )
    every = set(await agencies(request)) | {row["agency"] for row in counted}
    return Scope(tuple(sorted(every)), province=True)


def unknown_agency() -> Problem:
    """404 for an agency this deployment does not serve."""
    return Problem(404, "Instansi tidak dikenal.", code="unknown-agency")


def outside_reach() -> Forbidden:
    """403 for an agency the officer does not belong to."""
    return Forbidden("Anda tidak memiliki akses ke instansi tersebut.")


async def officer_scope(request: Request, officer: Officer, instansi: str | None) -> Scope:
    """What an officer reads: every agency they belong to (all for the province), or the one
    `instansi` names among them; 403 for any other."""
    reach = officer.reach
    if instansi in (None, PROVINCE):
        if reach is None:
            return await province(request)
        if instansi is None:
            return Scope.of(*reach)
        raise outside_reach()
    if reach is not None and instansi not in reach:
        raise outside_reach()
    return Scope.of(instansi)


def acting_in(officer: Officer, scope: Scope, role: Role) -> Scope:
    """The agencies of the scope in which the officer holds this role; 403 in none."""
    holding = [agency for agency in scope.agencies if role in officer.roles_in(agency)]
    if not holding:
        raise Forbidden("Token ini tidak memegang peran tersebut.")
    return Scope(tuple(holding), province=scope.province and len(holding) == len(scope.agencies))


async def public_scope(
    request: Request, _limited: PublicReadLimit, instansi: InstansiQuery = None
) -> Scope:
    """What a public page reads: the agency it serves (the home agency unless `instansi` names
    another), or the whole province summed (`instansi=*`): published figures, never a case."""
    if instansi == PROVINCE:
        return await province(request)
    home: str = request.app.state.settings.agency
    chosen = instansi or home
    if chosen != home and chosen not in await agencies(request):
        registry: Registry = request.app.state.agencies
        if chosen not in await registry.all(again=True):  # registered since the last read?
            raise unknown_agency()
    return Scope.of(chosen)


PublicScope = Annotated[Scope, Depends(public_scope)]


async def _officer_scope(
    request: Request, officer: CurrentOfficer, instansi: InstansiQuery = None
) -> Scope:
    return await officer_scope(request, officer, instansi)


OfficerScope = Annotated[Scope, Depends(_officer_scope)]
"""The agencies the requesting officer reads (their reach, or `?instansi=` within it)."""


async def _office(request: Request, scope: PublicScope) -> Office:
    settings: Settings = request.app.state.settings
    if scope.province or scope.agencies == (settings.agency,):
        return Office.of(settings)  # the province's documents carry the deployment's letterhead
    known = await agencies(request)
    return Office.of_agency(known[scope.agencies[0]], settings)


AgencyOffice = Annotated[Office, Depends(_office)]
"""The letterhead of the agency a public document is about (the home agency's from settings)."""

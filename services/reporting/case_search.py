"""The officers' case search, and the same list as CSV or XLSX.

By tracking code, kind, channel, category, status, step, overdue and the date received (the
read model), and by what only intake holds: the complainant's phone, e-mail, NIK and name, a
letter's number and the words of the text (services/reporting/lookups.py). A criterion about a
facet of the access policy needs that facet: identity for the complainant's identifiers, text
for the words; a role that never sees it is refused (403), and a case whose facet this officer
may not see is left out, so a search cannot tell what the policy hides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import StrEnum
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.reporting import exports, queries
from services.reporting.api import CurrentSettings, Pool
from services.reporting.drawing import drawn, files_of
from services.reporting.lookups import Intake
from services.reporting.officer_api import EXPORT, PAGE, STAFF, Format, _file, facets_of
from services.reporting.tenancy import OfficerScope, Scope, read_as, read_long_as
from shared import tracking_code
from shared.access import Facet, Privacy, may, readable
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.categories import CATEGORIES
from shared.channels import CHANNEL_LABELS, Channel
from shared.problems import problems
from shared.settings import Settings
from shared.sop import KIND_LABELS, Kind
from shared.vocabulary import EVENT_LABELS, STATUS_LABELS, Status

router = APIRouter(prefix="/v1", tags=["officers"])

EXCERPTS = 200
"""A search of at most this many cases shows the start of each text to those who may read it."""

PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""What a typed criterion may hold: no control characters (PostgreSQL refuses NUL in text)."""
Held = Annotated[str | None, Query(min_length=1, max_length=100, pattern=PRINTABLE)]


CRITERION_FACETS: dict[str, Facet] = {
    "phone": Facet.IDENTITY,
    "email": Facet.IDENTITY,
    "nik": Facet.IDENTITY,
    "name": Facet.IDENTITY,
    "letter": Facet.STATUS,
    "words": Facet.TEXT,
}
"""The criteria only intake can answer (services/intake/lookup.py), and what a search by each
reveals of the cases it finds (shared/access.py)."""

REFUSED = {
    Facet.IDENTITY: "Peran Anda tidak dapat mencari menurut identitas atau kontak pelapor.",
    Facet.TEXT: "Peran Anda tidak dapat mencari menurut isi pengaduan.",
}


@dataclasses.dataclass(frozen=True)
class Wanted:
    """A search: what the read model answers, and what intake answers."""

    search: queries.Search
    criteria: dict[str, str]  # by name in CRITERION_FACETS; only those given

    def facets(self) -> frozenset[Facet]:
        """The facets the criteria reveal of the cases found."""
        return frozenset(CRITERION_FACETS[key] for key in self.criteria)


def wanted(
    code: Annotated[str | None, Query(max_length=9, pattern="^[0-9A-Za-z-]+$")] = None,
    status: Status | None = None,
    kind: Kind | None = None,
    channel: Channel | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    received_from: date | None = None,
    received_to: date | None = None,
    step: Annotated[str | None, Query(max_length=40, pattern="^[a-z_]+$")] = None,
    overdue: bool | None = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=PRINTABLE, description="Kata dalam isi pengaduan")
    ] = None,
    phone: Held = None,
    email: Held = None,
    nik: Held = None,
    name: Held = None,
    letter: Held = None,
) -> Wanted:
    """Search criteria from the query string."""
    search = queries.Search(
        code=(tracking_code.normalize(code) or code.upper()) if code else None,  # as typed
        status=status.value if status else None,
        kind=kind.value if kind else None,
        channel=channel.value if channel else None,
        category=category,
        received_from=received_from,
        received_to=received_to,
        step=step,
        overdue=overdue,
    )
    typed = {"phone": phone, "email": email, "nik": nik, "name": name, "letter": letter, "words": q}
    held = {key: value.strip() for key, value in typed.items() if value and value.strip()}
    return Wanted(search, held)


CASE_COLUMNS: dict[str, str] = {
    "tracking_code": "Nomor tiket",
    "kind": "Jenis",
    "channel": "Kanal",
    "category": "Kategori",
    "received_at": "Diterima",
    "status": "Status",
    "current_step": "Langkah saat ini",
    "step_due_at": "Batas waktu langkah",
    "deadline_at": "Tenggat 14 hari kerja",
    "closed_at": "Ditutup",
    "resolution": "Penyelesaian",
    "bkpm_escalated": "Diteruskan ke BKPM",
    "overdue": "Melewati waktu standar langkah",
    "breached": "Melewati tenggat",
    "reopened": "Dibuka kembali (kali)",
    "handled_by": "Petugas terakhir",
}
"""The case columns a search answers, with their headers in the files."""

ANSWER_COLUMN = ("public_answer", "Jawaban kepada pemohon")

COLUMN_FACETS = {
    "tracking_code": Facet.STATUS,
    "status": Facet.STATUS,
    "public_answer": Facet.ANSWER,
    "handled_by": Facet.TIMELINE,  # who acted is part of the case's history
}
"""The facet of each column (shared/access.py); the others are Facet.CASE."""

ZONES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA"}
"""How the office names its time zone (Asia/Jayapura and others: WIT)."""


def zone_label(timezone: str) -> str:
    """WIB, WITA or WIT for the office's time zone."""
    return ZONES.get(timezone, "WIT")


def _staff(officer: Officer) -> Officer:
    if not officer.has(*STAFF):
        raise Forbidden("Hanya petugas dan analis yang dapat mencari kasus.")
    return officer


def allowed(officer: Officer) -> list[str]:
    """The criteria held by intake that these roles may search by: those whose facet they see
    of some cases."""
    return [
        key
        for key, facet in CRITERION_FACETS.items()
        if any(may(officer.roles, facet, privacy) for privacy in Privacy)
    ]


def _may_search(officer: Officer, wanted: Wanted) -> None:
    """403 for a criterion about a facet these roles never see."""
    permitted = allowed(officer)
    for key in wanted.criteria:
        if key not in permitted:
            raise Forbidden(REFUSED[CRITERION_FACETS[key]])


@router.get("/cases/criteria", responses=problems(401, 403))
async def criteria_allowed(officer: CurrentOfficer) -> list[str]:
    """The criteria held by intake that this officer may search by (the page shows those)."""
    return allowed(_staff(officer))


def columns_for(officer: Officer) -> dict[str, str]:
    """The case columns for this officer: the answer's only if they may read some answers."""
    answers = any(may(officer.roles, Facet.ANSWER, privacy) for privacy in Privacy)
    return CASE_COLUMNS | dict([ANSWER_COLUMN]) if answers else CASE_COLUMNS


def row_of(record: Any, facets: frozenset[Facet], columns: Mapping[str, str]) -> dict[str, Any]:
    """A case row with what this officer may not see left empty."""
    shown = {c: record[c] if COLUMN_FACETS.get(c, Facet.CASE) in facets else None for c in columns}
    answer = shown.get("public_answer")
    if isinstance(answer, str):  # officers' words can name people too (shared/pii.py)
        shown["public_answer"] = readable(answer, facets)
    return {"case_id": str(record["case_id"])} | shown


Found = list[tuple[Any, frozenset[Facet], dict[str, Any]]]


async def _found(
    pool: Pool,
    settings: Settings,
    officer: Officer,
    scope: Scope,
    search: queries.Search,
    page: tuple[int, int],
    needed: frozenset[Facet],
) -> list[Any]:
    limit, offset = page
    run = partial(
        queries.search,
        query=search,
        tz=settings.timezone,
        limit=limit,
        offset=offset,
        roles={agency: officer.roles_in(agency) for agency in scope.agencies},
        needed=needed,
    )
    return await (read_as(pool, scope, run) if limit <= PAGE else read_long_as(pool, scope, run))


async def _cases(
    pool: Pool,
    settings: Settings,
    intake: Intake,
    officer: Officer,
    scope: Scope,
    wanted: Wanted,
    *,
    limit: int,
    offset: int = 0,
) -> Found:
    """(record, facets, row) of each case found that this officer may see as the search needs."""
    _staff(officer)
    _may_search(officer, wanted)
    search = wanted.search
    if wanted.criteria:
        ids = await intake.cases(wanted.criteria, None if scope.province else scope.ids)
        search = dataclasses.replace(search, case_ids=ids)
    needed = wanted.facets() | {Facet.STATUS}  # in SQL, before the page is cut
    records = await _found(pool, settings, officer, scope, search, (limit, offset), needed)
    columns = columns_for(officer)
    found = []
    for record in records:
        facets = facets_of(record, officer)
        if needed <= facets:
            found.append((record, facets, row_of(record, facets, columns)))
    return found


async def _with_excerpts(intake: Intake, found: Found) -> list[dict[str, Any]]:
    """The rows, with the start of the text for those who may read it (masked without
    identity)."""
    reading = [str(record["case_id"]) for record, facets, _ in found if Facet.TEXT in facets]
    texts = await intake.excerpts(reading) if len(found) <= EXCERPTS else {}
    rows = []
    for _, facets, row in found:
        texts_of_case = texts.get(row["case_id"]) if Facet.TEXT in facets else None
        shown = "clear" if Facet.IDENTITY in facets else "masked"  # readable(), cut afterwards
        rows.append(row | {"excerpt": texts_of_case[shown] if texts_of_case else None})
    return rows


@router.get("/cases", responses=problems(401, 403, 422, 503))
async def search_cases(
    pool: Pool,
    settings: CurrentSettings,
    intake: Intake,
    officer: CurrentOfficer,
    scope: OfficerScope,
    query: Annotated[Wanted, Depends(wanted)],
    limit: Annotated[int, Query(ge=1, le=PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Cases by tracking code, status, kind, channel, category, step, overdue, dates, and by
    the complainant's phone, e-mail, NIK, name, a letter's number or words of the text
    (newest first); `excerpt`: the start of the text, for the roles that may read it."""
    found = await _cases(pool, settings, intake, officer, scope, query, limit=limit, offset=offset)
    return await _with_excerpts(intake, found)


# The labels of stored ids in the files, from the tables in shared/.
_LABELS: dict[str, Callable[[Any, Any], Any]] = {
    "kind": lambda value, _: _label(KIND_LABELS, Kind, value),
    "channel": lambda value, _: _label(CHANNEL_LABELS, Channel, value),
    "category": lambda value, _: CATEGORIES.get(value, value),
    "status": lambda value, _: _label(STATUS_LABELS, Status, value),
    "current_step": lambda value, record: queries.step_label(
        record["kind"], record["sop_version"], value
    ),
    "resolution": lambda value, _: EVENT_LABELS.get(value, value),
}


def _label(labels: Mapping[Any, str], enum: type[StrEnum], value: str) -> str:
    try:
        return labels.get(enum(value), value)
    except ValueError:
        return value


def cell(column: str, value: Any, record: Any, zone: ZoneInfo) -> Any:
    """A value as the office reads it: labels, Ya/Tidak, office time without seconds' fractions."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    if isinstance(value, datetime):
        return value.astimezone(zone).replace(tzinfo=None, microsecond=0)
    label = _LABELS.get(column)
    return label(value, record) if label else value


def header(columns: Mapping[str, str], timezone: str) -> list[str]:
    """The files' header: Indonesian, the times labelled with the office's zone."""
    times = {"received_at", "step_due_at", "deadline_at", "closed_at"}
    zone = zone_label(timezone)
    return [f"{label} ({zone})" if c in times else label for c, label in columns.items()]


@router.get("/cases.{fmt}", responses=problems(401, 403, 422, 503), response_class=Response)
async def export_cases(
    pool: Pool,
    settings: CurrentSettings,
    intake: Intake,
    officer: CurrentOfficer,
    scope: OfficerScope,
    query: Annotated[Wanted, Depends(wanted)],
    fmt: Format,
) -> Response:
    """The case search as CSV or XLSX with what the access policy lets this officer see:
    Indonesian headers and labels, office time, Ya/Tidak, tracking codes."""
    with files_of(officer.id):  # read and drawn: the officer's share of both
        content = await _export(pool, settings, intake, officer, scope, query, fmt)
    if fmt == "csv":
        return _file(content, exports.CSV_TYPE, "kasus.csv")
    return _file(content, exports.XLSX_TYPE, "kasus.xlsx")


async def _export(
    pool: Pool,
    settings: Settings,
    intake: Intake,
    officer: Officer,
    scope: Scope,
    query: Wanted,
    fmt: str,
) -> bytes:
    found = await _cases(pool, settings, intake, officer, scope, query, limit=EXPORT)
    columns = columns_for(officer)
    zone = ZoneInfo(settings.timezone)
    names = header(columns, settings.timezone)
    title = f"Daftar kasus — {scope.label}"

    def draw() -> bytes:
        values = [[cell(c, row[c], record, zone) for c in columns] for record, _, row in found]
        return (
            exports.to_csv(names, values) if fmt == "csv" else exports.to_xlsx(title, names, values)
        )

    return await drawn(draw)

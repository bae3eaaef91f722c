"""The officer API of the workflow service: one endpoint per command, a case with its timeline.

(No `from __future__ import annotations` here: the endpoints are made from the command table,
and FastAPI reads each one's body model from its annotations at definition time.)
"""

import contextlib
import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, StrictBool

from services.workflow.case import Case
from services.workflow.cases import Cases, StoredFile, versionless
from services.workflow.commands import COMMANDS, Command, Context, Label
from services.workflow.rules import (
    ArchivedBacklog,
    CaseClosed,
    CaseErased,
    CaseWaiting,
    FileAfterErasure,
    NotAllowed,
    NotAnOfficer,
    NotImported,
    NotTheirAction,
    NotWaiting,
    ReopenWindowPassed,
    SameAgency,
    StaleVersion,
    StepOutOfOrder,
    UnknownAgency,
    UnknownCase,
    WrongKind,
    works_on_cases,
)
from services.workflow.views import CaseView, case_view
from shared import pii
from shared.access import Facet, readable
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.blobs import Blob
from shared.filetypes import decide, safe_filename
from shared.filetypes import download as as_download
from shared.outages import DEADLINE_SECONDS
from shared.problems import Problem, problems, refusal_handler
from shared.refusals import Refused
from shared.sealing import SealingKey
from shared.sop import ACTIONS, PROVINCE, Role, writers

router = APIRouter(prefix="/v1", tags=["workflow"])

# The workflow's refusals (services/workflow/rules.py) as the API answers them.
REFUSALS: dict[type[Refused], int] = {
    UnknownCase: 404,
    NotAllowed: 403,
    NotTheirAction: 403,
    NotAnOfficer: 403,
    StepOutOfOrder: 409,
    CaseClosed: 409,
    CaseWaiting: 409,
    NotWaiting: 409,
    NotImported: 409,
    WrongKind: 409,
    ReopenWindowPassed: 409,
    ArchivedBacklog: 409,
    CaseErased: 409,
    FileAfterErasure: 409,
    StaleVersion: 409,
    SameAgency: 409,
    UnknownAgency: 422,
}

refused = refusal_handler(REFUSALS)


# Files an officer may attach, known by their content (not by what the client claims).
ALLOWED_FILES = ("application/pdf", "image/png", "image/jpeg")


async def _cases(request: Request) -> Cases:
    cases: Cases = request.app.state.cases
    return cases


CasesDep = Annotated[Cases, Depends(_cases)]
CaseId = Annotated[UUID, Path(description="Id kasus")]


def _office_officer(officer: Officer) -> Officer:
    if not works_on_cases(officer):
        raise Forbidden("Hanya petugas yang menangani kasus dapat membuka kasus.")
    return officer


def _acting(cases: Cases, case_id: UUID, officer: Officer) -> tuple[Case, Officer]:
    """The case, if in the officer's reach (else 404), and the officer with their roles in
    the case's agency."""
    case = cases.get_case(case_id, officer.reach)
    return case, officer.in_agency(case.agency)


def _context(officer: Officer, cases: Cases, agency: str) -> Context:
    return Context(officer, datetime.now(UTC), cases.calendar(agency), cases)


def _view(
    cases: Cases,
    case: Case,
    officer: Officer,
    facets: frozenset[Facet] | None = None,
    history: Sequence[Any] | None = None,
) -> CaseView:
    view = case_view(cases, case, officer, facets, history)
    if facets is not None and not _sees(case, officer):
        view.allowed_actions = []  # their command moved the case past what they may see
    elif officer.has(*writers(case.agency)) and cases.key_for(case.id) is not None:
        view.allowed_actions.append("attachments")  # a file needs the case's key
    return view


def _sees(case: Case, officer: Officer) -> bool:
    """Whether the officer may see the case now (a confidential one: only at their step)."""
    try:
        case.facets_for(officer)
    except UnknownCase:
        return False
    return True


@router.get("/cases/{case_id}", responses=problems(401, 403, 404, 503))
async def get_case(case_id: CaseId, officer: CurrentOfficer, cases: CasesDep) -> CaseView:
    """A case with its full timeline and the actions this officer may take now."""
    _office_officer(officer)

    def read() -> CaseView:
        case, history = cases.read_case(case_id, officer.reach)  # one read: case and timeline
        return _view(cases, case, officer.in_agency(case.agency), history=history)

    return await cases.guard.call(read)


def _endpoint(command: Command) -> Any:
    async def endpoint(
        case_id: CaseId,
        body: command.body,  # type: ignore[name-defined]
        officer: CurrentOfficer,
        cases: CasesDep,
    ) -> CaseView:
        _office_officer(officer)
        due = cases.guard.due(DEADLINE_SECONDS)  # past it, the save rolls back: never half-heard

        version = getattr(body, "version", None)

        def attempt(seen: int | None = None) -> CaseView:
            # one read at most: the case (in the officer's reach, else 404) and its timeline
            case, history = cases.read_case(case_id, officer.reach, seen)
            acting = officer.in_agency(case.agency)  # the roles held in the case's agency
            facets = case.facets_for(acting)  # unseen: unknown (404)
            context = _context(acting, cases, case.agency)
            run = command.run
            stored = cases.act_on(
                case, version, lambda case: run(case, body, context) or [], deadline=due
            )
            history = [*history, *stored]
            cases.remember(case.id, history)
            # moved by the command: the officer sees it with the roles held where it went
            return _view(cases, case, acting.in_agency(case.agency), facets, history)

        def act() -> CaseView:
            if version is not None and cases.recalls(case_id, version):
                try:  # on the case as this process last held it, unread
                    return attempt(seen=version)
                except (Refused, Problem):  # perhaps moved on meanwhile: the verdict of a read
                    cases.forget([case_id])
            return versionless(attempt, version)

        turn = cases.turn(case_id, due) if version is None else contextlib.nullcontext()
        async with turn:
            return await cases.guard.call(act, due=due)

    endpoint.__doc__ = command.summary
    return endpoint


for _command in COMMANDS:
    router.add_api_route(
        f"/cases/{{case_id}}/{_command.path}",
        _endpoint(_command),
        methods=["POST"],
        summary=_command.summary,
        response_model=CaseView,
        responses=problems(401, 403, 404, 409, 422, 503),
        name=f"case_{_command.path.replace('/', '_').replace('-', '_')}",
    )


@router.post(
    "/cases/{case_id}/attachments", responses=problems(401, 403, 404, 409, 413, 415, 422, 503)
)
async def attach(
    case_id: CaseId,
    file: Annotated[UploadFile, File(description="PDF, PNG atau JPEG")],
    officer: CurrentOfficer,
    cases: CasesDep,
    request: Request,
) -> CaseView:
    """Attach a file (PDF, PNG, JPEG) to the case, at its current step: one per request."""
    _office_officer(officer)
    if len((await request.form()).getlist("file")) > 1:  # the others were dropped unsaid
        message = "Kirim satu berkas per unggahan."
        error = {"field": "file", "code": "one_file", "message": message}
        raise Problem(422, f"Periksa kembali: file. {message}", code="validation", errors=[error])
    content = await file.read(cases.settings.max_attachment_bytes + 1)  # bounded
    if len(content) > cases.settings.max_attachment_bytes:
        raise Problem(413, "Lampiran terlalu besar.", code="too-large")
    content_type = decide(content, file.content_type or "", ALLOWED_FILES)
    if content_type is None:
        raise Problem(
            415, "Jenis berkas tidak diizinkan: hanya PDF, PNG atau JPEG.", code="file-type"
        )

    # What the officer may see, read under the request deadline: a store away is a 503 at once.
    def seen() -> tuple[frozenset[Facet], Officer, SealingKey | None]:
        case, acting = _acting(cases, case_id, officer)
        if not acting.has(*writers(case.agency)):  # before the file is stored
            raise NotAnOfficer()
        return case.facets_for(acting), acting, cases.key_for(case_id)

    facets, acting, key = await cases.guard.call(seen)
    if key is None:  # nothing to encrypt the file with: no file of the person is kept
        raise FileAfterErasure()
    attachment_id, at = str(uuid4()), datetime.now(UTC)
    blob = Blob.of(case_id, key.encrypt(content))
    await cases.blobs.put([blob])  # before the commit, never inside it

    def add(case: Case) -> list[Case]:
        case.add_attachment(
            attachment_id=attachment_id,
            filename=key.seal(safe_filename(file.filename or "")),  # the key the file has
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            by=acting,
            at=at,
        )
        return []

    due = cases.guard.due()  # past it, the save rolls back

    def act() -> CaseView:
        stored = StoredFile(UUID(attachment_id), case_id, content_type, blob.hash)
        case = cases.act(
            case_id, None, add, attachments=[stored], deadline=due, reach={acting.agency}
        )
        return _view(cases, case, acting, facets)

    async with cases.turn(case_id, due):
        return await cases.guard.run(act)


@router.get("/cases/{case_id}/attachments/{attachment_id}", responses=problems(401, 403, 404, 503))
async def download(
    case_id: CaseId, attachment_id: UUID, officer: CurrentOfficer, cases: CasesDep
) -> Response:
    """An attachment's content."""
    _office_officer(officer)

    def read() -> tuple[tuple[str, bytes, str] | None, frozenset[Facet]]:
        case, acting = _acting(cases, case_id, officer)
        facets = case.facets_for(acting)
        shown = Facet.ATTACHMENTS in facets
        return (cases.attachment(case_id, attachment_id) if shown else None), facets

    found, facets = await cases.guard.call(read)
    if found is None:
        raise Problem(404, "Lampiran tidak ditemukan.", code="unknown-attachment")
    content_type, content, filename = found
    # the name as the case view shows it to this reader (a NIK in it masked without identity)
    return as_download(content, content_type, readable(filename, facets))


class DayOff(BaseModel):
    """A day the office is closed (or an override that makes it a working day)."""

    day: date
    name: str
    working: bool = False
    source: str


class DayOverrideBody(BaseModel):
    """An administrator's correction of the calendar."""

    model_config = ConfigDict(extra="forbid")

    working: StrictBool = False
    name: Label  # published without sign-in: never personal data


AgencyQuery = Annotated[
    str | None,
    Query(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="Id instansi (bawaan: instansi ini)"),
]


@router.get("/calendar", responses=problems(404, 422, 503))
async def calendar(
    cases: CasesDep, year: Annotated[int, Query(ge=2000, le=2100)], agency: AgencyQuery = None
) -> list[DayOff]:
    """An agency's days off in a year: holidays, cuti bersama and the corrections."""
    await _registered(cases, agency)
    working = cases.cached_calendar(agency)
    if working is None:
        working = await cases.guard.call(lambda: cases.calendar(agency))
    days = []
    current = date(year, 1, 1)
    while current.year == year:
        name = working.holiday_name(current)
        override = next((o for o in working.overrides if o.day == current), None)
        if override is not None:
            name = pii.mask(override.name)  # public: a name after "Bapak" is refused nowhere
            days.append(DayOff(day=current, name=name, working=override.working, source="admin"))
        elif name:
            days.append(DayOff(day=current, name=name, source="nasional"))
        current = date.fromordinal(current.toordinal() + 1)
    return days


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        raise Problem(
            422,
            "Tanggal harus berformat TTTT-BB-HH.",
            code="validation",
            errors=[{"field": "day", "code": "date", "message": "Tanggal tidak sah."}],
        )
    return day


Day = Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$", description="Tanggal, TTTT-BB-HH")]


async def _registered(cases: Cases, agency: str | None) -> None:
    """404 for an agency the deployment does not serve (one registered a moment ago is read
    again, at most once a second): a calendar is built and kept only for a real one."""
    if agency is None or agency in await cases.known_agencies():
        return
    if agency not in await cases.known_agencies(again=True):
        raise Problem(404, f"Instansi '{agency}' tidak terdaftar.", code="unknown-agency")


def _admin(officer: Officer, agency: str | None) -> str:
    """The agency whose calendar the officer changes (their own by default), as its admin; a
    provincial administrator names one (the province keeps no calendar of its own)."""
    if agency is None and officer.agency == PROVINCE:
        message = "Pilih instansi yang kalendernya diubah (agency=...)."
        error = {"field": "agency", "code": "missing", "message": message}
        raise Problem(422, f"Periksa kembali: agency. {message}", code="validation", errors=[error])
    agency = agency or officer.agency
    if Role.ADMIN not in officer.roles_in(agency):
        raise Forbidden("Hanya administrator instansi yang dapat mengubah kalender kerjanya.")
    return agency


@router.put("/calendar/days/{day}", responses=problems(401, 403, 404, 422, 503))
async def set_day(
    day_text: Annotated[Day, Path(alias="day")],
    body: DayOverrideBody,
    officer: CurrentOfficer,
    cases: CasesDep,
    agency: AgencyQuery = None,
) -> list[DayOff]:
    """Declare a day off the package does not know yet (or a working day)."""
    agency = _admin(officer, agency)
    await _registered(cases, agency)
    day = _day(day_text)
    at, due = datetime.now(UTC), cases.guard.due(DEADLINE_SECONDS)
    await cases.guard.call(
        lambda: cases.correct_calendar(
            lambda cal: cal.set_day(
                day=day, working=body.working, name=body.name, by=officer.id, at=at
            ),
            deadline=due,
            agency=agency,
        ),
        due=due,
    )
    return await calendar(cases, day.year, agency)


@router.delete("/calendar/days/{day}", responses=problems(401, 403, 404, 422, 503))
async def clear_day(
    day_text: Annotated[Day, Path(alias="day")],
    officer: CurrentOfficer,
    cases: CasesDep,
    agency: AgencyQuery = None,
) -> list[DayOff]:
    """Withdraw a correction."""
    agency = _admin(officer, agency)
    await _registered(cases, agency)
    day = _day(day_text)
    at, due = datetime.now(UTC), cases.guard.due(DEADLINE_SECONDS)
    await cases.guard.call(
        lambda: cases.correct_calendar(
            lambda cal: cal.clear_day(day=day, by=officer.id, at=at),
            deadline=due,
            agency=agency,
        ),
        due=due,
    )
    return await calendar(cases, day.year, agency)


class ActionOut(BaseModel):
    """One officer command: its path under the case, what it does, and its body's schema.

    `label` names its button (the SOP table's); `closes`: it closes the case (the page asks
    to confirm); `public`: what it records is shown to the public (the answer).
    """

    path: str
    label: str
    summary: str
    kind: str | None
    step: str | None
    closes: bool
    public: bool
    body_schema: dict[str, Any]


@router.get("/actions")
async def actions() -> list[ActionOut]:
    """Every command, so a page can draw the form of each action an officer may take."""
    return _actions()


@cache
def _actions() -> list[ActionOut]:
    """The commands' forms, worked out once: the commands are data fixed at start (each
    body's JSON schema took milliseconds on the event loop, for every anonymous request)."""
    return [
        ActionOut(
            path=command.path,
            label=ACTIONS[command.path].label,
            summary=command.summary,
            kind=command.kind.value if command.kind else None,
            step=command.step,
            closes=ACTIONS[command.path].closes,
            public=issubclass(getattr(Case, ACTIONS[command.path].event), Case.Answered),
            body_schema=command.body.model_json_schema(),
        )
        for command in COMMANDS
    ]

"""SP4N-LAPOR!: complaints the national system disposed (disposisi) to this office.

ASSUMED contract (docs/lapor.md): LAPOR! POSTs each disposed complaint here with our token;
its tracking id makes a repeat the same submission (naming another `instansi`: LAPOR!'s
disposisi of it to that agency, one DispositionReceived); `anonim` stores no identity, `rahasia`
marks it confidential. Our follow-ups and the closure go back through services/intake/lapor.py.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Literal
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Depends, Request, Response
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from services.intake.api import CurrentInbox, ReceiptOut, receipt_out
from services.intake.attachments import check
from services.intake.draft import EARLIEST, Attachment, Contact, Draft, Receipt
from services.intake.forms import TEXT_MAX, Phone
from services.intake.inbox import Inbox
from services.intake.reach import store_call
from services.intake.records import Rows
from services.intake.submission import submission_id
from shared.agencies import AgencyId
from shared.channels import Channel
from shared.problems import Problem, problems
from shared.sop import PROVINCE, Kind
from shared.text import CLEAN, seen

router = APIRouter(prefix="/v1/lapor", tags=["lapor"])

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


NUMBER = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")


def _unset(value: object) -> object:
    """LAPOR! writes a field it has no value for as "" (or blanks): not given."""
    return None if isinstance(value, str) and not value.strip() else value


class Reporter(BaseModel):
    """The reporter as LAPOR! knows them (absent for anonymous reports); a blank field is one
    LAPOR! has no value for."""

    model_config = ConfigDict(extra="ignore")

    name: Annotated[Short | None, BeforeValidator(_unset)] = None
    phone: Annotated[Phone | None, BeforeValidator(_unset)] = None
    email: Annotated[EmailStr | None, BeforeValidator(_unset)] = None


def _written(value: object) -> object:
    """A time as LAPOR! writes it, ISO 8601 (blank: none); not a number of seconds."""
    value = _unset(value)
    if isinstance(value, int | float) or (isinstance(value, str) and NUMBER.fullmatch(value)):
        raise PydanticCustomError("datetime_parsing", "Tanggal dan waktu tidak sah.")
    return value


def _utc(at: datetime | None) -> datetime | None:
    return at.astimezone(UTC) if at is not None else None


class LaporFile(BaseModel):
    """An attachment, inline."""

    filename: Short
    content_type: Short
    content_base64: str


class Disposed(BaseModel):
    """A complaint LAPOR! disposed to this office."""

    model_config = ConfigDict(extra="ignore")

    tracking_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    classification: Literal["pengaduan", "aspirasi", "permintaan_informasi"] = "pengaduan"
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    content: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX),
        CLEAN,
        seen(1),
    ]
    anonim: bool = False
    rahasia: bool = False
    reporter: Reporter | None = None
    # An ISO 8601 time with its offset, kept in UTC as every time here (not a number: pydantic
    # would read one as seconds since 1970).
    created_at: Annotated[AwareDatetime | None, BeforeValidator(_written), AfterValidator(_utc)] = (
        None
    )
    attachments: list[LaporFile] = Field(default_factory=list, max_length=10)
    # The agency disposed to, by its id here; none: home. On a complaint received before, an
    # other agency is LAPOR!'s disposisi to it, and "*" its withdrawal to the coordinator.
    instansi: AgencyId | Literal["*"] | None = None


async def _agency(inbox: Inbox, report: Disposed, *, moved: bool = False) -> str:
    """The agency LAPOR! disposed the complaint to; 422 for one this deployment does not serve
    (the provincial coordinator, PROVINCE, only as a `moved` complaint's new place)."""
    if report.instansi is None:
        return inbox.settings.agency
    if report.instansi == PROVINCE and moved:
        return PROVINCE
    if not await inbox.agencies.serves(report.instansi):
        message = "Instansi tidak dilayani di sini."
        error = {"field": "instansi", "code": "unknown_agency", "message": message}
        raise Problem(
            422, f"Periksa kembali: instansi. {message}", code="validation", errors=[error]
        )
    return report.instansi


async def _lapor_token(request: Request) -> None:
    expected = request.app.state.settings.lapor_inbound_token.get_secret_value()
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    given = given.strip() if scheme.lower() == "bearer" else ""  # RFC 6750: the scheme named
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Problem(
            401,
            "Token SP4N-LAPOR! tidak sah.",
            code="unauthenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _files(report: Disposed, request: Request) -> tuple[Attachment, ...]:
    settings = request.app.state.settings
    files = []
    for file in report.attachments:
        try:
            content = base64.b64decode(file.content_base64, validate=True)
        except (binascii.Error, ValueError) as error:
            detail = f"Lampiran '{file.filename}' bukan base64 yang sah."
            raise Problem(422, detail, code="validation") from error
        attachment = Attachment(file.filename, file.content_type, content=content)
        files.append(check(settings, attachment))
    return tuple(files)


@router.post(
    "/complaints",
    status_code=201,
    responses=problems(400, 401, 413, 415, 422, 429, 503)
    | {200: {"description": "A repeat of a complaint received before"}},
    dependencies=[Depends(_lapor_token)],
)
async def receive_disposed(
    report: Disposed, request: Request, inbox: CurrentInbox, response: Response
) -> ReceiptOut:
    """Take in a complaint SP4N-LAPOR! disposed to this office (received before: its
    disposisi to another agency of the deployment, recorded once)."""
    moved = await _disposition(report, inbox)
    if moved is not None:
        return receipt_out(moved, response)
    reporter = report.reporter or Reporter()
    contact = Contact(name=reporter.name, phone=reporter.phone, email=reporter.email)
    text = f"{report.title}\n\n{report.content}".strip() if report.title else report.content
    kind = Kind.COMPLAINT if report.classification == "pengaduan" else Kind.CONSULTATION
    agency = await _agency(inbox, report)
    draft = Draft(
        kind=kind,
        channel=Channel.LAPOR,
        text=text,
        received_at=_created(report.created_at),
        agency=agency,
        message_id=report.tracking_id,
        contact=None if report.anonim else contact,
        anonymous=report.anonim,
        confidential=report.rahasia,
        attachments=_files(report, request),
        identities=() if report.anonim else tuple(inbox.pseudonyms.of_contact(contact)),
        receipt=True,
    )
    return receipt_out(await inbox.submit(draft), response)


async def _disposition(report: Disposed, inbox: Inbox) -> Receipt | None:
    """A complaint received before: the repeat's receipt, after recording LAPOR!'s disposisi
    to the agency it names if that is not the one it disposed it to last; None: a new one."""
    case_id = submission_id(Channel.LAPOR, report.tracking_id)
    submission = await store_call(inbox.submissions.submission, case_id)
    if submission is None:
        return None
    code = submission.received.tracking_code
    if report.instansi is not None and report.instansi != submission.lapor_agency:
        agency = await _agency(inbox, report, moved=True)
        await inbox.write(partial(_record_disposition, inbox, case_id, agency))
    return Receipt(code, str(case_id), replayed=True)


def _record_disposition(inbox: Inbox, case_id: UUID, agency: str, due: float | None) -> None:
    """Record the disposisi on the stored submission, once (another writer's meanwhile wins)."""
    for _ in range(5):
        submission = inbox.submissions.submission(case_id)
        assert submission is not None
        if not submission.follow_disposition(to_agency=agency, at=datetime.now(UTC)):
            return
        try:
            inbox.submissions.save(submission, rows=Rows(), deadline=due)
        except IntegrityError:
            continue
        return
    raise RuntimeError(f"could not record a disposisi of submission {case_id}")


def _created(at: datetime | None) -> datetime:
    """When the report was made at SP4N-LAPOR! (its disposition may come weeks later: kept);
    a time before `EARLIEST` (an unset one) or later than now is no such time: the arrival."""
    now = datetime.now(UTC)
    return at if at is not None and at.date() >= EARLIEST and at <= now else now

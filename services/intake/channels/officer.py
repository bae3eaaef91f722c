"""Submissions an officer records: letters, phone calls, the counter, the suggestion box, SMS.

The officer says when it was actually received: back-dated up to ADUAN_OFFICER_BACKDATE_DAYS,
never in the future. A letter's number (or any reference) makes a repeat the same submission.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, Field, StringConstraints

from services.intake.api import CurrentInbox, ReceiptKey, ReceiptOut, receipt_out
from services.intake.channels.web import IdempotencyKey
from services.intake.draft import Draft
from services.intake.forms import WebForm
from services.intake.inbox import Inbox
from services.intake.store import fingerprint
from shared.agencies import AgencyId
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.channels import Channel
from shared.problems import Problem, problems
from shared.sop import Kind, Role

router = APIRouter(prefix="/v1/officer", tags=["officer"])

RECORDING_ROLES = (Role.PETUGAS, Role.TIM_PENGADUAN, Role.PETUGAS_OSS, Role.ADMIN)
CLOCK_SKEW = timedelta(minutes=2)


class RecordedForm(WebForm):
    """What the officer took down, and how and when it came in."""

    channel: Literal["letter", "phone", "counter", "suggestion_box", "sms"]
    kind: Kind = Kind.COMPLAINT
    received_at: AwareDatetime | None = Field(
        default=None, description="Kapan diterima (boleh mundur, tidak boleh di masa depan)"
    )
    reference: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = Field(default=None, description="Nomor surat / nomor register, bila ada")
    agency: AgencyId | None = Field(
        default=None,
        description="Instansi tempat dicatat (petugas yang bertugas di beberapa instansi); "
        "kosong: instansi token",
    )


async def _recorder(officer: Officer, inbox: Inbox, form: RecordedForm) -> str:
    """The agency the submission is recorded in: the form's, else the one the officer acts in;
    the officer must hold a recording role there."""
    agency = form.agency or officer.agency
    if not await inbox.agencies.serves(agency):
        if form.agency is None:
            raise Forbidden("Token ini untuk instansi lain.")
        error = {"field": "agency", "code": "unknown_agency", "message": "Instansi tidak dikenal."}
        raise Problem(422, "Periksa kembali: agency.", code="validation", errors=[error])
    roles = officer.roles_in(agency)
    if not roles:
        raise Forbidden("Anda tidak bertugas di instansi ini.")
    if roles.isdisjoint(RECORDING_ROLES):
        raise Forbidden("Hanya petugas layanan yang dapat mencatat pengaduan.")
    return agency


def _received_at(form: RecordedForm, inbox: Inbox) -> datetime:
    now = datetime.now(UTC)
    at = form.received_at or now
    limit = inbox.settings.officer_backdate_days
    if at > now + CLOCK_SKEW:
        message = "Waktu diterima tidak boleh di masa depan."
    elif at < now - timedelta(days=limit):
        message = f"Waktu diterima paling lama {limit} hari yang lalu."
    else:
        return min(at, now)
    error = {"field": "received_at", "code": "received_at", "message": message}
    raise Problem(
        422, f"Periksa kembali: received_at. {message}", code="validation", errors=[error]
    )


@router.post(
    "/submissions",
    status_code=201,
    responses=problems(400, 401, 403, 413, 422, 503)
    | {200: {"description": "A repeat of an earlier record"}},
)
async def record(
    form: RecordedForm,
    officer: CurrentOfficer,
    inbox: CurrentInbox,
    response: Response,
    receipt_key: ReceiptKey,
    idempotency_key: IdempotencyKey = None,
) -> ReceiptOut:
    """Record a submission received by letter, phone, at the counter, in the box or by SMS; the
    answer carries the receipt secret and the tracking link for the printed receipt."""
    agency = await _recorder(officer, inbox, form)
    channel = Channel(form.channel)
    key = await inbox.client_key(form.reference or idempotency_key, agency=agency, channel=channel)
    contact = form.contact.to_contact() if form.contact else None
    draft = Draft(
        kind=form.kind,
        channel=channel,
        text=form.text,
        received_at=_received_at(form, inbox),
        agency=agency,
        message_id=key,
        category=form.category,
        contact=contact,
        anonymous=form.anonymous,
        confidential=form.confidential,
        fingerprint=fingerprint(form.model_dump_json(exclude={"received_at", "agency"}).encode())
        if key
        else None,
        identities=tuple(inbox.pseudonyms.of_contact(contact)),
        receipt=bool(contact and contact.email),  # told by email (never if anonymous)
    )
    settings = inbox.settings
    receipt = await inbox.submit(draft)
    page, public_url = settings.tracking_page_path, settings.public_url
    return receipt_out(receipt, response, receipt_key, page=page, public_url=public_url)

"""The office website's forms: complaints and consultations posted as JSON.

A form opened from the printed QR code (counter, suggestion box) posts with `?via=qr`, so
the rekap counts it under the "quick response" channel of SOP step 1.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

from services.intake.api import CurrentInbox, ReceiptOut, receipt_out
from services.intake.draft import Draft
from services.intake.forms import WebForm
from services.intake.inbox import Inbox
from services.intake.limits import PerAddressLimit
from services.intake.store import fingerprint
from shared.channels import Channel
from shared.problems import problems
from shared.sop import Kind

router = APIRouter(prefix="/v1", tags=["web"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Client-chosen key: a repeat with the same key returns the same code",
    ),
]
Via = Annotated[
    Literal["web", "qr"],
    Query(description="qr: the form was opened from the printed QR code"),
]

RESPONSES = {200: {"description": "A repeat of an earlier submission"}} | problems(
    400, 413, 422, 429, 503
)


def _draft(kind: Kind, form: WebForm, inbox: Inbox, key: str | None, via: str) -> Draft:
    contact = form.contact.to_contact() if form.contact else None
    return Draft(
        kind=kind,
        channel=Channel(via),
        text=form.text,
        received_at=datetime.now(UTC),
        agency=inbox.settings.agency,
        message_id=key,
        category=form.category,
        contact=contact,
        anonymous=form.anonymous,
        confidential=form.confidential,
        fingerprint=fingerprint(f"{kind}:{form.model_dump_json()}".encode()) if key else None,
        identities=tuple(inbox.pseudonyms.of_contact(contact)),
    )


@router.post("/complaints", status_code=201, responses=RESPONSES)
async def submit_complaint(
    form: WebForm,
    inbox: CurrentInbox,
    response: Response,
    _: PerAddressLimit,
    idempotency_key: IdempotencyKey = None,
    via: Via = "web",
) -> ReceiptOut:
    """Submit a complaint (pengaduan) from the web form."""
    draft = _draft(Kind.COMPLAINT, form, inbox, idempotency_key, via)
    return receipt_out(await inbox.submit(draft), response)


@router.post("/consultations", status_code=201, responses=RESPONSES)
async def submit_consultation(
    form: WebForm,
    inbox: CurrentInbox,
    response: Response,
    _: PerAddressLimit,
    idempotency_key: IdempotencyKey = None,
    via: Via = "web",
) -> ReceiptOut:
    """Submit a consultation (konsultasi) for the Pojok OSS from the web form."""
    draft = _draft(Kind.CONSULTATION, form, inbox, idempotency_key, via)
    return receipt_out(await inbox.submit(draft), response)

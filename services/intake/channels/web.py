"""The office website's forms: complaints and consultations posted as JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Response

from services.intake.api import CurrentSettings, IntakeWriter, ReceiptOut, receipt_out
from services.intake.draft import Draft, submit
from services.intake.forms import WebForm
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

RESPONSES = {200: {"description": "A repeat of an earlier submission"}} | problems(
    400, 413, 422, 503
)


def _draft(kind: Kind, form: WebForm, settings: CurrentSettings, key: str | None) -> Draft:
    return Draft(
        kind=kind,
        channel=Channel.WEB,
        text=form.text,
        received_at=datetime.now(UTC),
        agency=settings.agency,
        message_id=key,
        category=form.category,
        contact=form.contact.to_contact() if form.contact else None,
        anonymous=form.anonymous,
        confidential=form.confidential,
        fingerprint=fingerprint(f"{kind}:{form.model_dump_json()}".encode()) if key else None,
    )


@router.post("/complaints", status_code=201, responses=RESPONSES)
async def submit_complaint(
    form: WebForm,
    writer: IntakeWriter,
    settings: CurrentSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ReceiptOut:
    """Submit a complaint (pengaduan) from the web form."""
    draft = _draft(Kind.COMPLAINT, form, settings, idempotency_key)
    return receipt_out(await submit(writer, draft), response)


@router.post("/consultations", status_code=201, responses=RESPONSES)
async def submit_consultation(
    form: WebForm,
    writer: IntakeWriter,
    settings: CurrentSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ReceiptOut:
    """Submit a consultation (konsultasi) for the Pojok OSS from the web form."""
    draft = _draft(Kind.CONSULTATION, form, settings, idempotency_key)
    return receipt_out(await submit(writer, draft), response)

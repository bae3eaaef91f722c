"""The office website's forms: complaints and consultations, as JSON or with attachments.

JSON (`/complaints`, `/consultations`) is the API; the web page posts multipart/form-data to
`/forms/complaints` and `/forms/consultations`: the same form as JSON in the `form` part, and
up to five files in `files`. A form opened from the printed QR code (counter, suggestion box)
posts with `?via=qr`, so the rekap counts it under the "quick response" channel of SOP step 1.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Header, Path, Query, Response, UploadFile
from pydantic import BaseModel, ValidationError

from services.intake.api import CurrentInbox, ReceiptKey, ReceiptOut, receipt_out
from services.intake.attachments import AttachmentRefused, check
from services.intake.draft import Attachment, Draft
from services.intake.forms import PublicForm
from services.intake.inbox import Inbox
from services.intake.store import fingerprint
from shared.categories import CATEGORIES
from shared.channels import CHANNEL_LABELS, Channel
from shared.filetypes import type_names
from shared.limits import PerAddressLimit
from shared.problems import Problem, field_error, problems
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

AgencyParam = Annotated[
    str | None,
    Query(
        alias="agency",
        max_length=63,
        description="The agency's id (its form's address /instansi/{id}/...); none: the home one",
    ),
]

RESPONSES = {200: {"description": "A repeat of an earlier submission"}} | problems(
    400, 404, 413, 422, 429, 503
)
MAX_FILES = 5
# What officers record by hand (the officer channel's `channel` choices).
RECORDED = (Channel.LETTER, Channel.PHONE, Channel.COUNTER, Channel.SUGGESTION_BOX, Channel.SMS)
FormPart = Annotated[str, Form(description="The form's fields as one JSON object")]
# A browser sends an empty file input as a part with no file name, which arrives as "".
Files = Annotated[
    list[UploadFile | str] | None,
    File(description="Up to five files of the allowed types (see form-options)"),
]


async def agency_of(inbox: Inbox, agency_id: str | None) -> str:
    """The agency a form was filled for: the one its address names (404 when no agency has
    that id), else the home agency."""
    return (await inbox.agencies.get(agency_id)).id if agency_id else inbox.settings.agency


def _draft(
    kind: Kind,
    form: PublicForm,
    inbox: Inbox,
    key: str | None,
    via: str,
    attachments: tuple[Attachment, ...] = (),
    *,
    agency: str,
) -> Draft:
    contact = form.contact.to_contact() if form.contact else None
    return Draft(
        kind=kind,
        channel=Channel(via),
        text=form.text,
        received_at=datetime.now(UTC),
        agency=agency,
        message_id=key,  # the client's key, scoped to the agency (Inbox.client_key)
        category=form.category,
        contact=contact,
        anonymous=form.anonymous,
        confidential=form.confidential,
        fingerprint=fingerprint(f"{kind}:{form.model_dump_json()}".encode()) if key else None,
        identities=tuple(inbox.pseudonyms.of_contact(contact)),
        attachments=attachments,
        receipt=bool(contact and contact.email),  # told by email (never if anonymous)
    )


def _parsed(form: str) -> PublicForm:
    """The `form` part, with the same field errors the JSON endpoints give."""
    try:
        return PublicForm.model_validate_json(form)
    except ValidationError as error:
        errors = [field_error(dict(e)) for e in error.errors()]
        fields = ", ".join(sorted({e["field"] for e in errors}))
        raise Problem(
            422, f"Periksa kembali: {fields}.", code="validation", errors=errors
        ) from None


async def attachments_of(inbox: Inbox, files: list[UploadFile | str]) -> tuple[Attachment, ...]:
    """The uploaded files, each checked by type and size; 413/415 name the file."""
    uploaded = [f for f in files if not isinstance(f, str) and f.filename]
    if len(uploaded) > MAX_FILES:
        error = {
            "field": "files",
            "code": "too_long",
            "message": f"Paling banyak {MAX_FILES} berkas.",
        }
        raise Problem(422, "Periksa kembali: files.", code="validation", errors=[error])
    checked = []
    for upload in uploaded:
        attachment = Attachment(
            filename=upload.filename or "lampiran",
            content_type=upload.content_type or "application/octet-stream",
            content=await upload.read(inbox.settings.max_attachment_bytes + 1),  # bounded
        )
        try:
            checked.append(check(inbox.settings, attachment))
        except AttachmentRefused as refused:
            refused.errors = [{"field": "files", "code": refused.code, "message": refused.detail}]
            raise
    return tuple(checked)


@router.post("/complaints", status_code=201, responses=RESPONSES)
async def submit_complaint(
    form: PublicForm,
    inbox: CurrentInbox,
    response: Response,
    key: ReceiptKey,
    _: PerAddressLimit,
    idempotency_key: IdempotencyKey = None,
    via: Via = "web",
    agency_id: AgencyParam = None,
) -> ReceiptOut:
    """Submit a complaint (pengaduan) from the web form."""
    agency = await agency_of(inbox, agency_id)
    message_id = await inbox.client_key(idempotency_key, agency=agency, channel=Channel(via))
    draft = _draft(Kind.COMPLAINT, form, inbox, message_id, via, agency=agency)
    page = inbox.settings.tracking_page_path
    return receipt_out(await inbox.submit(draft), response, key, page=page)


@router.post("/consultations", status_code=201, responses=RESPONSES)
async def submit_consultation(
    form: PublicForm,
    inbox: CurrentInbox,
    response: Response,
    key: ReceiptKey,
    _: PerAddressLimit,
    idempotency_key: IdempotencyKey = None,
    via: Via = "web",
    agency_id: AgencyParam = None,
) -> ReceiptOut:
    """Submit a consultation (konsultasi) for the Pojok OSS from the web form."""
    agency = await agency_of(inbox, agency_id)
    message_id = await inbox.client_key(idempotency_key, agency=agency, channel=Channel(via))
    draft = _draft(Kind.CONSULTATION, form, inbox, message_id, via, agency=agency)
    page = inbox.settings.tracking_page_path
    return receipt_out(await inbox.submit(draft), response, key, page=page)


FORM_KINDS = {"complaints": Kind.COMPLAINT, "consultations": Kind.CONSULTATION}
FormKind = Annotated[
    Literal["complaints", "consultations"],
    Path(description="complaints (pengaduan) atau consultations (konsultasi)"),
]


@router.post("/forms/{form_kind}", status_code=201, responses=RESPONSES | problems(415))
async def submit_form(
    form_kind: FormKind,
    form: FormPart,
    inbox: CurrentInbox,
    response: Response,
    key: ReceiptKey,
    _: PerAddressLimit,
    files: Files = None,
    idempotency_key: IdempotencyKey = None,
    via: Via = "web",
    agency_id: AgencyParam = None,
) -> ReceiptOut:
    """The web page's complaint or consultation form, with attachments (multipart/form-data)."""
    agency = await agency_of(inbox, agency_id)
    attachments = await attachments_of(inbox, files or [])
    kind = FORM_KINDS[form_kind]
    message_id = await inbox.client_key(idempotency_key, agency=agency, channel=Channel(via))
    draft = _draft(kind, _parsed(form), inbox, message_id, via, attachments, agency=agency)
    page = inbox.settings.tracking_page_path
    return receipt_out(await inbox.submit(draft), response, key, page=page)


class Choice(BaseModel):
    """One option of a select: the stored id and the label people read."""

    id: str
    label: str


class FormOptions(BaseModel):
    """What the forms offer: categories, officers' channels, attachment limits."""

    categories: list[Choice]
    recorded_channels: list[Choice]
    attachment_types: list[str]
    attachment_type_names: list[str]  # as people know them: PDF, JPEG, …
    max_attachment_bytes: int
    max_files: int


@router.get("/form-options")
async def form_options(inbox: CurrentInbox) -> FormOptions:
    """The choices the complaint, consultation and officer forms show."""
    settings = inbox.settings
    return FormOptions(
        categories=[Choice(id=key, label=label) for key, label in CATEGORIES.items()],
        recorded_channels=[
            Choice(id=channel.value, label=CHANNEL_LABELS[channel]) for channel in RECORDED
        ],
        attachment_types=list(settings.attachment_types),
        attachment_type_names=type_names(settings.attachment_types),
        max_attachment_bytes=settings.max_attachment_bytes,
        max_files=MAX_FILES,
    )

"""Open311 GeoReport v2, POST requests: a partner app files a complaint or a consultation.

The front door sends POST /open311/v2/requests.{json,xml} here; every GET goes to reporting
(shared/open311.py). The spec's form fields map onto a submission on the `open311` channel:
`description` is the text, the location (`address_string`, `lat`/`long`) is kept with it,
`first_name`/`last_name`/`email`/`phone` are the sealed contact as on every channel, and
`media_url` is kept as a reference (never fetched). The spec asks for an `api_key`: a partner
posts with one of `open311_api_keys`; none configured means POST is refused. The answer's
`service_request_id` and `token` are both the tracking code.
"""

from __future__ import annotations

import hmac
import mimetypes
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from services.intake.api import CurrentInbox
from services.intake.draft import Attachment, Contact, Draft
from services.intake.forms import TEXT_MAX, ContactIn
from services.intake.inbox import Inbox
from shared.channels import Channel
from shared.limits import RateLimiter
from shared.open311 import (
    PREFIX,
    Extension,
    Open311Error,
    answer,
    documented,
    fmt_of,
    kind_and_category,
    unknown_jurisdiction,
)
from shared.problems import Problem
from shared.service import client_address
from shared.settings import Settings
from shared.text import CLEAN, Counted

router = APIRouter(prefix=PREFIX, tags=["open311"])

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_FIELDS = 40


class ServiceRequest(BaseModel):
    """The spec's POST fields we read (others, such as attribute[...], are ignored)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    service_code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    description: Annotated[str, StringConstraints(min_length=10, max_length=TEXT_MAX), CLEAN]
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: Annotated[str, StringConstraints(max_length=500), CLEAN] | None = None
    first_name: Short | None = None
    last_name: Short | None = None
    email: str | None = None
    phone: str | None = None
    media_url: Annotated[str, Counted(head="https?://", unit=r"\S", least=1, most=2000)] | None = (
        None
    )
    api_key: str | None = Field(default=None, description="The partner's key (open311_api_keys)")
    jurisdiction_id: str | None = Field(
        default=None, description="The agency's id (none: the home one)"
    )

    def text(self) -> str:
        """The description, with the location the app gave."""
        where = [self.address_string or ""]
        if self.lat is not None and self.long is not None:
            where.append(f"({self.lat:.6f}, {self.long:.6f})")
        location = " ".join(part for part in where if part)
        return f"{self.description}\n\nLokasi: {location}" if location else self.description

    def contact(self) -> Contact | None:
        """The sealed contact, validated as the web form validates it."""
        name = " ".join(part for part in (self.first_name, self.last_name) if part) or None
        given = ContactIn(name=name, phone=self.phone or None, email=self.email or None)
        return None if given.is_empty() else given.to_contact()


def _check_key(settings: Settings, given: str | None) -> None:
    keys = [k.strip() for k in settings.open311_api_keys.get_secret_value().split(",")]
    presented = (given or "").encode()
    if not any(key and hmac.compare_digest(presented, key.encode()) for key in keys):
        raise Open311Error(403, "api_key tidak sah atau tidak ada.")


def _parsed(form: FormData) -> ServiceRequest:
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        return ServiceRequest.model_validate(fields)
    except ValidationError as error:
        names = sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]})
        raise Open311Error(400, f"Periksa kembali: {', '.join(names)}.") from None


def _media(url: str | None) -> tuple[Attachment, ...]:
    if url is None:
        return ()
    guessed = mimetypes.guess_type(url.split("?")[0])[0] or "application/octet-stream"
    return (Attachment("media_url", guessed, reference=url, caption="media_url Open311"),)


async def _form(request: Request) -> FormData:
    """The form body (urlencoded or multipart without files), bounded in fields."""
    try:
        return await request.form(max_files=0, max_fields=MAX_FIELDS)
    except HTTPException as error:  # a malformed multipart body (400), a body too large (413)
        detail = "Isi permintaan bukan formulir yang sah." if error.status_code == 400 else ""
        raise Open311Error(error.status_code, detail or str(error.detail)) from None


FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": ServiceRequest.model_json_schema()}
        },
    }
}


@router.post(
    "/requests.{fmt}",
    status_code=201,
    responses=documented(400, 403, 404, 413, 429, 503, ok=201),
    openapi_extra=FORM,
)
async def create_request(fmt: Extension, request: Request, inbox: CurrentInbox) -> Response:
    """POST Service Request: file a complaint (or a consultation) through a partner app."""
    chosen = fmt_of(fmt)
    try:
        limiter: RateLimiter = request.app.state.limiter
        await limiter.hit(
            "ip", client_address(request), inbox.settings.rate_ip_per_minute, "alamat ini"
        )
        form = await _form(request)
        agency = await _jurisdiction(inbox, _field(form, "jurisdiction_id"))
        _check_key(inbox.settings, _field(form, "api_key"))
        draft = _draft(inbox, _parsed(form), agency)
        receipt = await inbox.submit(draft)
    except Problem as problem:
        raise Open311Error.of(problem) from None
    row = {
        "service_request_id": receipt.tracking_code,
        "token": receipt.tracking_code,
        "service_notice": "Diterima. Pantau dengan service_request_id (nomor tiket).",
        "account_id": None,
    }
    return answer(chosen, "service_requests", "request", [row], status=201)


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


async def _jurisdiction(inbox: Inbox, given: str | None) -> str:
    """The agency a request is filed with: its jurisdiction_id (an agency of this deployment,
    else 404), or the home agency."""
    if given is None:
        return inbox.settings.agency
    if not await inbox.agencies.serves(given):
        raise unknown_jurisdiction()
    return given


def _draft(inbox: CurrentInbox, fields: ServiceRequest, agency: str) -> Draft:
    kind, category = kind_and_category(fields.service_code)
    try:
        contact = fields.contact()
    except ValidationError as error:
        names = sorted({_contact_field(e["loc"]) for e in error.errors()})
        raise Open311Error(400, f"Periksa kembali: {', '.join(names)}.") from None
    return Draft(
        kind=kind,
        channel=Channel.OPEN311,
        text=fields.text(),
        received_at=datetime.now(UTC),
        agency=agency,
        category=category,
        contact=contact,
        attachments=_media(fields.media_url),
        identities=tuple(inbox.pseudonyms.of_contact(contact)) if contact else (),
    )


def _contact_field(loc: tuple[int | str, ...]) -> str:
    field = str(loc[0]) if loc else ""
    return {"name": "first_name"}.get(field, field)

"""QR codes: the "quick response" of SOP step 1 that opens the public web form, and one per
tracking code that opens its tracking page.

Print the form's code at the counter (loket) and on the suggestion box; the form it opens posts with
`?via=qr`, so those submissions count under the QR channel.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Query, Response

from services.intake.agency_pages import PREFIX
from services.intake.api import CurrentInbox, CurrentSettings
from services.intake.inbox import Inbox
from shared.problems import Problem, problems
from shared.settings import Settings
from shared.tracking_code import normalize

router = APIRouter(prefix="/v1/qr", tags=["qr"])

Place = Annotated[
    Literal["counter", "suggestion_box"],
    Query(description="Where the code is printed: the counter or the suggestion box"),
]
Scale = Annotated[int, Query(ge=1, le=40, description="Pixels per module")]
ForAgency = Annotated[
    str | None,
    Query(alias="agency", max_length=63, description="The agency whose own form it opens"),
]


def form_url(settings: Settings, place: str, agency: str | None = None) -> str:
    """The address the code opens: the office's form, or an agency's own form page."""
    query = urlencode({"via": "qr", "tempat": place})
    path = f"{PREFIX}/{agency}/pengaduan" if agency else settings.web_form_path
    return f"{settings.public_url.rstrip('/')}{path}?{query}"


async def _code(inbox: Inbox, place: str, agency_id: str | None) -> segno.QRCode:
    """The form's QR code; an agency no one registered is a 404 (the store asked only then)."""
    agency = (await inbox.agencies.get(agency_id)).id if agency_id else None
    return segno.make(form_url(inbox.settings, place, agency), error="q", micro=False)


@router.get(
    ".png",
    response_class=Response,
    responses=problems(404, 422) | {200: {"content": {"image/png": {}}}},
)
async def qr_png(
    inbox: CurrentInbox, place: Place = "counter", scale: Scale = 10, agency_id: ForAgency = None
) -> Response:
    """The QR code as PNG, ready to print."""
    out = io.BytesIO()
    (await _code(inbox, place, agency_id)).save(out, kind="png", scale=scale, border=4)
    return Response(out.getvalue(), media_type="image/png")


@router.get(
    ".svg",
    response_class=Response,
    responses=problems(404, 422) | {200: {"content": {"image/svg+xml": {}}}},
)
async def qr_svg(
    inbox: CurrentInbox, place: Place = "counter", scale: Scale = 10, agency_id: ForAgency = None
) -> Response:
    """The QR code as SVG, for print shops."""
    out = io.BytesIO()
    code = await _code(inbox, place, agency_id)
    code.save(out, kind="svg", scale=scale, border=4, title="Formulir pengaduan")
    return Response(out.getvalue(), media_type="image/svg+xml")


def tracking_url(settings: Settings, code: str) -> str:
    """The public tracking page of a case."""
    query = urlencode({"kode": code})
    return f"{settings.public_url.rstrip('/')}{settings.tracking_page_path}?{query}"


@router.get(
    "/track/{code}.svg",
    response_class=Response,
    responses=problems(404, 422) | {200: {"content": {"image/svg+xml": {}}}},
)
async def tracking_qr(settings: CurrentSettings, code: str, scale: Scale = 6) -> Response:
    """A QR code that opens the tracking page of this code (on the confirmation page)."""
    normal = normalize(code)
    if normal is None:
        raise Problem(404, "Nomor tiket tidak dikenal.", code="tracking-code")
    out = io.BytesIO()
    segno.make(tracking_url(settings, normal), error="m").save(
        out, kind="svg", scale=scale, border=2, title=f"Lacak {normal}"
    )
    return Response(out.getvalue(), media_type="image/svg+xml")

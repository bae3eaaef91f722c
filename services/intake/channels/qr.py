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

from services.intake.api import CurrentSettings
from shared.problems import Problem, problems
from shared.settings import Settings
from shared.tracking_code import normalize

router = APIRouter(prefix="/v1/qr", tags=["qr"])

Place = Annotated[
    Literal["counter", "suggestion_box"],
    Query(description="Where the code is printed: the counter or the suggestion box"),
]
Scale = Annotated[int, Query(ge=1, le=40, description="Pixels per module")]


def form_url(settings: Settings, place: str) -> str:
    """The address the code opens."""
    query = urlencode({"via": "qr", "tempat": place})
    return f"{settings.public_url.rstrip('/')}{settings.web_form_path}?{query}"


def _code(settings: Settings, place: str) -> segno.QRCode:
    return segno.make(form_url(settings, place), error="q", micro=False)


@router.get(
    ".png",
    response_class=Response,
    responses=problems(422) | {200: {"content": {"image/png": {}}}},
)
async def qr_png(
    settings: CurrentSettings, place: Place = "counter", scale: Scale = 10
) -> Response:
    """The QR code as PNG, ready to print."""
    out = io.BytesIO()
    _code(settings, place).save(out, kind="png", scale=scale, border=4)
    return Response(out.getvalue(), media_type="image/png")


@router.get(
    ".svg",
    response_class=Response,
    responses=problems(422) | {200: {"content": {"image/svg+xml": {}}}},
)
async def qr_svg(
    settings: CurrentSettings, place: Place = "counter", scale: Scale = 10
) -> Response:
    """The QR code as SVG, for print shops."""
    out = io.BytesIO()
    _code(settings, place).save(out, kind="svg", scale=scale, border=4, title="Formulir pengaduan")
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
        raise Problem(404, "Kode pelacakan tidak dikenal.", code="tracking-code")
    out = io.BytesIO()
    segno.make(tracking_url(settings, normal), error="m").save(
        out, kind="svg", scale=scale, border=2, title=f"Lacak {normal}"
    )
    return Response(out.getvalue(), media_type="image/svg+xml")

"""The "quick response" of SOP step 1: a printable QR code that opens the public web form.

Print it at the counter (loket) and on the suggestion box; the form it opens posts with
`?via=qr`, so those submissions count under the QR channel.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Query, Response

from services.intake.api import CurrentSettings
from shared.problems import problems
from shared.settings import Settings

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

"""QR codes: the "quick response" of SOP step 1 that opens the public web form, and one per
tracking code that opens its tracking page.

Print the form's code at the counter (loket) and on the suggestion box; the form it opens posts with
`?via=qr`, so those submissions count under the QR channel.
"""

from __future__ import annotations

import asyncio
import functools
import io
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Query, Response

from services.intake.agency_pages import PREFIX
from services.intake.api import CurrentInbox, CurrentSettings
from services.intake.inbox import Inbox
from shared.limits import PublicReadLimit
from shared.problems import Problem, problems
from shared.settings import Settings
from shared.tracking_code import normalize

router = APIRouter(prefix="/v1/qr", tags=["qr"])

DRAWN_AT_MOST = 256
"""Form QR files kept drawn (two places, two kinds, the scales asked, per agency)."""
_DRAWING = ThreadPoolExecutor(1, thread_name_prefix="qr")
"""Codes are drawn one at a time on a thread of their own: never on the threads the store's
calls run on (a flood of codes not drawn yet made those wait past their deadline)."""

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


async def _form_url(inbox: Inbox, place: str, agency_id: str | None) -> str:
    """What the form's QR code opens; an agency no one registered is a 404 (the store asked
    only then)."""
    agency = (await inbox.agencies.get(agency_id)).id if agency_id else None
    return form_url(inbox.settings, place, agency)


@functools.lru_cache(maxsize=DRAWN_AT_MOST)
def _drawn(url: str, kind: str, scale: int, title: str | None = None) -> bytes:
    """A form's QR code as a file: the same for every request that asks for it, so drawn once
    (a PNG at scale 40 took a tenth of a second, on the event loop, for every request)."""
    out = io.BytesIO()
    options: dict[str, Any] = {"title": title} if title else {}
    segno.make(url, error="q", micro=False).save(out, kind=kind, scale=scale, border=4, **options)
    return out.getvalue()


async def _form_code(
    inbox: Inbox, place: str, agency_id: str | None, kind: str, scale: int
) -> bytes:
    """The form's QR code as a file, drawn beside the event loop the first time."""
    url = await _form_url(inbox, place, agency_id)
    title = "Formulir pengaduan" if kind == "svg" else None
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_DRAWING, partial(_drawn, url, kind, scale, title))


@router.get(
    ".png",
    response_class=Response,
    responses=problems(404, 422, 429) | {200: {"content": {"image/png": {}}}},
)
async def qr_png(
    _limited: PublicReadLimit,
    inbox: CurrentInbox,
    place: Place = "counter",
    scale: Scale = 10,
    agency_id: ForAgency = None,
) -> Response:
    """The QR code as PNG, ready to print."""
    return Response(await _form_code(inbox, place, agency_id, "png", scale), media_type="image/png")


@router.get(
    ".svg",
    response_class=Response,
    responses=problems(404, 422, 429) | {200: {"content": {"image/svg+xml": {}}}},
)
async def qr_svg(
    _limited: PublicReadLimit,
    inbox: CurrentInbox,
    place: Place = "counter",
    scale: Scale = 10,
    agency_id: ForAgency = None,
) -> Response:
    """The QR code as SVG, for print shops."""
    svg = await _form_code(inbox, place, agency_id, "svg", scale)
    return Response(svg, media_type="image/svg+xml")


def tracking_url(settings: Settings, code: str) -> str:
    """The public tracking page of a case."""
    query = urlencode({"kode": code})
    return f"{settings.public_url.rstrip('/')}{settings.tracking_page_path}?{query}"


@router.get(
    "/track/{code}.svg",
    response_class=Response,
    responses=problems(404, 422, 429) | {200: {"content": {"image/svg+xml": {}}}},
)
async def tracking_qr(
    _limited: PublicReadLimit, settings: CurrentSettings, code: str, scale: Scale = 6
) -> Response:
    """A QR code that opens the tracking page of this code (on the confirmation page)."""
    normal = normalize(code)
    if normal is None:
        raise Problem(404, "Nomor tiket tidak dikenal.", code="tracking-code")
    out = io.BytesIO()
    segno.make(tracking_url(settings, normal), error="m").save(
        out, kind="svg", scale=scale, border=2, title=f"Lacak {normal}"
    )
    return Response(out.getvalue(), media_type="image/svg+xml")

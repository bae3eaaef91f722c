"""Each agency's own public form: /instansi/{agency_id}/pengaduan (and /konsultasi).

The page is the web form (web/formulir.html) naming the agency; it posts to the same API with
`?agency={agency_id}`, so the submission is that agency's. An agency no one registered is a
404 page in Bahasa Indonesia. `GET /intake/v1/agencies/{agency_id}` says what a page shows.
"""

from __future__ import annotations

import html
import re
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from services.intake.agencies import UnknownAgency
from services.intake.api import CurrentInbox
from shared.agencies import Agency
from shared.problems import problems

WEB_ROOT = FilePath(__file__).resolve().parents[2] / "web"
PREFIX = "/instansi"
"""The public pages of an agency (the front door sends this prefix to intake)."""
KINDS = {"pengaduan": "Formulir pengaduan", "konsultasi": "Formulir konsultasi"}

pages = APIRouter(prefix=PREFIX, tags=["pages"], include_in_schema=False)
router = APIRouter(prefix="/v1", tags=["web"])

AgencyIdPath = Annotated[str, Path(max_length=63, description="Id instansi")]
# The pages take any text: an address that is no agency's page is the 404 page, never JSON.
PageAgency = Annotated[str, Path(description="Id instansi")]
PageKind = Annotated[str, Path(description="pengaduan atau konsultasi")]
ID_LENGTH = 63


class AgencyOut(BaseModel):
    """What the public may know of an agency: its id and name."""

    id: str
    name: str


@router.get("/agencies/{agency_id}", responses=problems(404))
async def agency(agency_id: AgencyIdPath, inbox: CurrentInbox) -> AgencyOut:
    """An agency's id and name, for its public pages."""
    found = await inbox.agencies.get(agency_id)
    return AgencyOut(id=found.id, name=found.name)


@pages.get("", response_class=HTMLResponse)
@pages.get("/", response_class=HTMLResponse)
async def no_agency() -> HTMLResponse:
    """The agency pages' own address names no agency: the 404 page."""
    return _missing()


@pages.get("/{agency_id}", response_class=HTMLResponse)
async def agency_home(agency_id: PageAgency, inbox: CurrentInbox) -> HTMLResponse:
    """An agency's address alone is its complaint form."""
    return await form_page(agency_id, "pengaduan", inbox)


@pages.get("/{agency_id}/{form_kind}", response_class=HTMLResponse)
async def form_page(
    agency_id: PageAgency, form_kind: PageKind, inbox: CurrentInbox
) -> HTMLResponse:
    """The agency's form page; 404 (a page) for an agency no one registered, or another page."""
    if form_kind not in KINDS:
        return _missing()
    try:
        found = await inbox.agencies.get(agency_id) if len(agency_id) <= ID_LENGTH else None
    except UnknownAgency:
        found = None
    if found is None:
        return HTMLResponse(unknown_page(agency_id[:ID_LENGTH]), status_code=404, headers=NO_CACHE)
    return HTMLResponse(form_html(found, form_kind), headers=NO_CACHE)


def _missing() -> HTMLResponse:
    missing = (WEB_ROOT / "404.html").read_text(encoding="utf-8")
    return HTMLResponse(missing, status_code=404, headers=NO_CACHE)


NO_CACHE = {"cache-control": "no-cache"}


def form_html(agency: Agency, form_kind: str) -> str:
    """web/formulir.html naming the agency, with its id for the form's submission."""
    page = (WEB_ROOT / "formulir.html").read_text(encoding="utf-8")
    name = html.escape(agency.name)
    meta = (
        f'<meta name="aduan-instansi" content="{html.escape(agency.id)}" '
        f'data-nama="{name}" data-jenis="{form_kind}">'
    )
    page = page.replace('<meta charset="utf-8">', f'<meta charset="utf-8">\n  {meta}', 1)
    title = f"<title>{KINDS[form_kind]} — {name}</title>"
    page = re.sub(r"<title>.*?</title>", lambda _: title, page, count=1)
    heading = f'<p class="instansi" id="instansi">{name}</p>'
    return re.sub(
        r'<h1 id="judul">.*?</h1>', lambda found: f"{found[0]}\n    {heading}", page, count=1
    )


def unknown_page(agency_id: str) -> str:
    """web/404.html saying that no agency has this id."""
    page = (WEB_ROOT / "404.html").read_text(encoding="utf-8")
    page = page.replace("Halaman tidak ditemukan", "Instansi tidak ditemukan")
    said = (
        f"<p>Tidak ada instansi dengan kode <strong>{html.escape(agency_id)}</strong>. Periksa "
        'kembali alamat formulir, kembali ke <a href="/">beranda</a>, atau '
        '<a href="/lacak">lacak pengaduan</a> dengan nomor tiket Anda.</p>'
    )
    return re.sub(r"<p>.*?</p>", lambda _: said, page, count=1, flags=re.DOTALL)

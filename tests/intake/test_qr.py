"""The printable QR code opens the public form, and the form it opens counts as channel qr."""

from __future__ import annotations

import asyncio
import base64
import time

import segno

from services.intake.channels.qr import form_url
from tests.intake.conftest import Desk


async def test_the_qr_code_is_a_png_and_an_svg_of_the_form_address(desk: Desk) -> None:
    png = await desk.http.get("/intake/v1/qr.png", params={"place": "suggestion_box", "scale": 4})
    svg = await desk.http.get("/intake/v1/qr.svg")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    url = form_url(desk.settings, "suggestion_box")
    assert url.endswith("/formulir?via=qr&tempat=suggestion_box")
    expected = segno.make(url, error="q", micro=False)
    assert (
        expected.png_data_uri(scale=4)
        == "data:image/png;base64," + base64.b64encode(png.content).decode()
    )


async def test_a_form_opened_from_the_qr_code_counts_as_qr(desk: Desk) -> None:
    form = {"text": "Antrian di loket terlalu lama, mohon ditambah petugas."}
    answer = await desk.http.post("/intake/v1/complaints", params={"via": "qr"}, json=form)
    assert answer.status_code == 201
    [row] = await desk.fetch("SELECT state FROM intake.submissions_events")
    assert b'"channel":"qr"' in bytes(row["state"])


async def test_a_flood_from_one_address_is_a_429(desk: Desk) -> None:
    limit = desk.settings.rate_ip_per_minute
    form = {"text": "Antrian di loket terlalu lama, mohon ditambah petugas."}
    statuses = [
        (await desk.http.post("/intake/v1/complaints", json=form)).status_code
        for _ in range(limit + 2)
    ]
    assert statuses.count(201) == limit
    assert statuses[-2:] == [429, 429]
    assert len(await desk.events()) == limit


async def test_a_flood_of_the_largest_form_codes_is_answered_without_drawing_each(
    desk: Desk,
) -> None:
    """The form's code is the same for every request: it is drawn once, beside the event loop.
    Drawn on the loop for every request (25 ms at scale 40), a flood of them held intake."""
    await desk.http.get("/intake/v1/qr.png", params={"scale": 39})  # everything else warm
    began = time.monotonic()
    first = await desk.http.get("/intake/v1/qr.png", params={"scale": 40})
    one = time.monotonic() - began
    assert first.status_code == 200, first.text
    began = time.monotonic()
    flood = await asyncio.gather(
        *(desk.http.get("/intake/v1/qr.png", params={"scale": 40}) for _ in range(40))
    )
    forty = time.monotonic() - began
    assert {answer.content for answer in flood} == {first.content}
    assert forty < 10 * one, f"forty codes took {forty:.3f} s, the first alone {one:.3f} s"

"""An agency's own form page in a browser: it names the agency and files with it."""

from __future__ import annotations

import json
import re

import asyncpg
from playwright.async_api import Page, expect

from shared.agencies import Agency, save
from shared.tracking_code import normalize
from tests.web.conftest import Stack, screenshot

DINAS_B = Agency(id="dinas-b", name="Dinas Perhubungan Provinsi")
COMPLAINT = "Lampu lalu lintas di simpang tiga Kebomas mati sejak kemarin sore."


async def test_a_citizen_files_on_an_agency_form_and_it_is_that_agency_case(
    stack: Stack, phone: Page
) -> None:
    conn = await asyncpg.connect(stack.settings.postgres_dsn())
    try:
        await save(conn, DINAS_B)
    finally:
        await conn.close()
    await phone.goto(stack.url("/instansi/dinas-b/pengaduan"))
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Formulir pengaduan")
    await expect(phone.locator("#instansi")).to_have_text("Dinas Perhubungan Provinsi")
    await expect(phone).to_have_title("Formulir pengaduan — Dinas Perhubungan Provinsi")
    await phone.get_by_label("Isi pengaduan").fill(COMPLAINT)
    await phone.get_by_label("Kirim secara anonim").check()
    await screenshot(phone, "formulir-instansi")
    await phone.get_by_role("button", name="Kirim pengaduan").click()
    await phone.wait_for_url(re.compile(r"/terima-kasih\?kode="))
    code = (await phone.locator("#kode").inner_text()).strip()
    assert normalize(code) == code
    [row] = await stack.rows(
        "SELECT e.state FROM intake.submissions_events e JOIN intake.submission_index i "
        "ON i.case_id = e.originator_id WHERE i.tracking_code = $1",
        code,
    )
    assert json.loads(bytes(row["state"]))["agency"] == "dinas-b"  # the stored event


async def test_an_unknown_agency_form_is_a_page_saying_so(stack: Stack, phone: Page) -> None:
    answer = await phone.goto(stack.url("/instansi/tidak-ada/pengaduan"))
    assert answer is not None
    assert answer.status == 404
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Instansi tidak ditemukan")

"""Finding a case when the citizen lost their code: by the complainant's phone, e-mail, NIK or
name, a letter's number, words of the complaint, and the read model's filters; the same list as
CSV and XLSX in the office's language and time. Through the whole office as processes, and on
the search page in a browser.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from playwright.async_api import Page, expect

from shared.sop import Role
from tests.web.casework import bearer, opened_case, ready
from tests.web.conftest import Stack, screenshot, sign_in

WIB = ZoneInfo("Asia/Jakarta")
LETTER_NUMBER = "503/117/437.73/2026"
BUILDING = {
    "text": "Izin mendirikan bangunan kami tertahan di kecamatan; hubungi saya di 081234567890.",
    "category": "perizinan_non_berusaha",
    "contact": {
        "name": "Siti Aminah",
        "phone": "0812-3456-7890",
        "email": "Siti.Aminah@contoh.id",
        "nik": "3525010101900001",
    },
    "consent": True,
}
LETTER = {
    "channel": "letter",
    "reference": LETTER_NUMBER,
    "text": "Ada pungutan liar saat kami mengurus izin reklame di loket pelayanan. "
    "NIK saya 3525010101900002, surel bambang@contoh.id.",
    "category": "pungli",
    "contact": {"name": "Bambang Sutrisno", "phone": "081398765432"},
}
SLOW = {
    "text": "Pelayanan perizinan lambat sekali, mohon diperbaiki. NIK 3525010101900003.",
    "anonymous": True,
}


async def _submit(stack: Stack) -> dict[str, str]:
    """Three cases: a web complaint with every identifier, a recorded letter, an anonymous one."""
    codes = {}
    for name, path, body, role in (
        ("building", "/intake/v1/complaints", BUILDING, None),
        ("letter", "/intake/v1/officer/submissions", LETTER, Role.PETUGAS),
        ("slow", "/intake/v1/complaints", SLOW, None),
    ):
        headers = await bearer(stack, role) if role else {}
        answer = await stack.http.post(path, json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        codes[name] = answer.json()["tracking_code"]
    for code in codes.values():
        await opened_case(stack, code)
    return codes


async def _found(stack: Stack, role: Role, **params: Any) -> list[str]:
    answer = await stack.http.get(
        "/reporting/v1/cases", params=params, headers=await bearer(stack, role)
    )
    assert answer.status_code == 200, answer.text
    return sorted(row["tracking_code"] for row in answer.json())


async def test_each_criterion_and_filter_finds_its_case(stack: Stack) -> None:
    codes = await _submit(stack)
    building, letter, slow = codes["building"], codes["letter"], codes["slow"]
    tim = Role.TIM_PENGADUAN
    expected: list[tuple[dict[str, Any], list[str]]] = [
        ({"phone": "+62 812-3456-7890"}, [building]),  # another spelling of the same number
        ({"phone": "0813 9876 5432"}, [letter]),
        ({"phone": "081200000000"}, []),
        ({"email": "siti.aminah@CONTOH.id"}, [building]),
        ({"nik": "3525010101900001"}, [building]),
        ({"nik": "3525010101900002"}, [letter]),  # written in the text, not the contact
        ({"email": "Bambang@contoh.id"}, [letter]),
        ({"nik": "3525010101900003"}, []),  # in an anonymous case's text: identity not shown
        ({"name": "aminah"}, [building]),
        ({"name": "Siti  AMINAH"}, [building]),
        ({"name": "Siti Sutrisno"}, []),  # every word must be the same person's
        ({"letter": LETTER_NUMBER}, [letter]),
        ({"letter": "503/118/437.73/2026"}, []),
        ({"q": "memungut reklame"}, [letter]),  # stems: pungutan, memungut -> pungut
        ({"q": "bangunan tertahan"}, [building]),
        ({"q": "perizinan"}, sorted(codes.values())),  # perizinan, izin -> izin
        ({"q": "lambat"}, [slow]),
        ({"q": "bangunan", "phone": "081398765432"}, []),  # both must match
        ({"channel": "letter"}, [letter]),
        ({"category": "pungli"}, [letter]),
        ({"kind": "complaint"}, sorted(codes.values())),
        ({"status": "in_progress"}, sorted(codes.values())),
        ({"status": "resolved"}, []),
        ({"step": "identification"}, sorted(codes.values())),
        ({"step": "disposition"}, []),
        ({"overdue": "false"}, sorted(codes.values())),
        ({"overdue": "true"}, []),
        ({"received_from": str(datetime.now(WIB).date())}, sorted(codes.values())),
        ({"received_to": str(datetime.now(WIB).date() - timedelta(days=1))}, []),
        ({"code": building}, [building]),
    ]
    for params, codes_found in expected:
        assert await _found(stack, tim, **params) == codes_found, params


async def test_identity_and_text_criteria_need_their_facet(stack: Stack) -> None:
    codes = await _submit(stack)
    for role, params in (
        (Role.KABID, {"name": "aminah"}),
        (Role.KABID, {"phone": "081234567890"}),
        (Role.ANALIS, {"nik": "3525010101900001"}),
        (Role.ANALIS, {"q": "reklame"}),
    ):
        answer = await stack.http.get(
            "/reporting/v1/cases", params=params, headers=await bearer(stack, role)
        )
        assert answer.status_code == 403, (role, params, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "Peran Anda" in answer.json()["detail"]
    allowed = await stack.http.get(
        "/reporting/v1/cases/criteria", headers=await bearer(stack, Role.KABID)
    )
    assert allowed.json() == ["letter", "words"]

    async def excerpt(role: Role) -> str:
        answer = await stack.http.get(
            "/reporting/v1/cases", params={"q": "bangunan"}, headers=await bearer(stack, role)
        )
        [row] = answer.json()
        assert row["tracking_code"] == codes["building"]
        text: str = row["excerpt"]
        return text

    assert "081234567890" in await excerpt(Role.TIM_PENGADUAN)
    masked = await excerpt(Role.KABID)  # the text without the identity in it
    assert "081234567890" not in masked
    assert "[telepon]" in masked


async def test_pages_of_a_search_never_tell_of_a_case_hidden_from_the_officer(
    stack: Stack,
) -> None:
    """The Pojok OSS sees a confidential consultation at its steps, never its complainant: a
    search by phone must neither find it nor count it in a page (limit, offset)."""
    phone = "081377712345"
    consultation = {
        "text": "Bagaimana cara mengurus izin usaha mikro melalui OSS?",
        "contact": {"name": "Dewi Lestari", "phone": phone},
        "consent": True,
    }
    codes = []
    for confidential in (False, True):  # the confidential one is the newer: first in the list
        answer = await stack.http.post(
            "/intake/v1/consultations", json={**consultation, "confidential": confidential}
        )
        assert answer.status_code == 201, answer.text
        codes.append(answer.json()["tracking_code"])
        await opened_case(stack, codes[-1])
    normal, _ = codes
    oss = Role.PETUGAS_OSS
    assert await _found(stack, oss, phone=phone) == [normal]
    assert await _found(stack, oss, phone=phone, limit=1) == [normal]
    assert await _found(stack, oss, phone=phone, limit=1, offset=1) == []


def _csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def _xlsx(content: bytes) -> list[dict[str, Any]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    names = [str(name) for name in rows[0]]
    return [dict(zip(names, row, strict=True)) for row in rows[1:]]


async def test_exports_speak_the_office_language_and_time(stack: Stack) -> None:
    codes = await _submit(stack)
    headers = await bearer(stack, Role.TIM_PENGADUAN)
    track = await stack.http.get(f"/reporting/v1/track/{codes['letter']}")
    received = datetime.fromisoformat(track.json()["received_at"]).astimezone(WIB)
    params = {"channel": "letter"}
    got = await stack.http.get("/reporting/v1/cases.csv", params=params, headers=headers)
    assert got.status_code == 200, got.text
    [row] = _csv(got.content)
    assert "case_id" not in row
    assert row["Nomor tiket"] == codes["letter"]
    assert row["Jenis"] == "Pengaduan"
    assert row["Kanal"] == "Surat"
    assert row["Status"] == "Diproses"
    assert row["Diteruskan ke BKPM"] == "Tidak"
    assert row["Diterima (WIB)"] == received.strftime("%Y-%m-%d %H:%M:%S")
    assert not {"True", "False"} & set(row.values())

    got = await stack.http.get("/reporting/v1/cases.xlsx", params=params, headers=headers)
    assert got.status_code == 200, got.text
    [cells] = _xlsx(got.content)
    assert cells["Nomor tiket"] == codes["letter"]
    assert cells["Kategori"] == "Pungutan liar / gratifikasi"
    assert cells["Diterima (WIB)"] == received.replace(tzinfo=None, microsecond=0)
    assert cells["Melewati tenggat"] == "Tidak"


async def _search(desk: Page, **fields: str) -> None:
    form = desk.locator("#saring")
    for label, value in fields.items():
        await form.get_by_label(label, exact=True).fill(value)
    await form.get_by_role("button", name="Cari").click()
    await ready(desk, "#cari")


async def _clear(desk: Page) -> None:
    for control in await desk.locator("#saring input").all():
        await control.fill("")


async def test_an_officer_finds_a_case_by_phone_name_letter_and_words(
    stack: Stack, desk: Page
) -> None:
    """Acceptance 2 of issue 15: each search finds the case; the page prints no "null"."""
    codes = await _submit(stack)
    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina")
    await desk.goto(stack.url("/petugas/cari"))
    await ready(desk, "#cari")
    rows = desk.locator("#kasus-ditemukan tbody tr")
    for fields, code in (
        ({"Nomor telepon": "+62 812 3456 7890"}, codes["building"]),
        ({"Nama pelapor": "siti aminah"}, codes["building"]),
        ({"Nomor surat": LETTER_NUMBER}, codes["letter"]),
        ({"Kata dalam isi pengaduan": "pungutan reklame"}, codes["letter"]),
    ):
        await _clear(desk)
        await _search(desk, **fields)
        await expect(rows).to_have_count(1)
        await expect(rows).to_have_attribute("data-code", code)
    await expect(rows.locator(".cuplikan")).to_contain_text("pungutan liar")
    await screenshot(desk, "petugas-cari-kata")

    await _clear(desk)
    await _search(desk, **{"Nama pelapor": "Tidak Ada"})
    await expect(desk.locator("#hasil")).to_have_text("0 kasus ditemukan.")

    await _clear(desk)
    await _search(desk, **{"Nomor surat": LETTER_NUMBER})
    async with desk.expect_download() as downloading:
        await desk.get_by_role("button", name="Unduh XLSX").click()
    download = await downloading.value
    assert download.suggested_filename == "kasus.xlsx"
    content = await asyncio.to_thread(Path(await download.path()).read_bytes)
    [cells] = _xlsx(content)
    assert cells["Nomor tiket"] == codes["letter"]
    assert isinstance(cells["Diterima (WIB)"], datetime)


async def test_a_role_without_identity_rights_cannot_search_by_name(
    stack: Stack, desk: Page
) -> None:
    codes = await _submit(stack)
    await sign_in(desk, stack, Role.KABID, "Budi")
    await desk.goto(stack.url("/petugas/cari?name=aminah"))
    await ready(desk, "#cari")
    form = desk.locator("#saring")
    await expect(form.get_by_label("Nama pelapor")).to_have_count(0)
    await expect(form.get_by_label("Nomor telepon")).to_have_count(0)
    await expect(desk.locator("#pelapor")).to_be_hidden()
    await _search(desk, **{"Kata dalam isi pengaduan": "bangunan tertahan"})
    rows = desk.locator("#kasus-ditemukan tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-code", codes["building"])
    await expect(rows.locator(".cuplikan")).to_contain_text("[telepon]")
    await screenshot(desk, "petugas-cari-kabid")

    token = await desk.evaluate("sessionStorage.getItem('aduan.sesi')")
    refused = await stack.http.get(
        "/reporting/v1/cases",
        params={"name": "aminah"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "Peran Anda tidak dapat mencari menurut identitas atau kontak pelapor."
    )

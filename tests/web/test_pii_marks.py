"""Personal data typed into a complaint on the officer's case page: the front desk (identity
rights) reads it in clear with each item marked; the division head reads it masked, unmarked."""

from __future__ import annotations

from playwright.async_api import Page, expect

from shared.sop import Role
from tests.web.casework import COMPLAINT, open_case_page, opened_case
from tests.web.conftest import Stack, screenshot, sign_in

NIK = "3525015508950003"
TEXT = (
    f"Izin usaha saya belum selesai. NIK saya {NIK}, HP 0857-1234-9876. "
    "Petugas loket Bapak Joko Santoso meminta uang pelicin."
)


async def test_the_case_page_marks_personal_data_for_identity_roles_and_masks_it_for_others(
    stack: Stack, desk: Page
) -> None:
    answer = await stack.http.post("/intake/v1/complaints", json=COMPLAINT | {"text": TEXT})
    assert answer.status_code == 201, answer.text
    case_id = await opened_case(stack, answer.json()["tracking_code"])

    await sign_in(desk, stack, Role.PETUGAS, "Uji")
    await open_case_page(desk, stack, case_id)
    text = desk.locator("#pengaduan blockquote.isi").first
    await expect(text).to_contain_text(NIK)
    await expect(text.locator("mark[data-kind='nik']")).to_have_text(NIK)
    await expect(text.locator("mark[data-kind='nik']")).to_have_attribute(
        "title", "Data pribadi: NIK"
    )
    await expect(text.locator("mark[data-kind='phone']")).to_have_text("0857-1234-9876")
    await expect(text.locator("mark[data-kind='name']")).to_have_text("Joko Santoso")
    await screenshot(desk, "petugas-kasus-data-pribadi")

    await sign_in(desk, stack, Role.KABID, "Uji")
    await open_case_page(desk, stack, case_id)
    text = desk.locator("#pengaduan blockquote.isi").first
    await expect(text).to_contain_text("NIK saya [NIK ****0003], HP [telepon]")
    await expect(text).to_contain_text("Bapak [nama] meminta")
    await expect(text.locator("mark")).to_have_count(0)
    assert NIK not in await desk.content()

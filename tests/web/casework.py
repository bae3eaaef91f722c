"""What the officer tests share: cases made through the APIs, an officer's moves on the pages."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from shared.sop import Role
from tests.polling import eventually
from tests.web.conftest import Stack, screenshot

COMPLAINT = {
    "text": "Izin usaha saya belum selesai setelah tiga minggu, padahal berkas sudah lengkap.",
    "category": "perizinan_berusaha",
    "contact": {"name": "Siti Aminah", "phone": "0812-3456-7890"},
    "consent": True,
}


async def bearer(stack: Stack, role: Role) -> dict[str, str]:
    """The Authorization header of an officer of this role."""
    return {"Authorization": f"Bearer {await stack.token(role)}"}


async def opened_case(stack: Stack, code: str) -> str:
    """The case id of a tracking code, once workflow has opened the case."""
    headers = await bearer(stack, Role.TIM_PENGADUAN)

    async def found() -> str | None:
        rows = (await stack.http.get(f"/reporting/v1/cases?code={code}", headers=headers)).json()
        if not rows:
            return None
        case_id: str = rows[0]["case_id"]
        answer = await stack.http.get(f"/workflow/v1/cases/{case_id}", headers=headers)
        return case_id if answer.status_code == 200 else None

    case_id = await eventually(found, within=30)  # a loaded machine: the stack is slow too
    assert case_id is not None
    return case_id


async def submitted_complaint(stack: Stack, **flags: bool) -> tuple[str, str]:
    """A web complaint, opened by workflow: (case id, tracking code)."""
    answer = await stack.http.post("/intake/v1/complaints", json=COMPLAINT | flags)
    assert answer.status_code == 201, answer.text
    code: str = answer.json()["tracking_code"]
    return await opened_case(stack, code), code


async def case_view(stack: Stack, case_id: str, role: Role = Role.TIM_PENGADUAN) -> Any:
    """The case as workflow shows it to this role."""
    headers = await bearer(stack, role)
    answer = await stack.http.get(f"/workflow/v1/cases/{case_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def api_step(stack: Stack, case_id: str, path: str, role: Role, **body: Any) -> Any:
    """Take one command through the API, at the version the officer reads first."""
    version = (await case_view(stack, case_id, role))["version"]
    answer = await stack.http.post(
        f"/workflow/v1/cases/{case_id}/{path}",
        json={"version": version, **body},
        headers=await bearer(stack, role),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def stored_events(stack: Stack) -> int:
    """Events in workflow's store: a refused command adds none."""
    [row] = await stack.rows("SELECT count(*) AS n FROM workflow.cases_events")
    count: int = row["n"]
    return count


async def ready(page: Page, selector: str) -> None:
    """Wait until the page's script has drawn what it loaded."""
    await expect(page.locator(selector)).to_have_attribute("data-state", "siap")


async def open_case_page(page: Page, stack: Stack, case_id: str) -> None:
    """Open a case page by its address."""
    await page.goto(stack.url(f"/petugas/kasus?id={case_id}"))
    await ready(page, "#kasus")


async def open_from_worklist(
    page: Page, stack: Stack, code: str, *, shot: str | None = None
) -> None:
    """Reload the worklist until the case is listed (it trails workflow by a moment), open it."""
    row = page.locator(f"#daftar tr[data-code='{code}']")

    async def listed() -> bool:
        await page.goto(stack.url("/petugas"))
        await ready(page, "#daftar-kerja")
        return await row.count() == 1

    await eventually(listed, within=15)
    if shot:
        await screenshot(page, shot)
    await row.get_by_role("link", name=code).click()
    await ready(page, "#kasus")


async def take_action(page: Page, path: str, fields: dict[str, str]) -> None:
    """Fill an action's form by its labels, send it, and wait for the new case version."""
    version = int(await page.locator("#kasus").get_attribute("data-version") or 0)
    form = page.locator(f"form[data-action='{path}']")
    for label, value in fields.items():
        await form.get_by_label(label).fill(value)
    closes = await form.get_attribute("data-closes") == "true"  # read before the form goes
    await form.locator("button[type=submit]").click()
    if closes:  # a closing action asks first
        await page.locator("#konfirmasi-ya").click()
    await expect(page.locator("#kasus")).to_have_attribute("data-version", str(version + 1))
    await expect(page.locator("#pesan .kotak-berhasil")).to_be_visible()


async def action_forms(page: Page) -> list[str]:
    """The actions whose forms the page shows."""
    forms = page.locator("#tindakan form[data-action]")
    return [str(await form.get_attribute("data-action")) for form in await forms.all()]

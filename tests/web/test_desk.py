"""The officers' desk in a browser (issue 15): worklist excerpts masked by role, actions named
for what they do, a confirmation before a case is closed, a warning on public answers, and
officers' names on the timeline."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from shared.sop import Role
from tests.e2e.test_register_import import run_import
from tests.intake.registers import clean
from tests.polling import eventually
from tests.web.casework import (
    COMPLAINT,
    bearer,
    case_view,
    open_case_page,
    opened_case,
    ready,
    stored_events,
    submitted_complaint,
    take_action,
)
from tests.web.conftest import Stack, screenshot, sign_in

PHONE = "0813-1234-5678"
TEXT = f"Izin reklame belum terbit setelah tiga minggu. Hubungi saya di {PHONE}."


async def listed_row(page: Page, stack: Stack, code: str) -> None:
    """Reload the worklist until the case is on it."""
    row = page.locator(f"#daftar tr[data-code='{code}']")

    async def listed() -> bool:
        await page.goto(stack.url("/petugas"))
        await ready(page, "#daftar-kerja")
        return await row.count() == 1

    await eventually(listed, within=15)


async def test_excerpts_are_masked_without_identity_rights_and_names_show_who_acted(
    stack: Stack, desk: Page
) -> None:
    answer = await stack.http.post("/intake/v1/complaints", json=COMPLAINT | {"text": TEXT})
    assert answer.status_code == 201, answer.text
    code = answer.json()["tracking_code"]
    case_id = await opened_case(stack, code)

    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina Wulandari")
    await listed_row(desk, stack, code)
    row = desk.locator(f"#daftar tr[data-code='{code}']")
    await expect(row.locator(".kutipan")).to_contain_text(PHONE)  # the team may know who
    await row.get_by_role("link", name=code).click()
    await ready(desk, "#kasus")
    escalate = desk.locator("details[data-action='identification/escalate']")
    await expect(escalate.locator("summary")).to_have_text("Teruskan ke Kabid")
    await expect(escalate.get_by_role("button", name="Teruskan ke Kabid")).to_be_visible()
    await expect(desk.get_by_role("button", name="Kirim")).to_have_count(0)
    await take_action(desk, "identification/escalate", {"Catatan": "Perlu keputusan pimpinan."})

    await sign_in(desk, stack, Role.KABID, "Hadi Prasetyo")
    await listed_row(desk, stack, code)
    excerpt = desk.locator(f"#daftar tr[data-code='{code}'] .kutipan")
    await expect(excerpt).to_contain_text("[telepon]")  # the Kabid reads the text, not who
    await expect(excerpt).not_to_contain_text(PHONE)
    await screenshot(desk, "petugas-daftar-kerja-kutipan")
    await open_case_page(desk, stack, case_id)
    entry = desk.locator("#linimasa li[data-event='Escalated']")
    await expect(entry).to_contain_text("oleh Rina Wulandari (Tim Pengaduan)")
    await expect(entry).not_to_contain_text("tim_pengaduan-")
    verify = desk.locator("form[data-action='verification']")
    await expect(verify.get_by_role("button", name="Teruskan ke Kepala Dinas")).to_be_visible()
    view = await case_view(stack, case_id, Role.KABID)
    [escalated] = [e for e in view["timeline"] if e["event"] == "Escalated"]
    assert escalated["by_name"] == "Rina Wulandari"


async def test_closing_asks_first_and_a_public_answer_is_announced(
    stack: Stack, desk: Page
) -> None:
    case_id, _ = await submitted_complaint(stack)
    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina Wulandari")
    await open_case_page(desk, stack, case_id)

    resolve = desk.locator("form[data-action='identification/resolve']")
    await expect(resolve.locator("[data-public]")).to_contain_text(
        "Jawaban ini akan ditampilkan kepada publik."
    )
    escalate = desk.locator("form[data-action='identification/escalate']")
    await expect(escalate.locator("[data-public]")).to_have_count(0)

    await desk.locator("details[data-action='reject'] summary").click()
    reject = desk.locator("form[data-action='reject']")
    await reject.get_by_label("Alasan penolakan").fill("Izin reklame kewenangan Satpol PP.")
    await reject.get_by_label("Dirujuk ke instansi").fill("Satpol PP Kabupaten Gresik")
    before = await stored_events(stack)
    await reject.get_by_role("button", name="Tolak pengaduan").click()
    dialog = desk.locator("#konfirmasi")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#konfirmasi-judul")).to_have_text("Tolak pengaduan?")
    await screenshot(desk, "petugas-kasus-konfirmasi-tolak")
    await dialog.get_by_role("button", name="Batal").click()
    await expect(dialog).to_be_hidden()
    assert await stored_events(stack) == before
    assert (await case_view(stack, case_id))["status"] == "in_progress"

    await take_action(desk, "reject", {})  # asks again; confirmed this time
    await expect(desk.locator("#ringkasan")).to_contain_text("Ditolak")
    entry = desk.locator("#linimasa li[data-event='CaseRejected']")
    await expect(entry).to_contain_text("oleh Rina Wulandari (Tim Pengaduan)")


async def test_a_duplicate_is_merged_into_the_case_found_by_its_nomor_tiket(
    stack: Stack, desk: Page
) -> None:
    """The officer knows the primary case by its nomor tiket, as typed by whoever reported it
    (lower case, no dash); the form asked only for the case's id, read off another page's
    address."""
    primary, code = await submitted_complaint(stack)
    duplicate, own = await submitted_complaint(stack)
    headers = await bearer(stack, Role.TIM_PENGADUAN)

    async def searchable() -> bool:
        for wanted in (code, own):
            answer = await stack.http.get(f"/reporting/v1/cases?code={wanted}", headers=headers)
            if answer.status_code != 200 or len(answer.json()) != 1:
                return False
        return True

    assert await eventually(searchable, within=20, interval=0.2)
    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina Wulandari")
    await open_case_page(desk, stack, duplicate)
    await desk.locator("details[data-action='merge'] summary").click()
    merge = desk.locator("form[data-action='merge']")
    finder = merge.get_by_label("Nomor tiket kasus utama")
    await finder.fill(code.replace("-", "").lower())
    await finder.press("Enter")  # a search, not the merge
    await expect(merge.locator("#hasil-utama")).to_contain_text(f"Kasus utama: {code}")
    await expect(desk.locator("#konfirmasi")).to_be_hidden()
    await finder.fill(own)  # this case's own: not a primary, and the one found before is gone
    await merge.get_by_role("button", name="Cari").click()
    await expect(merge.locator("#hasil-utama")).to_contain_text("kasus ini sendiri")
    await expect(merge.get_by_label("Id kasus utama")).to_have_value("")
    await finder.fill(code)
    await merge.get_by_role("button", name="Cari").click()
    await expect(merge.locator("#hasil-utama")).to_contain_text(f"Kasus utama: {code}")
    await take_action(desk, "merge", {})
    assert (await case_view(stack, duplicate))["merged_into"] == primary


async def test_the_actions_list_serves_labels_closing_and_public_flags(stack: Stack) -> None:
    listed = (await stack.http.get("/workflow/v1/actions")).json()
    actions = {action["path"]: action for action in listed}
    assert actions["verification"]["label"] == "Teruskan ke Kepala Dinas"
    assert actions["reject"]["label"] == "Tolak pengaduan"
    closing = {path for path, action in actions.items() if action["closes"]}
    assert closing == {
        "identification/resolve",
        "follow-up",
        "facilitation",
        "reject",
        "merge",
        "backlog-close",
    }
    public = {path for path, action in actions.items() if action["public"]}
    assert public == {"identification/resolve", "follow-up", "facilitation"}


async def test_the_imported_backlog_is_its_own_list_closed_in_bulk_with_a_reason(
    stack: Stack, desk: Page, tmp_path: Path
) -> None:
    register = clean(40, seed=16)
    open_complaints = [
        row
        for row in register.expected("import")
        if row.status == "in_progress" and row.kind == "complaint"
    ]
    done = await run_import(stack.settings, register.write_csv(tmp_path / "register.csv"))
    assert done["imported"] == len(register.expected("import"))
    _, code = await submitted_complaint(stack)

    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina Wulandari")
    backlog_link = desk.locator("#ke-arsip")

    async def both_lists() -> bool:
        await desk.goto(stack.url("/petugas"))
        await ready(desk, "#daftar-kerja")
        return await backlog_link.count() == 1 and await backlog_link.inner_text() == (
            f"{len(open_complaints)} kasus impor buku register masih terbuka"
        )

    await eventually(both_lists, within=60, interval=0.5)
    rows = desk.locator("#daftar tbody tr")
    await expect(rows).to_have_count(1)  # live work only
    await expect(rows.first).to_have_attribute("data-code", code)

    await backlog_link.click()
    await ready(desk, "#daftar-kerja")
    await expect(desk.locator("h1")).to_have_text("Kasus impor buku register")
    await expect(rows).to_have_count(len(open_complaints))
    await expect(desk.locator("#daftar .lencana.terlambat")).to_have_count(0)  # no alarm
    chosen = [str(await row.get_attribute("data-code")) for row in (await rows.all())[:2]]
    for picked in chosen:
        await desk.locator(f"tr[data-code='{picked}'] input[name=kasus]").check()
    form = desk.locator("#tutup-arsip")
    await form.get_by_label("Alasan penutupan").fill("Sudah selesai ditangani pada 2022.")
    await form.get_by_role("button", name="Tutup kasus yang dipilih").click()
    await expect(desk.locator("#konfirmasi")).to_be_visible()
    await screenshot(desk, "petugas-arsip-impor-konfirmasi")
    await desk.locator("#konfirmasi-ya").click()
    await expect(desk.locator("#pesan")).to_contain_text("2 kasus impor ditutup sebagai arsip")

    headers = {"Authorization": f"Bearer {await stack.token(Role.TIM_PENGADUAN)}"}
    for picked in chosen:
        [found] = (
            await stack.http.get(f"/reporting/v1/cases?code={picked}", headers=headers)
        ).json()
        view = await case_view(stack, found["case_id"])
        [entry] = [e for e in view["timeline"] if e["event"] == "BacklogClosed"]
        assert entry["details"]["reason"] == "Sudah selesai ditangani pada 2022."
        assert entry["by_name"] == "Rina Wulandari"

    async def shrunk() -> bool:
        await desk.goto(stack.url("/petugas?daftar=impor"))
        await ready(desk, "#daftar-kerja")
        return await rows.count() == len(open_complaints) - 2

    await eventually(shrunk, within=15, interval=0.3)

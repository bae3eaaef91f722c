"""Officer accounts in the browser: the first administrator (made on the command line) signs in
with a password, makes officers' accounts on /petugas/akun; officers sign in, are refused a
wrong password, locked after repeated ones, change their password; a disabled one is refused.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from playwright.async_api import Page, expect

from shared.agencies import home_agency
from tests.infrastructure import environment
from tests.web.conftest import Stack, screenshot

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "kantor-gresik-2026"
FIRST = "mulai-bekerja-01"
WRONG = "Nama pengguna atau kata sandi salah."


async def _first_admin(stack: Stack, username: str = "kepala.tu", *extra: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "services.workflow", "officer", "add", *extra],
        *["--username", username, "--name", "Kepala Tata Usaha", "--role", "admin"],
        env=os.environ | environment(stack.settings),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate(f"{ADMIN_PASSWORD}\n".encode())
    assert process.returncode == 0, err.decode()


async def _try(page: Page, stack: Stack, username: str, password: str) -> None:
    """Open the login page and send the username and password."""
    await page.goto(stack.url("/petugas/masuk?lanjut=/petugas/akun"))
    form = page.locator("#masuk")
    await form.get_by_label("Nama pengguna").fill(username)
    await form.get_by_label("Kata sandi").fill(password)
    await form.get_by_role("button", name="Masuk", exact=True).click()


async def _sign_in(page: Page, stack: Stack, username: str, password: str) -> None:
    await _try(page, stack, username, password)
    # Not the glob "**/petugas/akun": the login page's own address (…?lanjut=/petugas/akun)
    # matches it, so the next step raced the sign-in still under way.
    await page.wait_for_url(stack.url("/petugas/akun"))


async def _refused(page: Page, stack: Stack, username: str, password: str, text: str) -> None:
    await _try(page, stack, username, password)
    await expect(page.locator("#masuk .kotak-galat")).to_contain_text(text)
    await expect(page).to_have_url(stack.url("/petugas/masuk?lanjut=/petugas/akun"))


async def _create(page: Page, username: str, name: str, role: str, agency: str = "") -> None:
    form = page.locator("#buat-akun")
    if agency:
        await form.get_by_label("Instansi").select_option(label=agency)
    await form.get_by_label("Nama pengguna").fill(username)
    await form.get_by_label("Nama lengkap").fill(name)
    await form.get_by_label(role, exact=True).check()
    await form.get_by_label("Kata sandi pertama").fill(FIRST)
    await form.get_by_role("button", name="Buat akun").click()
    await expect(page.locator("#kelola-hasil")).to_have_text(f"Akun {username} dibuat.")
    await expect(page.locator(f"tr[data-akun='{username}']")).to_contain_text("Aktif")


async def test_officers_accounts_from_the_first_admin_to_a_lockout(
    stack: Stack, desk: Page
) -> None:
    await _first_admin(stack)
    await desk.goto(stack.url("/petugas/masuk"))
    # make up on loopback: the demo login is there, and says plainly what it is.
    await expect(desk.locator("#demo")).to_contain_text("jangan dipakai untuk kantor")

    await _sign_in(desk, stack, "kepala.tu", ADMIN_PASSWORD)
    await expect(desk.get_by_role("heading", name="Akun petugas")).to_be_visible()
    await _create(desk, "rina", "Rina Wulandari", "Tim Pengaduan")
    await _create(desk, "budi", "Budi Santoso", "Kepala Bidang")
    await desk.locator("tr[data-akun='budi']").get_by_role("button", name="Nonaktifkan").click()
    await expect(desk.locator("tr[data-akun='budi']")).to_contain_text("Nonaktif")
    await screenshot(desk, "petugas-akun")

    await _refused(desk, stack, "rina", "bukan-sandinya", WRONG)
    await _refused(desk, stack, "siapa.saja", "bukan-sandinya", WRONG)
    await _refused(desk, stack, "budi", FIRST, "Akun ini dinonaktifkan")

    await _sign_in(desk, stack, "rina", FIRST)
    await expect(desk.get_by_role("heading", name="Akun petugas")).to_be_hidden()
    change = desk.locator("#ganti-sandi")
    await change.get_by_label("Kata sandi saat ini").fill(FIRST)
    await change.get_by_label("Kata sandi baru", exact=True).fill("pagi-cerah-berkas-7")
    await change.get_by_label("Ulangi kata sandi baru").fill("pagi-cerah-berkas-7")
    await change.get_by_role("button", name="Ganti kata sandi").click()
    await expect(desk.locator("#sandi-hasil")).to_contain_text("Kata sandi sudah diganti")
    await desk.get_by_role("button", name="Keluar").click()

    await _refused(desk, stack, "rina", FIRST, WRONG)
    await _sign_in(desk, stack, "rina", "pagi-cerah-berkas-7")
    for attempt in range(1, stack.settings.auth_max_failures):
        await _refused(desk, stack, "rina", f"tebakan-ke-{attempt}", WRONG)
    await _refused(desk, stack, "rina", "tebakan-terakhir", "dikunci sementara")
    await _refused(desk, stack, "rina", "pagi-cerah-berkas-7", "dikunci sementara")
    await screenshot(desk, "petugas-masuk-terkunci")


async def test_the_provincial_administrator_picks_each_accounts_agency(
    stack: Stack, desk: Page
) -> None:
    """The province's administrator administers every agency: the page asks which one an
    account is for, instead of making it the province's (every agency's)."""
    await _first_admin(stack, "admin.prov", "--agency", "*")
    await _sign_in(desk, stack, "admin.prov", ADMIN_PASSWORD)
    home = home_agency(stack.settings).name
    picker = desk.locator("#buat-akun").get_by_label("Instansi")
    await expect(picker.locator("option")).to_have_text(
        ["— Pilih instansi —", home, "Provinsi (semua instansi)"]
    )
    form = desk.locator("#buat-akun")
    await form.get_by_label("Nama pengguna").fill("rina")
    await form.get_by_label("Nama lengkap").fill("Rina Wulandari")
    await form.get_by_label("Petugas Layanan", exact=True).check()
    await form.get_by_label("Kata sandi pertama").fill(FIRST)
    await form.get_by_role("button", name="Buat akun").click()
    await expect(desk.locator("[data-field=agency] .galat")).to_have_text(
        "Pilih instansi akun ini."
    )
    await expect(desk.locator("tr[data-akun='rina']")).to_have_count(0)

    await _create(desk, "rina", "Rina Wulandari", "Petugas Layanan", agency=home)
    await expect(desk.locator("tr[data-akun='rina']")).to_contain_text(home)
    province = desk.locator("tr[data-akun='admin.prov']")
    await expect(province).to_contain_text("Provinsi (semua instansi)")

"""The public pages while reporting's database is away: the last good copy with a note saying
so, and a plain Indonesian message where there is no copy (never JSON)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from shared.outages import SERVERS
from tests.polling import eventually
from tests.reporting.conftest import Away, away  # noqa: F401 - the fixture
from tests.samples import answered_directly, complaint_received

pytestmark = pytest.mark.store_deadline  # it stalls the store and times the answers

NOTE = "Data terakhir diperbarui"


async def test_tracking_and_the_rekap_pages_show_the_last_good_copy_with_a_note(
    away: Away,  # noqa: F811 - the fixture imported above
    phone: Page,
) -> None:
    await away.system.start("gateway")
    origin = away.system.url("gateway")
    case, unseen = complaint_received(), complaint_received()
    await away.desk.bus.publish(*answered_directly(case, "Izin Anda terbit.", at=case.time))
    await away.desk.bus.publish(unseen)
    code = case.data.model_dump()["tracking_code"]
    year = datetime.now(ZoneInfo("Asia/Jakarta")).year

    async def resolved() -> bool:
        answer = await away.desk.http.get(f"/reporting/v1/track/{code}")
        return answer.status_code == 200 and answer.json()["status"] == "resolved"

    assert await eventually(resolved, within=15)
    await phone.goto(f"{origin}/lacak?kode={code}")
    await expect(phone.locator("#hasil")).to_contain_text("Izin Anda terbit.")
    await expect(phone.locator("#hasil")).not_to_contain_text(NOTE)
    await phone.goto(f"{origin}/rekap?dari={year}&sampai={year}")
    await expect(phone.locator("#tabel-tahun")).to_contain_text("Jumlah")
    await expect(phone.locator(f"#tabel-kanal table[data-tahun='{year}']")).to_be_visible()

    away.postgres.cut()
    await phone.goto(f"{origin}/lacak?kode={code}")
    await expect(phone.locator("#hasil")).to_contain_text("Izin Anda terbit.")
    await expect(phone.locator("#catatan-data")).to_contain_text(NOTE)
    await expect(phone.locator("#catatan-data")).to_contain_text("sedang tidak dapat diperbarui")
    await phone.goto(f"{origin}/rekap?dari={year}&sampai={year}")
    await expect(phone.locator("#tabel-tahun")).to_contain_text("Jumlah")
    await expect(phone.locator("#catatan-data")).to_contain_text(NOTE)
    await expect(phone.locator(f"#tabel-kanal table[data-tahun='{year}']")).to_contain_text(
        "Situs web"
    )  # the table per channel, from its last good copy too

    never_tracked = unseen.data.model_dump()["tracking_code"]
    await phone.goto(f"{origin}/lacak?kode={never_tracked}")
    alert = phone.get_by_role("alert")
    await expect(alert).to_contain_text(SERVERS["postgres"].detail)
    await expect(alert).not_to_contain_text("{")

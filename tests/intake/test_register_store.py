"""An imported row is a submission like any other: its words and its person sealed, readable
by officers, found and erased by the person's identifiers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.intake.register.importer import run
from services.intake.register.labels import load_mapping
from shared.sealing import ERASED
from shared.sop import Role
from tests.intake.conftest import Desk

PHONE, NIK = "0813-1234-5678", "3525011234567890"
REGISTER = (
    "No.;Tanggal;Nama;No. HP;Media;Uraian;Status;Tanggal Selesai;Keterangan\n"
    f'7/2022;12/03/2022;Siti Aminah;0812 3456 7890;Faksimili;"Izin belum terbit.\n'
    f'Hubungi saya di {PHONE}, NIK {NIK}.";Selesai;15/03/2022;Diteruskan ke Kabid\n'
)


async def test_personal_data_in_an_imported_text_is_sealed_like_any_complaint(
    desk: Desk, tmp_path: Path
) -> None:
    path = tmp_path / "register.csv"
    path.write_text(REGISTER, encoding="utf-8")
    report = await asyncio.to_thread(run, desk.settings, path, load_mapping(None, []))
    assert (report.imported, report.rejected) == (1, 0)
    codes = {issue.code for issue in report.issues}
    assert codes == {"personal_data_in_text", "channel_unknown"}
    states = await desk.fetch("SELECT topic, state FROM intake.submissions_events")
    assert [row["topic"].rsplit(".", 1)[-1] for row in states] == ["ComplaintImported"]
    stored = bytes(states[0]["state"])
    for clear in (PHONE, NIK, b"Siti", b"Izin belum", b"Kabid"):
        assert (clear.encode() if isinstance(clear, str) else clear) not in stored

    case_id = (await desk.fetch("SELECT case_id FROM intake.submission_index"))[0]["case_id"]
    officer = desk.officer(Role.TIM_PENGADUAN)
    view = (await desk.http.get(f"/intake/v1/submissions/{case_id}", headers=officer)).json()
    assert PHONE in view["text"]
    assert view["contact"]["name"] == "Siti Aminah"
    assert view["register_row"]["register_ref"] == "7/2022"
    assert view["register_row"]["source_channel"] == "Faksimili"
    assert view["register_row"]["columns"] == {
        "Status": "Selesai",
        "Keterangan": "Diteruskan ke Kabid",
    }

    admin = desk.officer(Role.ADMIN)
    erased = await desk.http.post(
        "/intake/v1/erasures", json={"phone": "+6281234567890"}, headers=admin
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] == [view["tracking_code"]]
    after = (await desk.http.get(f"/intake/v1/submissions/{case_id}", headers=officer)).json()
    assert (after["text"], after["register_row"]["columns"]) == (ERASED, ERASED)


async def test_an_imported_row_is_indexed_when_stored(desk: Desk, tmp_path: Path) -> None:
    """Searchable at once, and nothing of the register for intake's backfill at its next start
    to read and unseal again (services/intake/lookup.py index_earlier)."""
    path = tmp_path / "register.csv"
    path.write_text(REGISTER, encoding="utf-8")
    await asyncio.to_thread(run, desk.settings, path, load_mapping(None, []))
    stored = await desk.fetch("SELECT case_id FROM intake.submission_index")
    indexed = await desk.fetch("SELECT case_id FROM intake.search_indexed")
    assert [row["case_id"] for row in indexed] == [row["case_id"] for row in stored]
    assert len(stored) == 1

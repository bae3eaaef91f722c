"""Acceptance: erasure by a NIK (or a phone) that appears only in a complaint's text. The NIK
was typed into a web complaint, told to an officer on the phone and written in an imported
register's text, and quoted in an officer's note and answer; none of them has it in a contact
field. After the administrator erases by the NIK no table of any service, no key in Redis, no
queue, no log line and no export holds it readably; an anonymous complainant who typed their
phone is erased by that phone."""

from __future__ import annotations

import csv
import io
import json
import logging
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from shared.settings import Settings
from shared.sop import Role
from tests.e2e.office import Office, office
from tests.e2e.test_erasure import _in_queues, readable_in_tables
from tests.e2e.test_erasure_redis import readable_in_redis
from tests.e2e.test_register_import import run_import
from tests.intake.registers import TEXT, clean
from tests.polling import eventually

NIK = "3525015508950003"  # Gresik, a woman born 15-08-1995
SPELLED = "3525 0155 0895 0003"
PHONE = "0857-1234-9876"
NEEDLES = (NIK, SPELLED, "0155 0895", "85712349876", PHONE)
ANSWER = f"Ibu Rahma, NIK {NIK}: izin Anda sudah terbit."


async def _web(running: Office, text: str, **form: Any) -> str:
    answer = await running.intake.http.post(
        "/intake/v1/forms/complaints",
        data={"form": json.dumps({"text": text, "category": "perizinan_berusaha"} | form)},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["tracking_code"])


async def _ids(running: Office) -> dict[str, UUID]:
    rows = await running.intake.fetch("SELECT case_id, tracking_code FROM intake.submission_index")
    return {row["tracking_code"]: row["case_id"] for row in rows}


async def _casework(running: Office, case_id: UUID) -> None:
    """An officer answers quoting the NIK (published masked) and notes it."""
    officer = running.officer(Role.TIM_PENGADUAN)
    view = await running.workflow.get(f"/workflow/v1/cases/{case_id}", headers=officer)
    assert view.status_code == 200, view.text
    resolved = await running.workflow.post(
        f"/workflow/v1/cases/{case_id}/identification/resolve",
        json={"version": view.json()["version"], "answer": ANSWER},
        headers=officer,
    )
    assert resolved.status_code == 200, resolved.text
    note = await running.workflow.post(
        f"/workflow/v1/cases/{case_id}/notes",
        json={"text": f"Dicek di Dukcapil: NIK {SPELLED} cocok."},
        headers=officer,
    )
    assert note.status_code == 200, note.text


async def _erased_in_workflow(running: Office, case_id: UUID) -> bool:
    view = await running.workflow.get(
        f"/workflow/v1/cases/{case_id}", headers=running.officer(Role.ADMIN)
    )
    return view.is_success and view.json()["timeline"][-1]["event"] == "CaseDataErased"


async def _exports(running: Office) -> str:
    admin = running.officer(Role.ADMIN)
    found = []
    for fmt in ("csv", "xlsx"):
        answer = await running.reporting.get(f"/reporting/v1/cases.{fmt}", headers=admin)
        assert answer.status_code == 200, answer.text
        if fmt == "csv":
            rows = csv.reader(io.StringIO(answer.content.decode("utf-8-sig")))
            found.append("\n".join("\t".join(row) for row in rows))
        else:
            found.append(answer.content.decode("latin-1"))  # shared strings are plain XML
    return "\n".join(found)


def _register(tmp_path: Path) -> Path:
    register = clean(2, seed=17)
    register.rows[0].cells[TEXT] = f"Izin usaha belum terbit. NIK saya {SPELLED}."
    return register.write_csv(tmp_path / "register.csv")


async def test_erasure_by_a_nik_only_in_the_text_leaves_it_readable_nowhere(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with office(settings) as running:
        typed = await _web(running, f"Izin saya belum terbit. NIK {NIK}.", anonymous=True)
        anonymous = await _web(
            running, f"Loket tutup jam 10. Hubungi saya {PHONE}.", anonymous=True
        )
        told = await running.intake.http.post(
            "/intake/v1/officer/submissions",
            json={
                "channel": "phone",
                "text": f"Pelapor menyebut NIK {SPELLED}; berkas PBG hilang.",
                "contact": {"name": "Rahma"},
            },
            headers=running.officer(Role.PETUGAS),
        )
        assert told.status_code == 201, told.text
        imported = await run_import(running.settings, _register(tmp_path))
        assert imported["imported"] == 2, imported
        ids = await _ids(running)
        assert len(ids) == 5
        for case_id in ids.values():
            assert await eventually(partial(_opened, running, case_id), within=30)
        await _casework(running, ids[typed])
        await _casework(running, ids[told.json()["tracking_code"]])
        before = await running.intake.http.get(
            f"/intake/v1/submissions/{ids[told.json()['tracking_code']]}",
            headers=running.officer(Role.ADMIN),
        )
        assert SPELLED in before.json()["text"]  # the administrator read it in clear until now
        assert before.json()["pii"][0]["kind"] == "nik"
        masked = await running.intake.http.get(  # an anonymous text: nobody reads it in clear
            f"/intake/v1/submissions/{ids[typed]}", headers=running.officer(Role.ADMIN)
        )
        assert masked.json()["text"] == "Izin saya belum terbit. NIK [NIK ****0003]."

        admin = running.officer(Role.ADMIN)
        erased = await running.intake.http.post(
            "/intake/v1/erasures", json={"nik": NIK}, headers=admin
        )
        assert erased.status_code == 200, erased.text
        assert len(erased.json()["erased"]) == 3  # the web, the phone and one imported case
        assert anonymous not in erased.json()["erased"]
        by_phone = await running.intake.http.post(
            "/intake/v1/erasures", json={"phone": "+6285712349876"}, headers=admin
        )
        assert by_phone.json()["erased"] == [anonymous], by_phone.text
        gone = [ids[c] for c in [*erased.json()["erased"], anonymous]]
        for case_id in gone:
            assert await eventually(partial(_erased_in_workflow, running, case_id), within=20)

        assert await readable_in_tables(running.settings, NEEDLES) == []
        assert await readable_in_redis(running.settings, NEEDLES) == []
        exports = await _exports(running)
        assert [n for n in NEEDLES if n in exports] == []
        view = await running.intake.http.get(f"/intake/v1/submissions/{ids[typed]}", headers=admin)
        assert view.json()["text"] == "data dihapus"
    assert await _in_queues(settings, NEEDLES) == []
    assert await readable_in_tables(settings, NEEDLES) == []
    assert [n for n in NEEDLES if n in caplog.text] == []


async def _opened(running: Office, case_id: UUID) -> bool:
    view = await running.workflow.get(
        f"/workflow/v1/cases/{case_id}", headers=running.officer(Role.ADMIN)
    )
    return view.is_success

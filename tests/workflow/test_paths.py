"""Every path through both SOPs, through the officer API: events, timeline, final state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from services.workflow.cases import Cases
from shared.sop import Kind, Role
from tests.polling import eventually
from tests.workflow.conftest import Desk
from tests.workflow.test_who_may_act import imported

TIM, KABID, SEKRETARIS, KADIS, OSS = (
    Role.TIM_PENGADUAN,
    Role.KABID,
    Role.SEKRETARIS,
    Role.KEPALA_DINAS,
    Role.PETUGAS_OSS,
)
BAP = {  # dated the day it is sent (tests/bodies.py)
    "place": "Kantor DPMPTSP Kabupaten Gresik",
    "parties_present": ["Tim Pengaduan", "Pemohon", "Dinas Pekerjaan Umum"],
    "findings": "Berkas izin tertahan karena rekomendasi teknis belum terbit.",
    "conclusion": "Rekomendasi diterbitkan; izin diproses ulang.",
}


def walk(view: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """The timeline as (event, step, role)."""
    return [(entry["event"], entry["step"], entry["role"]) for entry in view["timeline"]]


async def stored_states(cases: Cases) -> bytes:
    dsn = cases.settings.postgres_dsn()
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT state FROM workflow.cases_events")
    finally:
        await conn.close()
    return b"".join(bytes(row["state"]) for row in rows)


async def test_the_full_complaint_path(desk: Desk) -> None:
    case = await desk.open()
    await desk.step(case, "identification/escalate", TIM, note="Perlu keputusan pimpinan.")
    await desk.step(case, "verification", KABID, note="Berkas lengkap.")
    await desk.step(
        case, "disposition", KADIS, to="tim_pengaduan", instruction="Tinjau ke lapangan."
    )
    await desk.step(
        case, "investigation", TIM, summary="Sudah ditinjau.", related_agencies=["Dinas PU"]
    )
    await desk.step(case, "bap", TIM, **BAP)
    view = await desk.step(
        case,
        "follow-up",
        TIM,
        action="Izin diterbitkan ulang.",
        answer="Izin Anda telah terbit; silakan unduh di OSS.",
        archive_ref="ARSIP/2026/117",
    )
    assert view["status"] == "resolved"
    assert view["current_step"] is None
    assert view["resolution"] == "FollowUpArchived"
    assert view["answer"] == "Izin Anda telah terbit; silakan unduh di OSS."
    assert walk(view) == [
        ("CaseOpened", "identification", None),
        ("Escalated", "identification", "tim_pengaduan"),
        ("ComplaintVerified", "verification", "kabid"),
        ("DisposisiIssued", "disposition", "kepala_dinas"),
        ("InvestigationReported", "investigation", "tim_pengaduan"),
        ("BapRecorded", "investigation_report", "tim_pengaduan"),
        ("FollowUpArchived", "follow_up", "tim_pengaduan"),
    ]
    bap = view["timeline"][5]["details"]["bap"]
    assert bap["parties_present"] == BAP["parties_present"]
    assert view["timeline"][3]["details"]["instruction"] == "Tinjau ke lapangan."
    assert view["timeline"][4]["details"]["related_agencies"] == ["Dinas PU"]
    assert view["timeline"][6]["details"]["action"] == "Izin diterbitkan ulang."
    assert all(entry["by"] for entry in view["timeline"][1:])
    stored = await stored_states(desk.cases)
    for text in ("Tinjau ke lapangan", "rekomendasi teknis", "Izin Anda telah terbit", "Pemohon"):
        assert text.encode() not in stored


async def test_the_sekretaris_may_route_verification_to_the_head(desk: Desk) -> None:
    case = await desk.open()
    await desk.step(case, "identification/escalate", TIM, note="Perlu keputusan pimpinan.")
    view = await desk.step(case, "verification", SEKRETARIS, note="Diteruskan ke Kepala Dinas.")
    assert walk(view)[-1] == ("ComplaintVerified", "verification", "sekretaris")
    assert view["current_step"] == "disposition"


async def test_a_complaint_resolved_at_identification(desk: Desk) -> None:
    case = await desk.open()
    view = await desk.step(case, "identification/resolve", TIM, answer="Berkas sudah kami proses.")
    assert view["status"] == "resolved"
    assert view["resolution"] == "ResolvedDirectly"
    assert walk(view) == [
        ("CaseOpened", "identification", None),
        ("ResolvedDirectly", "identification", "tim_pengaduan"),
    ]
    assert view["timeline"][1]["details"]["within_standard"] in (True, False)


async def test_a_consultation_resolved_at_step_three(desk: Desk) -> None:
    case = await desk.open(Kind.CONSULTATION)
    await desk.step(case, "reception", OSS, note="Formulir diterima di Pojok OSS.")
    view = await desk.step(case, "identification/resolve", OSS, answer="Gunakan menu Perizinan.")
    assert view["status"] == "resolved"
    assert walk(view) == [
        ("CaseOpened", "reception", None),
        ("ConsultationFormAccepted", "reception", "petugas_oss"),
        ("ResolvedDirectly", "identification", "petugas_oss"),
    ]


async def test_a_consultation_escalated_to_bkpm_and_answered(desk: Desk) -> None:
    case = await desk.open(Kind.CONSULTATION)
    await desk.step(case, "reception", OSS, note="Formulir diterima.")
    waiting = await desk.step(case, "bkpm/escalate", OSS, note="Masalah hak akses OSS.")
    assert waiting["current_step"] == "disposition"
    answered = await desk.step(
        case, "bkpm/answer", OSS, reference="BKPM-TIKET-88123", answer="Hak akses dipulihkan."
    )
    assert answered["current_step"] == "investigation"
    view = await desk.step(
        case, "facilitation", OSS, summary="Pemohon dibantu masuk.", answer="Silakan masuk lagi."
    )
    assert view["status"] == "resolved"
    assert walk(view)[2:] == [
        ("EscalatedToBkpm", "identification", "petugas_oss"),
        ("BkpmAnswered", "disposition", "petugas_oss"),
        ("FacilitationCompleted", "investigation", "petugas_oss"),
    ]
    assert view["timeline"][3]["details"]["bkpm_reference"] == "BKPM-TIKET-88123"
    assert view["timeline"][3]["details"]["bkpm_answer"] == "Hak akses dipulihkan."


async def test_pausing_stops_the_clock_and_resuming_moves_the_deadline_by_the_pause(
    desk: Desk,
) -> None:
    case = await desk.open()
    before = await desk.view(case)
    paused = await desk.step(case, "information-request", TIM, reason="Mohon nomor berkas.")
    assert paused["status"] == "waiting_info"
    assert "identification/escalate" not in paused["allowed_actions"]
    refused = await desk.act(case, "identification/escalate", TIM, note="Belum boleh.")
    assert refused.status_code == 409
    resumed = await desk.step(case, "information-received", TIM, summary="Nomor berkas: 4471.")
    assert resumed["status"] == "in_progress"
    asked, answered = (datetime.fromisoformat(e["at"]) for e in resumed["timeline"][1:3])
    calendar = desk.cases.calendar()
    paused_for = calendar.between(asked, answered)
    old_deadline = datetime.fromisoformat(before["deadline_at"])
    assert datetime.fromisoformat(resumed["deadline_at"]) == calendar.add(old_deadline, paused_for)
    assert resumed["timeline"][2]["details"]["paused_minutes"] == round(
        paused_for / timedelta(minutes=1), 2
    )


async def test_a_case_rejected_as_not_the_offices_matter(desk: Desk) -> None:
    case = await desk.open()
    view = await desk.step(
        case,
        "reject",
        TIM,
        reason="Ini kewenangan kantor pertanahan.",
        referred_to="Kantor Pertanahan Kabupaten Gresik",
    )
    assert view["status"] == "rejected"
    assert view["resolution"] == "CaseRejected"  # as reporting says it: the closing event
    assert view["current_step"] is None
    assert view["timeline"][-1]["details"]["referred_to"] == "Kantor Pertanahan Kabupaten Gresik"
    assert (await desk.act(case, "identification/resolve", TIM, answer="x")).status_code == 409


async def test_a_duplicate_is_merged_into_its_primary(desk: Desk) -> None:
    primary, duplicate = await desk.open(), await desk.open()
    view = await desk.step(duplicate, "merge", TIM, primary_case_id=str(primary))
    assert view["status"] == "merged"
    assert view["resolution"] == "CaseMerged"
    assert view["merged_into"] == str(primary)
    main = await desk.view(primary)
    assert main["duplicates"] == [str(duplicate)]
    assert walk(main)[-1] == ("DuplicateMerged", "identification", "tim_pengaduan")
    again = await desk.act(primary, "merge", TIM, primary_case_id=str(primary))
    assert again.status_code == 409


async def test_a_closed_case_is_reopened_when_disputed_in_time(desk: Desk) -> None:
    case = await desk.open()
    await desk.step(case, "identification/resolve", TIM, answer="Sudah selesai.")
    view = await desk.step(case, "reopen", TIM, reason="Pemohon menyanggah: izin belum terbit.")
    assert view["status"] == "in_progress"
    assert view["current_step"] == "identification"
    assert view["answer"] is None
    assert walk(view)[-1] == ("CaseReopened", "identification", "tim_pengaduan")
    resolved = await desk.step(case, "identification/resolve", TIM, answer="Izin kini terbit.")
    assert resolved["status"] == "resolved"


async def test_a_dispute_after_the_window_is_refused(desk: Desk) -> None:
    long_ago = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    case = await desk.open(received_at=long_ago)

    def close_long_ago(cases: Cases = desk.cases) -> None:
        from shared.auth import Officer

        officer = Officer("tim-1", "Tim", frozenset({TIM}), cases.settings.agency)
        record = cases.get_case(case)
        record.complete(
            "identification/resolve",
            answer=cases.seal(case, "Selesai."),
            by=officer,
            at=long_ago,
            calendar=cases.calendar(),
        )
        cases.store(record)

    close_long_ago()
    refused = await desk.act(case, "reopen", TIM, reason="Terlambat menyanggah.")
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/reopen-window-passed"


async def test_a_bap_dated_after_today_is_refused(desk: Desk) -> None:
    case = await desk.open()
    await desk.step(case, "identification/escalate", TIM, note="Perlu keputusan pimpinan.")
    await desk.step(case, "verification", KABID, note="Berkas lengkap.")
    await desk.step(case, "disposition", KADIS, to="tim_pengaduan", instruction="Tinjau.")
    await desk.step(case, "investigation", TIM, summary="Sudah ditinjau.")
    future: dict[str, Any] = {**BAP, "date": "9999-12-31"}
    late = await desk.act(case, "bap", TIM, **future)
    assert late.status_code == 422, late.text
    assert late.json()["errors"][0]["field"] == "date"
    assert (await desk.step(case, "bap", TIM, **BAP))["version"] > 0


async def test_a_bap_dated_before_the_case_was_received_is_refused(desk: Desk) -> None:
    """A BAP records the investigation of this pengaduan: held after it was received. A year
    typed wrong (2025 for 2026) made a record older than the complaint it answers. The day is
    the office's: received at 00:30 on 3 March in Gresik, 2 March still in UTC."""
    received = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
    case = await desk.open(received_at=received)
    await desk.step(case, "identification/escalate", TIM, note="Perlu keputusan pimpinan.")
    await desk.step(case, "verification", KABID, note="Berkas lengkap.")
    await desk.step(case, "disposition", KADIS, to="tim_pengaduan", instruction="Tinjau.")
    await desk.step(case, "investigation", TIM, summary="Sudah ditinjau.")
    before = await desk.view(case)
    dated_in_utc: dict[str, Any] = {**BAP, "date": "2026-03-02"}
    early = await desk.act(case, "bap", TIM, **dated_in_utc)
    assert early.status_code == 422, early.text
    [error] = early.json()["errors"]
    assert (error["field"], error["code"]) == ("date", "date_before_receipt")
    assert "03-03-2026" in error["message"]  # the day of receipt, as the office counts days
    assert (await desk.view(case))["version"] == before["version"]  # nothing recorded
    on_the_day: dict[str, Any] = {**BAP, "date": "2026-03-03"}
    recorded = await desk.step(case, "bap", TIM, **on_the_day)
    assert recorded["version"] == before["version"] + 1


async def test_a_bap_names_only_the_cases_own_files(desk: Desk) -> None:
    """The ids of the BAP's files are kept unsealed and shown to every reader of the case:
    any text was taken (a NIK, a phone, '../../etc/passwd'), listed as files that are not."""
    other = await desk.open()
    foreign = await desk.http.post(
        f"/workflow/v1/cases/{other}/attachments",
        files={"file": ("lain.pdf", b"%PDF-1.4\n% lain\n", "application/pdf")},
        headers=desk.headers(TIM),
    )
    assert foreign.status_code == 200, foreign.text
    case = await desk.open()
    await desk.step(case, "identification/escalate", TIM, note="Perlu keputusan pimpinan.")
    await desk.step(case, "verification", KABID, note="Berkas lengkap.")
    await desk.step(case, "disposition", KADIS, to="tim_pengaduan", instruction="Tinjau.")
    await desk.step(case, "investigation", TIM, summary="Sudah ditinjau.")
    attached = await desk.http.post(
        f"/workflow/v1/cases/{case}/attachments",
        files={"file": ("bap.pdf", b"%PDF-1.4\n% bap\n", "application/pdf")},
        headers=desk.headers(TIM),
    )
    own = next(
        entry["details"]["attachment_id"]
        for entry in attached.json()["timeline"]
        if entry["event"] == "AttachmentAdded"
    )
    theirs = next(
        entry["details"]["attachment_id"]
        for entry in foreign.json()["timeline"]
        if entry["event"] == "AttachmentAdded"
    )
    for named in (["3525010101900001"], ["../../etc/passwd"], [own, theirs]):
        body: dict[str, Any] = {**BAP, "attachment_ids": named}
        refused = await desk.act(case, "bap", TIM, **body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "attachment_ids"
    done = await desk.step(case, "bap", TIM, **BAP, attachment_ids=[own])
    assert done["timeline"][-1]["details"]["attachment_ids"] == [own]


async def test_notes_and_files_sent_at_once_are_each_recorded(desk: Desk) -> None:
    """A note or a file names no version (any officer, whatever the case's state): sent at the
    same time as others on the case, each is recorded once, none refused with a stale version
    the officer never gave (before: 27 of 40 parallel notes were a 409)."""
    case = await desk.open()
    pdf = b"%PDF-1.4\n% laporan\n"

    async def attach(n: int) -> Any:
        return await desk.http.post(
            f"/workflow/v1/cases/{case}/attachments",
            files={"file": (f"foto-{n}.pdf", pdf, "application/pdf")},
            headers=desk.headers(TIM),
        )

    notes = [desk.act(case, "notes", KABID, text=f"Catatan {n}.") for n in range(20)]
    files = [attach(n) for n in range(5)]
    answers = await asyncio.gather(*notes, *files)
    assert [a.status_code for a in answers] == [200] * 25, [a.text for a in answers if a.is_error]
    timeline = (await desk.view(case))["timeline"]
    texts = [e["details"]["text"] for e in timeline if e["event"] == "NoteAdded"]
    assert sorted(texts) == sorted(f"Catatan {n}." for n in range(20))
    assert sum(e["event"] == "AttachmentAdded" for e in timeline) == 5


@pytest.mark.parametrize("control", ["\u202e", "\u202b", "\u2066", "\u2069"])
async def test_a_note_with_a_control_that_reorders_text_is_refused(
    desk: Desk, control: str
) -> None:
    """An override or isolate in a note makes what follows read backwards in the timeline
    ("bayar ke \u202e0987" shows as "bayar ke 7890"): refused as other control characters are;
    a file's name keeps none of them."""
    case = await desk.open()
    refused = await desk.act(case, "notes", KABID, text=f"Bayar ke {control}0987 segera.")
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "text"
    upload = await desk.http.post(
        f"/workflow/v1/cases/{case}/attachments",
        files={"file": (f"tagihan{control}fdp.pdf", b"%PDF-1.4\n", "application/pdf")},
        headers=desk.headers(TIM),
    )
    assert upload.status_code == 200, upload.text
    timeline = (await desk.view(case))["timeline"]
    names = [e["details"]["filename"] for e in timeline if e["event"] == "AttachmentAdded"]
    assert names == ["tagihan_fdp.pdf"]


async def test_notes_and_attachments_at_any_step_record_who_when_and_where(desk: Desk) -> None:
    case = await desk.open()
    await desk.step(case, "notes", KABID, text="Mohon segera ditangani.")
    pdf = b"%PDF-1.4\n% laporan\n"
    upload = await desk.http.post(
        f"/workflow/v1/cases/{case}/attachments",
        files={"file": ("foto-lokasi.pdf", pdf, "application/pdf")},
        headers=desk.headers(TIM),
    )
    assert upload.status_code == 200, upload.text
    note, attached = upload.json()["timeline"][1:3]
    assert (note["event"], note["step"], note["role"], note["by"]) == (
        "NoteAdded",
        "identification",
        "kabid",
        "kabid-test",
    )
    assert note["details"]["text"] == "Mohon segera ditangani."
    assert attached["details"]["filename"] == "foto-lokasi.pdf"
    attachment = attached["details"]["attachment_id"]
    download = await desk.http.get(
        f"/workflow/v1/cases/{case}/attachments/{attachment}", headers=desk.headers(TIM)
    )
    assert download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''foto-lokasi.pdf" in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"
    html = await desk.http.post(
        f"/workflow/v1/cases/{case}/attachments",
        files={"file": ("foto.png", b"<html><script>alert(1)</script></html>", "image/png")},
        headers=desk.headers(TIM),
    )
    assert html.status_code == 415
    refused = await desk.http.post(
        f"/workflow/v1/cases/{case}/attachments",
        files={"file": ("skrip.exe", b"MZ\x90\x00", "application/pdf")},
        headers=desk.headers(TIM),
    )
    assert refused.status_code == 415


@pytest.mark.store_deadline  # it stalls the store and times the answers
async def test_a_stuck_attachment_write_is_a_503_and_readiness_false_until_it_heals(
    desk: Desk,
) -> None:
    case = await desk.open()
    deadline = desk.cases.guard.deadline
    lock = await asyncpg.connect(desk.cases.settings.postgres_dsn())
    try:
        transaction = lock.transaction()
        await transaction.start()
        await lock.execute("LOCK TABLE workflow.cases_events IN ACCESS EXCLUSIVE MODE")
        started = datetime.now(UTC)
        stuck = await desk.http.post(
            f"/workflow/v1/cases/{case}/attachments",
            files={"file": ("surat.pdf", b"%PDF-1.4\n", "application/pdf")},
            headers=desk.headers(TIM),
        )
        took = (datetime.now(UTC) - started).total_seconds()
        assert stuck.status_code == 503, stuck.text
        assert stuck.headers["retry-after"]
        assert took < deadline + 3, took
        ready = await desk.http.get("/workflow/readyz")
        assert (ready.status_code, ready.json()["checks"]["writer"]) == (503, False)
        await transaction.rollback()

        async def healed() -> bool:
            return (await desk.http.get("/workflow/readyz")).status_code == 200

        await eventually(healed, within=15)
        again = await desk.http.post(
            f"/workflow/v1/cases/{case}/attachments",
            files={"file": ("surat.pdf", b"%PDF-1.4\n", "application/pdf")},
            headers=desk.headers(TIM),
        )
        assert again.status_code == 200, again.text
        added = [e for e in again.json()["timeline"] if e["event"] == "AttachmentAdded"]
        assert len(added) == 1  # the one answered 503 rolled back
    finally:
        await lock.close()


async def test_a_commands_answer_is_the_case_as_read_afterwards(desk: Desk) -> None:
    """The answer is built from the events the command read and stored (no second read): it
    must say what a fresh read says, the new event's sealed text and officer included."""
    case = await desk.open()
    steps: list[tuple[str, Role, dict[str, Any]]] = [
        ("identification/escalate", TIM, {"note": "Perlu keputusan pimpinan."}),
        ("verification", KABID, {"note": "Berkas lengkap."}),
        ("disposition", KADIS, {"to": "tim_pengaduan", "instruction": "Tinjau ke lapangan."}),
        ("investigation", TIM, {"summary": "Sudah ditinjau.", "related_agencies": ["Dinas PU"]}),
        ("bap", TIM, BAP),
    ]
    for path, role, body in steps:
        answer = await desk.step(case, path, role, **body)
        assert answer == await desk.view(case, role)


PERSON = "u.p. Bapak Rudi Hartono 081377700011"


@pytest.mark.parametrize(
    ("path", "kind", "body", "field"),
    [
        (
            "reject",
            Kind.COMPLAINT,
            {"reason": "Bukan kewenangan.", "referred_to": f"BPN {PERSON}"},
            "referred_to",
        ),
        (
            "investigation",
            Kind.COMPLAINT,
            {"summary": "Diperiksa.", "related_agencies": ["BPN", PERSON]},
            "related_agencies",
        ),
        (
            "follow-up",
            Kind.COMPLAINT,
            {"action": "Diarsipkan.", "answer": "Selesai.", "archive_ref": f"ARS/01 {PERSON}"},
            "archive_ref",
        ),
        (
            "bkpm/escalate",
            Kind.CONSULTATION,
            {"note": "Ke BKPM.", "reference": f"BKPM-7 {PERSON}"},
            "reference",
        ),
        (
            "bkpm/answer",
            Kind.CONSULTATION,
            {"answer": "Dijawab.", "reference": "rudi.h@contoh.id"},
            "reference",
        ),
    ],
)
async def test_fields_kept_unsealed_refuse_personal_data(
    desk: Desk, path: str, kind: Kind, body: dict[str, Any], field: str
) -> None:
    """An agency's name, an archive or a reference number is kept and published unsealed: a
    name, phone or e-mail typed into it would reach every role and outlive an erasure. It is
    refused, naming the field, and nothing is written."""
    case = await desk.open(kind)
    before = await desk.view(case)
    answer = await desk.act(case, path, TIM, **body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    errors = answer.json()["errors"]
    assert [e["code"] for e in errors if field in str(e["field"])] == ["personal_data"], errors
    assert "data pribadi" in errors[0]["message"]
    assert (await desk.view(case))["version"] == before["version"]


async def test_a_case_is_not_merged_into_one_the_officer_may_not_see(desk: Desk) -> None:
    """A confidential case at a step Kabid has no part in is unknown to Kabid: naming it as the
    primary is a 404 like an unknown id, and neither case changes."""
    hidden, duplicate = await desk.open(confidential=True), await desk.open()
    await desk.step(duplicate, "identification/escalate", TIM, note="Ke pimpinan.")  # Kabid's
    assert (
        await desk.act(duplicate, "merge", KABID, primary_case_id=str(uuid4()))
    ).status_code == 404
    before = await desk.view(hidden)
    answer = await desk.act(duplicate, "merge", KABID, primary_case_id=str(hidden))
    assert answer.status_code == 404, answer.text
    assert answer.json()["detail"] == "Kasus tidak ditemukan."
    after = await desk.view(hidden)
    assert (after["version"], after["duplicates"]) == (before["version"], [])
    assert (await desk.view(duplicate))["status"] == "in_progress"


async def test_a_transfer_by_another_role_is_refused_naming_who_may(desk: Desk) -> None:
    case = await desk.open()
    answer = await desk.act(case, "transfer", TIM, to="dinas-b", reason="Bukan wewenang kami.")
    assert answer.status_code == 403, answer.text
    problem = answer.json()
    assert problem["detail"] == (
        "Tindakan 'Teruskan ke instansi lain' hanya dapat dilakukan oleh: Pengelola Induk."
    )
    assert problem["allowed_roles"] == ["koordinator"]


async def test_labels_that_only_look_personal_are_kept(desk: Desk) -> None:
    """A company named after a form of address, an archive shelf that reads like a plate: no
    phone, e-mail or NIK, so kept as written."""
    case = await desk.open()
    view = await desk.step(
        case,
        "reject",
        TIM,
        reason="Bukan kewenangan.",
        referred_to="PT Mas Jaya Abadi, rak KT 12 B",
    )
    assert view["timeline"][-1]["details"]["referred_to"] == "PT Mas Jaya Abadi, rak KT 12 B"


async def test_a_note_of_invisible_characters_alone_is_refused(desk: Desk) -> None:
    """Zero-width spaces and other blanks say nothing: an entry of them only was recorded."""
    case = await desk.open()
    for blank in ("\u200b\u200b", "\u2800", "\u200e \u200f"):
        refused = await desk.act(case, "notes", TIM, text=blank)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["code"] == "too_short_visible"
        escalated = await desk.act(case, "identification/escalate", TIM, note=blank)
        assert escalated.status_code == 422, escalated.text
    assert (await desk.step(case, "notes", TIM, text="\u200bTerlihat."))["version"] > 1


async def test_a_calendar_day_is_named_without_personal_data(desk: Desk) -> None:
    """A day's name is published without sign-in (GET /calendar): a phone or an e-mail in it
    reached everyone. It is refused as in every other unsealed field."""
    admin = desk.headers(Role.ADMIN)
    day = "/workflow/v1/calendar/days/2031-12-31"
    for name in ("Cuti pegawai 081234567890", "Cuti budi@example.com", "\u200b"):
        refused = await desk.http.put(day, json={"name": name}, headers=admin)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "name"
    named = await desk.http.put(day, json={"name": "Cuti Bapak Joko Santoso"}, headers=admin)
    assert named.status_code == 200, named.text  # a name is masked where it is read
    published = await desk.http.get("/workflow/v1/calendar?year=2031")
    assert "Cuti Bapak [nama]" in published.text
    assert "Joko" not in published.text


async def test_a_refused_command_is_told_in_the_sops_words(desk: Desk) -> None:
    """A command at the wrong step or on the other kind of case named the SOP's ids
    ('identification', 'consultation'), which read as code to an officer."""
    case = await desk.open()
    early = await desk.act(case, "verification", KABID, note="Lengkap.")
    assert early.status_code == 409, early.text
    assert early.json()["expected_step"] == "identification"
    detail = early.json()["detail"]
    assert "langkah 2. Identifikasi masalah" in detail
    assert "langkah 3. Verifikasi" in detail
    assert "'" not in detail
    consultation = await desk.open(Kind.CONSULTATION)
    other = await desk.act(consultation, "identification/escalate", TIM, note="Perlu pimpinan.")
    assert other.status_code == 409, other.text
    assert other.json()["detail"] == "Perintah ini tidak berlaku untuk konsultasi."


async def test_an_upload_holds_one_file(desk: Desk) -> None:
    """Two files in one upload: the last was stored and the other dropped without a word."""
    case = await desk.open()
    pdf = b"%PDF-1.4\n% satu\n"
    both = await desk.http.post(
        f"/workflow/v1/cases/{case}/attachments",
        files=[
            ("file", ("a.pdf", pdf, "application/pdf")),
            ("file", ("b.pdf", pdf, "application/pdf")),
        ],
        headers=desk.headers(TIM),
    )
    assert both.status_code == 422, both.text
    assert both.json()["errors"][0]["code"] == "one_file"
    view = await desk.view(case)
    assert not [entry for entry in view["timeline"] if entry["event"] == "AttachmentAdded"]


async def test_a_file_for_a_case_erased_while_open_is_refused_saying_why(desk: Desk) -> None:
    """Its key is shredded: no file can be encrypted for it. That was 'case not found' for a
    case the officer had open on the screen."""
    case_id = await desk.open()

    await desk.erase(case_id)
    refused = await desk.attach(case_id, b"%PDF-1.4\n% satu\n", "a.pdf")
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "/problems/case-erased"


async def test_a_downloaded_file_is_named_as_the_reader_sees_it(desk: Desk) -> None:
    """The case view masks a NIK or a phone in a file's name for the roles without the
    identity; the download's header gave it in clear."""
    case = await desk.open()
    name = "KTP Budi 3525010101900001 081234567890.pdf"
    attached = await desk.http.post(
        f"/workflow/v1/cases/{case}/attachments",
        files={"file": (name, b"%PDF-1.4\n% ktp\n", "application/pdf")},
        headers=desk.headers(TIM),
    )
    entry = attached.json()["timeline"][-1]["details"]
    route = f"/workflow/v1/cases/{case}/attachments/{entry['attachment_id']}"
    await desk.step(case, "identification/escalate", TIM, note="Perlu keputusan pimpinan.")
    await desk.step(case, "verification", KABID, note="Berkas lengkap.")
    shown = next(
        e["details"]["filename"]
        for e in (await desk.view(case, KADIS))["timeline"]
        if e["event"] == "AttachmentAdded"
    )
    assert "3525010101900001" not in shown
    masked = await desk.http.get(route, headers=desk.headers(KADIS))
    assert masked.status_code == 200, masked.text
    disposition = masked.headers["content-disposition"]
    assert "3525010101900001" not in disposition
    assert "081234567890" not in disposition
    clear = await desk.http.get(route, headers=desk.headers(TIM))
    assert "3525010101900001" in clear.headers["content-disposition"]


async def test_every_refusal_names_its_type(desk: Desk) -> None:
    """Unreadable JSON and a chunked body past the limit were typed `about:blank`, the same
    refusals in other forms by their code: a client tells problems apart by type alone."""
    case = await desk.open()
    route = f"/workflow/v1/cases/{case}/notes"
    json_headers = desk.headers(TIM) | {"content-type": "application/json"}
    unreadable = await desk.http.post(route, content=b'{"text": "\xff\xfe"}', headers=json_headers)
    deep = await desk.http.post(route, content=b"[" * 100_000, headers=json_headers)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b" " * 65_536

    chunked = await desk.http.post(route, content=chunks(), headers=json_headers)
    for answer in (unreadable, deep, chunked):
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.json()["type"].startswith("/problems/"), answer.text
    assert chunked.status_code == 413
    assert chunked.json()["type"] == "/problems/too-large"


async def test_an_officer_whose_command_hides_the_case_is_offered_nothing_more(
    desk: Desk,
) -> None:
    """Kabid sees a confidential case only at the verification step: once verified, the answer
    offered notes and files that the next request refused as an unknown case."""
    case = await desk.open(confidential=True)
    await desk.step(case, "identification/escalate", TIM, note="Perlu keputusan pimpinan.")
    verified = await desk.step(case, "verification", KABID, note="Berkas lengkap.")
    assert verified["allowed_actions"] == []
    gone = await desk.http.get(f"/workflow/v1/cases/{case}", headers=desk.headers(KABID))
    assert gone.status_code == 404
    seen = await desk.view(case, KADIS)
    assert "disposition" in seen["allowed_actions"]


async def test_a_register_case_erased_while_open_is_closed_as_history_in_bulk(desk: Desk) -> None:
    """The bulk close sealed its reason with the case's key: an erased case was refused as
    unknown, though the same close of one case goes through."""
    backlog = imported(Kind.COMPLAINT)
    await asyncio.to_thread(desk.cases.open, [lambda: backlog])
    await desk.erase(backlog.id)
    closed = await desk.http.post(
        "/workflow/v1/backlog/close",
        json={"case_ids": [str(backlog.id)], "reason": "Sudah ditangani di atas kertas."},
        headers=desk.headers(TIM),
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed"] == [str(backlog.id)], closed.text

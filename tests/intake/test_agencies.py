"""Public pages and channels per agency: each agency's form address, WhatsApp number and
Instagram account make that agency's submissions; codes are unique across the deployment."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
import segno

from services.intake.channels.officer import RecordedForm, _recorder
from services.intake.channels.qr import form_url
from services.intake.channels.web import _draft
from services.intake.draft import Draft, to_pending
from services.intake.forms import PublicForm
from services.intake.inbound import _handle
from services.intake.inbox import Inbox, UnknownSubmission
from services.intake.lookup import Lookup, find, place_earlier
from services.intake.personal import _facets
from services.intake.submission import Submission
from services.workflow.issuer import Issuer
from shared.access import Facet
from shared.agencies import Agency, Channels, save
from shared.auth import Forbidden
from shared.channels import Channel
from shared.events import seal
from shared.events import workflow as wf
from shared.feed import CREDENTIAL_HEADER, service_credential
from shared.receipts import SECRET_HEADER
from shared.settings import Settings
from shared.sop import PROVINCE, Kind, Officer, Role
from tests.intake.conftest import LAPOR_INBOUND, Desk
from tests.intake.meta import (
    IG_ACCOUNT_ID,
    PHONE_NUMBER_ID,
    SITI_IGSID,
    SITI_WA,
    ig_message,
    instagram,
    wa_message,
    wa_messages,
    wa_text,
)
from tests.polling import eventually

B_NUMBER = "109876543210987"
B_INSTAGRAM = "17841400000000002"
B_MAILBOX = "pengaduan@dinas-b.example.go.id"
DINAS_B = Agency(
    id="dinas-b",
    name="Dinas Perhubungan Provinsi",
    channels=Channels(
        whatsapp_numbers=(B_NUMBER,), instagram_accounts=(B_INSTAGRAM,), mailboxes=(B_MAILBOX,)
    ),
)
COMPLAINT = "Izin trayek saya belum selesai setelah tiga minggu, mohon dibantu."
FORM: dict[str, Any] = {"text": "Lampu lalu lintas di simpang tiga mati sejak kemarin."}


async def register(settings: Settings, *agencies: Agency) -> None:
    """The agencies in the test's database, as the provincial administrator saves them."""
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        for agency in agencies:
            await save(conn, agency)
    finally:
        await conn.close()


@pytest.fixture
async def province(desk: Desk) -> Desk:
    """The desk of a deployment that serves the home agency and Dinas B."""
    await register(desk.settings, DINAS_B)
    desk.app.state.inbox.agencies.forget()
    return desk


def to_number(payload: dict[str, Any], number: str) -> dict[str, Any]:
    """The notification as Meta sends it for a message written to another business number."""
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = number
    return payload


async def agency_of(desk: Desk, code: str) -> str:
    """The agency a stored submission (by its tracking code) belongs to."""
    [row] = await desk.fetch(
        "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1", code
    )
    inbox: Inbox = desk.app.state.inbox
    submission = inbox.submissions.submission(row["case_id"])
    assert submission is not None
    return submission.agency


async def test_a_whatsapp_message_to_b_number_is_b_submission_answered_from_it(
    province: Desk,
) -> None:
    answer = await province.whatsapp(to_number(wa_text(COMPLAINT, "wamid.B1"), B_NUMBER))
    assert answer.status_code == 200, answer.text
    [received] = answer.json()["received"]
    assert await agency_of(province, received["tracking_code"]) == "dinas-b"

    async def replied() -> list[dict[str, Any]]:
        return province.graph.sent_to(f"/{B_NUMBER}/messages")

    [reply] = await eventually(replied, within=5)
    assert reply["to"] == SITI_WA
    assert received["tracking_code"] in reply["text"]["body"]
    assert province.graph.sent_to(f"/{PHONE_NUMBER_ID}/messages") == []


async def test_an_instagram_message_to_b_account_is_b_submission_answered_from_it(
    province: Desk,
) -> None:
    payload = instagram(ig_message("mid.B1", COMPLAINT))
    payload["entry"][0]["id"] = B_INSTAGRAM
    answer = await province.instagram(payload)
    assert answer.status_code == 200, answer.text
    [received] = answer.json()["received"]
    assert await agency_of(province, received["tracking_code"]) == "dinas-b"

    async def replied() -> list[dict[str, Any]]:
        return province.graph.sent_to(f"/{B_INSTAGRAM}/messages")

    [reply] = await eventually(replied, within=5)
    assert reply["recipient"] == {"id": SITI_IGSID}
    assert province.graph.sent_to(f"/{IG_ACCOUNT_ID}/messages") == []


async def test_a_number_no_agency_names_is_the_home_agency(province: Desk) -> None:
    answer = await province.whatsapp(wa_text(COMPLAINT, "wamid.H1"))
    [received] = answer.json()["received"]
    assert await agency_of(province, received["tracking_code"]) == province.settings.agency


async def test_one_sender_writing_to_two_agencies_opens_a_case_at_each(province: Desk) -> None:
    home = await province.whatsapp(wa_text(COMPLAINT, "wamid.T1"))
    other = await province.whatsapp(to_number(wa_text(COMPLAINT, "wamid.T2"), B_NUMBER))
    [at_home], [at_b] = home.json()["received"], other.json()["received"]
    assert at_b["added"] is False
    assert at_home["tracking_code"] != at_b["tracking_code"]
    assert await agency_of(province, at_b["tracking_code"]) == "dinas-b"


async def test_the_form_at_b_address_names_b_and_files_with_b(province: Desk) -> None:
    page = await province.http.get("/instansi/dinas-b/pengaduan")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Formulir pengaduan — Dinas Perhubungan Provinsi</title>" in page.text
    assert '<meta name="aduan-instansi" content="dinas-b"' in page.text
    answer = await province.http.post("/intake/v1/complaints?agency=dinas-b", json=FORM)
    assert answer.status_code == 201, answer.text
    assert await agency_of(province, answer.json()["tracking_code"]) == "dinas-b"
    known = await province.http.get("/intake/v1/agencies/dinas-b")
    assert known.json() == {"id": "dinas-b", "name": "Dinas Perhubungan Provinsi"}
    alone = await province.http.get("/instansi/dinas-b")
    assert (alone.status_code, alone.text) == (200, page.text)
    other = await province.http.get("/instansi/dinas-b/rahasia")
    assert other.status_code == 404
    assert "Halaman tidak ditemukan" in other.text


async def test_an_unknown_agency_is_a_404_page_and_a_404_problem(province: Desk) -> None:
    page = await province.http.get("/instansi/dinas-tidak-ada/pengaduan")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Instansi tidak ditemukan" in page.text
    assert "dinas-tidak-ada" in page.text
    answer = await province.http.post("/intake/v1/complaints?agency=dinas-tidak-ada", json=FORM)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "Instansi tidak dikenal."
    assert await province.fetch("SELECT 1 FROM intake.submission_index") == []


async def test_an_agency_page_escapes_the_agency_name(desk: Desk) -> None:
    await register(desk.settings, Agency(id="dinas-c", name="Dinas <C> & \\1 Mitra"))
    page = await desk.http.get("/instansi/dinas-c/konsultasi")
    assert "<title>Formulir konsultasi — Dinas &lt;C&gt; &amp; \\1 Mitra</title>" in page.text
    assert "<C>" not in page.text


async def test_the_same_idempotency_key_at_two_agencies_is_two_submissions(
    province: Desk,
) -> None:
    headers = {"Idempotency-Key": "form-kunci-1"}
    home = await province.http.post("/intake/v1/complaints", json=FORM, headers=headers)
    other = await province.http.post(
        "/intake/v1/complaints?agency=dinas-b", json=FORM, headers=headers
    )
    assert (home.status_code, other.status_code) == (201, 201)
    assert home.json()["tracking_code"] != other.json()["tracking_code"]


async def test_a_code_taken_at_another_agency_is_never_given_again(province: Desk) -> None:
    answer = await province.http.post("/intake/v1/complaints", json=FORM)
    taken = answer.json()["tracking_code"]
    inbox: Inbox = province.app.state.inbox
    draft = Draft(
        kind=Kind.COMPLAINT,
        channel=Channel.WEB,
        text=FORM["text"],
        received_at=datetime.now(UTC),
        agency="dinas-b",
    )
    pending = to_pending(draft)
    pending.code = taken  # the rare collision, forced: the code is the home agency's case's
    outcome = await inbox.writer.write(pending)
    assert outcome.row.tracking_code != taken
    assert await agency_of(province, outcome.row.tracking_code) == "dinas-b"
    index = await province.fetch(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'intake' "
        "AND tablename = 'submission_index' AND indexdef LIKE '%UNIQUE%'"
    )
    unique = [row["indexdef"].rsplit("USING btree ", 1)[1] for row in index]
    assert "(tracking_code)" in unique  # the code alone: unique across every agency


async def test_b_submission_is_tracked_on_the_complainant_own_pages(province: Desk) -> None:
    answer = await province.http.post(
        "/intake/v1/forms/complaints?agency=dinas-b",
        files=[
            ("form", (None, '{"text": "Halte bus rusak di depan kantor kecamatan."}')),
        ],
    )
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    code, secret = receipt["tracking_code"], receipt["receipt_secret"]
    assert secret is not None
    own = await province.http.get(
        f"/intake/v1/own/{code}/messages", headers={SECRET_HEADER: secret}
    )
    assert own.status_code == 200, own.text


async def test_an_officer_records_in_an_agency_they_serve_and_nowhere_else(
    province: Desk,
) -> None:
    inbox: Inbox = province.app.state.inbox
    home = province.settings.agency
    member = Officer(
        id="petugas-1",
        name="Petugas",
        roles=frozenset({Role.PETUGAS}),
        agency=home,
        memberships=(("dinas-b", frozenset({Role.PETUGAS})),),
    )
    stranger = Officer(id="petugas-2", name="Petugas", roles=frozenset({Role.PETUGAS}), agency=home)
    at_b = RecordedForm.model_validate(
        {"channel": "letter", "text": "Surat keberatan atas trayek baru.", "agency": "dinas-b"}
    )
    assert await _recorder(member, inbox, at_b) == "dinas-b"
    with pytest.raises(Forbidden):
        await _recorder(stranger, inbox, at_b)
    answer = await province.http.post(
        "/intake/v1/officer/submissions",
        json={
            "channel": "letter",
            "text": "Surat keberatan atas trayek baru.",
            "agency": "dinas-b",
        },
        headers=province.officer(Role.PETUGAS),
    )
    assert answer.status_code == 403
    assert answer.json()["detail"] == "Anda tidak bertugas di instansi ini."


async def test_b_submission_is_read_only_by_officers_serving_b(province: Desk) -> None:
    answer = await province.http.post("/intake/v1/complaints?agency=dinas-b", json=FORM)
    [row] = await province.fetch("SELECT case_id FROM intake.submission_index")
    case_id = row["case_id"]
    home_officer = province.officer(Role.TIM_PENGADUAN)  # a token of the home agency only
    hidden = await province.http.get(f"/intake/v1/submissions/{case_id}", headers=home_officer)
    assert hidden.status_code == 404
    inbox: Inbox = province.app.state.inbox
    submission = inbox.submissions.submission(case_id)
    member = Officer(
        id="tim-b",
        name="Tim B",
        roles=frozenset({Role.TIM_PENGADUAN}),
        agency=province.settings.agency,
        memberships=(("dinas-b", frozenset({Role.TIM_PENGADUAN})),),
    )
    stranger = Officer(
        id="tim-a", name="Tim A", roles=frozenset({Role.TIM_PENGADUAN}), agency="dpmptsp-lain"
    )
    assert Facet.TEXT in _facets(inbox, submission, member)
    with pytest.raises(UnknownSubmission):
        _facets(inbox, submission, stranger)
    assert answer.json()["tracking_code"]


async def test_b_printed_qr_code_opens_b_form_page(province: Desk) -> None:
    png = await province.http.get("/intake/v1/qr.png", params={"agency": "dinas-b", "scale": 4})
    assert png.status_code == 200
    url = form_url(province.settings, "counter", "dinas-b")
    assert url.endswith("/instansi/dinas-b/pengaduan?via=qr&tempat=counter")
    expected = segno.make(url, error="q", micro=False).png_data_uri(scale=4)
    assert expected == "data:image/png;base64," + base64.b64encode(png.content).decode()
    unknown = await province.http.get("/intake/v1/qr.svg", params={"agency": "tidak-ada"})
    assert unknown.status_code == 404


async def test_a_lapor_complaint_disposed_to_b_is_b_submission(province: Desk) -> None:
    report = {"tracking_id": "LAP-2026-0099", "content": COMPLAINT, "instansi": "dinas-b"}
    auth = {"Authorization": f"Bearer {LAPOR_INBOUND}"}
    answer = await province.http.post("/intake/v1/lapor/complaints", json=report, headers=auth)
    assert answer.status_code == 201, answer.text
    assert await agency_of(province, answer.json()["tracking_code"]) == "dinas-b"
    elsewhere = report | {"tracking_id": "LAP-2026-0100", "instansi": "dinas-lain"}
    refused = await province.http.post("/intake/v1/lapor/complaints", json=elsewhere, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "instansi"


async def test_an_agency_administrator_erases_only_in_the_agencies_they_administer(
    province: Desk,
) -> None:
    """A person who wrote to the home office and to Dinas B: the home office's administrator
    erases what the home office holds, and learns nothing of what lies elsewhere."""
    contact = {"contact": {"name": "Siti", "phone": "0812-3456-7890"}, "consent": True}
    ours = await province.http.post("/intake/v1/complaints", json=FORM | contact)
    theirs = await province.http.post("/intake/v1/complaints?agency=dinas-b", json=FORM | contact)
    assert ours.status_code == theirs.status_code == 201, (ours.text, theirs.text)
    home_admin = province.officer(Role.ADMIN)
    answer = await province.http.post(
        "/intake/v1/erasures", json={"phone": "0812-3456-7890"}, headers=home_admin
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"erased": [ours.json()["tracking_code"]], "already_erased": []}
    inbox: Inbox = province.app.state.inbox
    [row] = await province.fetch(
        "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1",
        theirs.json()["tracking_code"],
    )
    kept = inbox.submissions.submission(row["case_id"])
    assert kept is not None
    assert kept.erased_at is None


async def test_a_case_moved_to_another_agency_is_read_by_that_agencys_officers(
    province: Desk,
) -> None:
    answer = await province.http.post("/intake/v1/complaints?agency=dinas-b", json=FORM)
    assert answer.status_code == 201, answer.text
    [row] = await province.fetch("SELECT case_id FROM intake.submission_index")
    case_id, home = row["case_id"], province.settings.agency
    inbox: Inbox = province.app.state.inbox
    team_of = {
        agency: Officer(f"tim-{agency}", "Tim", frozenset({Role.TIM_PENGADUAN}), agency)
        for agency in (home, "dinas-b")
    }
    held = frozenset({Role.KOORDINATOR})
    coordinator = Officer("k", "Koordinator", held, PROVINCE, ((PROVINCE, held),))

    def readers() -> set[str]:
        submission = inbox.submissions.submission(case_id)
        seen = set()
        for name, officer in [*team_of.items(), (PROVINCE, coordinator)]:
            with contextlib.suppress(UnknownSubmission):
                _facets(inbox, submission, officer)
                seen.add(name)
        return seen

    assert readers() == {"dinas-b", PROVINCE}
    at = datetime.now(UTC)
    moves: dict[str, Any] = {"step": "identification", "current_step": "identification"}
    moves |= {"step_due_at": at, "deadline_at": at}
    declined = wf.CaseDeclined(
        case_id=case_id, at=at, from_agency="dinas-b", to_agency=PROVINCE, **moves
    )
    forwarded = wf.CaseTransferred(
        case_id=case_id, at=at, from_agency=PROVINCE, to_agency=home, **moves
    )
    _handle(
        inbox,
        [seal(declined, subject=case_id, version=2, time=at, agency=PROVINCE)],
    )
    assert readers() == {PROVINCE}  # in the coordinator's queue: the agency no longer reads it
    _handle(
        inbox,
        [seal(forwarded, subject=case_id, version=3, time=at, agency=home)],
    )
    assert readers() == {home, PROVINCE}


def _moved(inbox: Inbox, case_id: UUID, *, to: str, ago: float = 0.0) -> None:
    """Workflow's coordinator moved the case to another agency `ago` seconds ago, as intake's
    consumer hears it."""
    at = datetime.now(UTC) - timedelta(seconds=ago)
    moves: dict[str, Any] = {"step": "identification", "current_step": "identification"}
    moves |= {"step_due_at": at, "deadline_at": at}
    moved = wf.CaseTransferred(case_id=case_id, at=at, from_agency=PROVINCE, to_agency=to, **moves)
    _handle(
        inbox,
        [seal(moved, subject=case_id, version=2, time=at, agency=to)],
    )


def _answered(inbox: Inbox, case_id: UUID, *, by: str, version: int) -> None:
    """The agency that has the case answered it: closed, with the public answer."""
    at = datetime.now(UTC)
    answer = wf.ResolvedDirectly(
        case_id=case_id,
        at=at,
        by_role=Role.TIM_PENGADUAN,
        step="identification",
        working_minutes=5.0,
        within_standard=True,
        public_answer="Izin trayek Anda terbit hari ini.",
    )
    _handle(
        inbox,
        [seal(answer, subject=case_id, version=version, time=at, agency=by)],
    )


async def _sent_from(desk: Desk, number: str, count: int) -> list[dict[str, Any]]:
    async def sent() -> list[dict[str, Any]]:
        found = desk.graph.sent_to(f"/{number}/messages")
        return found if len(found) >= count else []

    return await eventually(sent, within=10)


async def _whatsapp_case(desk: Desk, ago: int = 0) -> tuple[str, UUID]:
    """Siti wrote to the home agency's number `ago` seconds ago; its receipt goes out from it."""
    first = wa_message("wamid.P1", "text", {"body": COMPLAINT})
    first["timestamp"] = str(int(time.time()) - ago)
    answer = await desk.whatsapp(wa_messages(first))
    [received] = answer.json()["received"]
    code = received["tracking_code"]
    [row] = await desk.fetch(
        "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1", code
    )
    await _sent_from(desk, PHONE_NUMBER_ID, 1)
    return code, row["case_id"]


async def test_a_case_moved_to_b_is_answered_from_b_number_never_the_one_it_left(
    province: Desk,
) -> None:
    """Outside B's own chat window (Siti never wrote to B's number) B answers by template."""
    code, case_id = await _whatsapp_case(province)
    inbox: Inbox = province.app.state.inbox
    _moved(inbox, case_id, to="dinas-b")
    [forwarded] = await _sent_from(province, B_NUMBER, 1)  # told of the move, by B
    _answered(inbox, case_id, by="dinas-b", version=3)
    _, closure = await _sent_from(province, B_NUMBER, 2)
    assert [forwarded["type"], closure["type"]] == ["template", "template"]
    assert closure["to"] == SITI_WA
    assert code in [part["text"] for part in closure["template"]["components"][0]["parameters"]]
    assert len(province.graph.sent_to(f"/{PHONE_NUMBER_ID}/messages")) == 1  # the receipt only


async def test_a_chat_reply_to_b_number_joins_the_case_moved_to_b(province: Desk) -> None:
    code, case_id = await _whatsapp_case(province, ago=600)  # Meta's times are in seconds
    inbox: Inbox = province.app.state.inbox
    _moved(inbox, case_id, to="dinas-b", ago=300)
    await _sent_from(province, B_NUMBER, 1)  # told of the move, by B
    more = wa_text("Nomor permohonan saya 503/117.", "wamid.P2")
    answer = await province.whatsapp(to_number(more, B_NUMBER))
    [added] = answer.json()["received"]
    assert (added["tracking_code"], added["added"]) == (code, True)
    *_, stamped = inbox.submissions.events.get(case_id)
    assert isinstance(stamped, Submission.MessageAdded)
    assert stamped.agency == "dinas-b"  # B's, on the wire too, as workflow's events of it are
    _answered(inbox, case_id, by="dinas-b", version=3)
    _, closure = await _sent_from(province, B_NUMBER, 2)
    assert closure["type"] == "text"  # Siti wrote to B's number: its window is open
    assert "Izin trayek Anda terbit hari ini." in closure["text"]["body"]
    assert len(province.graph.sent_to(f"/{PHONE_NUMBER_ID}/messages")) == 1


async def test_a_chat_to_the_number_a_moved_case_left_opens_a_case_there(province: Desk) -> None:
    code, case_id = await _whatsapp_case(province)
    _moved(province.app.state.inbox, case_id, to="dinas-b")
    answer = await province.whatsapp(wa_text("Satu lagi: halte rusak.", "wamid.P3"))
    [fresh] = answer.json()["received"]
    assert fresh["tracking_code"] != code
    assert await agency_of(province, fresh["tracking_code"]) == province.settings.agency


async def test_a_home_key_naming_another_agency_never_reaches_that_agencys_submission(
    province: Desk,
) -> None:
    at_b = await province.http.post(
        "/intake/v1/complaints?agency=dinas-b", json=FORM, headers={"Idempotency-Key": "045/2026"}
    )
    assert at_b.status_code == 201, at_b.text
    named = {"Idempotency-Key": "dinas-b:045/2026"}  # B's key, as B's were kept
    home = await province.http.post("/intake/v1/complaints", json=FORM, headers=named)
    assert home.status_code == 201, home.text
    assert home.json()["receipt_secret"] != at_b.json()["receipt_secret"]
    assert await agency_of(province, home.json()["tracking_code"]) == province.settings.agency
    other = await province.http.post(
        "/intake/v1/complaints", json={"text": "Trotoar di depan pasar rusak berat."}, headers=named
    )
    assert other.status_code == 422  # the home agency's own key, used with another content
    assert other.json()["type"] == "/problems/idempotency-key-reused"


async def test_a_home_key_kept_before_every_agency_scoped_its_keys_still_replays(
    province: Desk,
) -> None:
    inbox: Inbox = province.app.state.inbox
    home = province.settings.agency
    form = PublicForm.model_validate(FORM)
    kept = await inbox.submit(
        _draft(Kind.COMPLAINT, form, inbox, "form-lama-1", "web", agency=home)
    )
    again = await province.http.post(
        "/intake/v1/complaints", json=FORM, headers={"Idempotency-Key": "form-lama-1"}
    )
    assert again.status_code == 200, again.text
    assert again.json()["tracking_code"] == kept.tracking_code


async def test_a_letter_is_found_by_its_number_at_each_agency(province: Desk) -> None:
    """The same letter number at two agencies is two submissions, each found by the number
    (reporting keeps those of the officer's agencies)."""
    home = province.settings.agency
    issuer = Issuer(province.settings, province.settings.auth_signing_key.get_secret_value())
    token = issuer.mint(
        subject="petugas-1",
        name="Petugas",
        roles=[Role.PETUGAS],
        memberships={home: [Role.PETUGAS], "dinas-b": [Role.PETUGAS]},
    )
    headers = {"Authorization": f"Bearer {token}"}
    letter = {
        "channel": "letter",
        "text": "Surat keberatan atas trayek baru.",
        "reference": "045/2026",
    }
    codes = []
    for agency in (home, "dinas-b"):
        answer = await province.http.post(
            "/intake/v1/officer/submissions", json=letter | {"agency": agency}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        codes.append(answer.json()["tracking_code"])
    rows = await province.fetch(
        "SELECT case_id FROM intake.submission_index WHERE tracking_code = ANY($1)", codes
    )
    conn = await asyncpg.connect(province.settings.postgres_dsn())
    try:
        credential = {CREDENTIAL_HEADER: await service_credential(province.settings, conn)}
    finally:
        await conn.close()
    found = await province.http.post(
        "/internal/v1/lookup", json={"letter": "045/2026"}, headers=credential
    )
    assert found.status_code == 200, found.text
    assert set(found.json()["case_ids"]) == {str(row["case_id"]) for row in rows}
    assert len(rows) == 2


async def test_a_search_counts_only_the_cases_of_the_officers_agencies(province: Desk) -> None:
    """Reporting asks for the officer's agencies: the cap of a search counts their cases only,
    a moved case counts where it is now, and a submission stored before the index knew its
    agency is placed by the backfill."""
    home = province.settings.agency
    ids = {}
    for name, agency in (("ours", home), ("b1", "dinas-b"), ("b2", "dinas-b")):
        answer = await province.http.post(f"/intake/v1/complaints?agency={agency}", json=FORM)
        assert answer.status_code == 201, answer.text
        [row] = await province.fetch(
            "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1",
            answer.json()["tracking_code"],
        )
        ids[name] = row["case_id"]
    inbox: Inbox = province.app.state.inbox

    async def found(agencies: list[str] | None, limit: int) -> tuple[set[UUID], bool]:
        lookup = Lookup(words="lampu lalu lintas", agencies=agencies)
        matches = await asyncio.to_thread(find, inbox, lookup, limit)
        return set(matches.case_ids), matches.more

    assert await found([home], 1) == ({ids["ours"]}, False)  # B's two are not counted
    assert await found(["dinas-b"], 2) == ({ids["b1"], ids["b2"]}, False)
    assert (await found(["dinas-b"], 1))[1]
    assert await found(None, 3) == (set(ids.values()), False)
    _moved(inbox, ids["b1"], to=home)
    assert await found([home], 2) == ({ids["ours"], ids["b1"]}, False)

    await province.fetch("UPDATE intake.submission_index SET agency = NULL")
    unknown = await found(["dinas-b"], 3)  # agency not known yet: kept (reporting cuts it)
    assert unknown == ({ids["ours"], ids["b2"]}, False)  # b1 is known moved
    assert await asyncio.to_thread(place_earlier, inbox) == 3
    assert await asyncio.to_thread(place_earlier, inbox) == 0
    assert await found(["dinas-b"], 3) == ({ids["b2"]}, False)


@pytest.mark.parametrize(
    "path",
    [
        "/instansi/" + "a" * 100 + "/pengaduan",
        "/instansi/" + "a" * 100,
        "/instansi/dinas-b/" + "k" * 50,
        "/instansi",
        "/instansi/",
    ],
)
async def test_any_address_under_the_agency_pages_that_is_none_is_the_404_page(
    province: Desk, path: str
) -> None:
    page = await province.http.get(path, headers={"accept": "text/html"})
    assert page.status_code == 404, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "tidak ditemukan" in page.text

"""The complainant told on their own channel: by email (aiosmtpd) for a web form or an
officer's record that left an address, on WhatsApp (the Graph API stand-in) as text within the
24-hour window and as a template outside it; workflow's events come through the real broker.
A failed message is retried, then shown to the officers; a redelivered event sends nothing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest
from pydantic import SecretStr

from services.intake.app import create_app
from services.workflow.issuer import Issuer
from shared.events import Contract, Envelope, seal
from shared.events import workflow as wf
from shared.receipts import receipt_key, secret_for, tracking_link
from shared.settings import Settings
from shared.sop import PROVINCE, Role
from tests.bus import bus
from tests.conftest import serving
from tests.infrastructure import free_port
from tests.intake.conftest import Desk, channel_settings
from tests.intake.meta import (
    IG_ACCOUNT_ID,
    SITI_WA,
    ig_message,
    instagram,
    wa_message,
    wa_messages,
    wa_text,
)
from tests.intake.standins import SmtpSink, http_standin, smtp_sink
from tests.polling import eventually

SITI = "siti.aminah@example.id"
CREDENTIAL = "kredensial-layanan-uji"
FORM: dict[str, Any] = {
    "text": "Izin usaha saya belum selesai setelah tiga minggu.",
    "contact": {"name": "Siti Aminah", "email": SITI},
    "consent": True,
}
ANSWER = "Izin usaha Anda terbit hari ini; silakan unduh di OSS."
TIM = Role.TIM_PENGADUAN


@dataclass
class Told:
    """Intake with SMTP and the Graph API stand-in, and the officers' view of deliveries."""

    desk: Desk
    smtp: SmtpSink

    @property
    def settings(self) -> Settings:
        """The test's settings."""
        return self.desk.settings

    async def mails(self, count: int) -> list[EmailMessage]:
        """The first `count` mails received (waits for them)."""

        async def arrived() -> list[EmailMessage]:
            return list(self.smtp.messages) if len(self.smtp.messages) >= count else []

        return await eventually(arrived, within=15)

    async def case_of(self, code: str) -> UUID:
        """The case id of a tracking code."""
        [row] = await self.desk.fetch(
            "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1", code
        )
        case_id: UUID = row["case_id"]
        return case_id

    async def publish(self, *envelopes: Envelope) -> None:
        """Workflow's events, on the test's vhost, as the relay publishes them."""
        async with bus(self.settings) as connected:
            await connected.publish(*envelopes)

    async def deliveries(self, case_id: UUID, *roles: Role) -> list[dict[str, Any]]:
        """What an officer sees of the case's messages."""
        answer = await self.desk.http.get(
            f"/intake/v1/submissions/{case_id}/deliveries", headers=self.desk.officer(*roles)
        )
        assert answer.status_code == 200, answer.text
        listed: list[dict[str, Any]] = answer.json()
        return listed

    def link(self, code: str) -> str:
        """The complainant's /lacak link, with their receipt secret."""
        secret = secret_for(receipt_key(CREDENTIAL), code)
        return tracking_link(
            self.settings.public_url, self.settings.tracking_page_path, code, secret
        )


@pytest.fixture
async def told(settings: Settings) -> AsyncIterator[Told]:
    async with http_standin() as graph:
        with smtp_sink() as smtp:
            configured = channel_settings(
                settings,
                graph.url,
                relay=False,
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
                smtp_security="none",
                mail_from="pengaduan@dpmptsp-gresik.example.go.id",
                internal_token=SecretStr(CREDENTIAL),
                delivery_backoff_seconds=0.05,
                delivery_max_attempts=3,
                public_url="https://aduan.gresik.example.go.id",
                workflow_port=free_port(),  # workflow away: the masked texts are quoted
            )
            app = create_app(configured)
            async with serving(app) as http:
                yield Told(Desk(http, app, configured, graph), smtp)


def event(contract: type[Contract], case_id: UUID, version: int, **fields: Any) -> Envelope:
    """A workflow event of the case, as workflow's relay seals it."""
    at = datetime.now(UTC)
    data = contract(case_id=case_id, at=at, by_role=TIM, **fields)
    return seal(data, subject=case_id, version=version, time=at, agency="dpmptsp-gresik")


def answered(case_id: UUID, version: int) -> Envelope:
    """Identification answered the complaint directly: closed with the public answer."""
    return event(
        wf.ResolvedDirectly,
        case_id,
        version,
        step="identification",
        working_minutes=5.0,
        within_standard=True,
        public_answer=ANSWER,
    )


async def submit_form(told: Told) -> tuple[str, UUID]:
    answer = await told.desk.http.post("/intake/v1/complaints", json=FORM)
    assert answer.status_code == 201, answer.text
    code = answer.json()["tracking_code"]
    return code, await told.case_of(code)


async def test_a_web_complainant_is_told_each_step_by_email_with_their_link(told: Told) -> None:
    code, case_id = await submit_form(told)
    [receipt] = await told.mails(1)
    assert receipt["To"] == SITI
    assert code in receipt["Subject"]
    body = receipt.get_content()
    assert told.link(code) in body
    assert secret_for(receipt_key(CREDENTIAL), code) in body
    assert "/reporting/v1/" not in body  # the page, never the JSON API

    asked = event(wf.InformationRequested, case_id, 3, step="identification")
    await told.publish(asked)
    request = (await told.mails(2))[1]
    assert "informasi tambahan" in request.get_content()
    assert told.link(code) in request.get_content()

    await told.publish(answered(case_id, 5))
    closure = (await told.mails(3))[2]
    assert ANSWER in closure.get_content()
    assert told.link(code) in closure.get_content()
    assert [mail["To"] for mail in told.smtp.messages] == [SITI] * 3


async def test_workflow_away_the_own_mail_quotes_the_masked_texts(told: Told) -> None:
    """The clear texts come from workflow when the mail is written (tests/e2e/
    test_complainant.py); without workflow the mail still goes, with what was published."""
    code, case_id = await submit_form(told)
    await told.mails(1)
    asked = "Mohon kirim foto KTP ke [email]."
    await told.publish(
        event(wf.InformationRequested, case_id, 3, step="identification", public_message=asked)
    )
    request = (await told.mails(2))[1].get_content()
    assert f"Pesan petugas: {asked}" in request
    masked = "Izin terbit; hubungi [telepon]."
    closing = event(
        wf.ResolvedDirectly,
        case_id,
        5,
        step="identification",
        working_minutes=5.0,
        within_standard=True,
        public_answer=masked,
    )
    await told.publish(closing)
    closure = (await told.mails(3))[2].get_content()
    assert f"Jawaban: {masked}" in closure
    assert told.link(code) in closure


async def test_a_redelivered_event_sends_nothing_again(told: Told) -> None:
    _, case_id = await submit_form(told)
    await told.mails(1)
    closing = answered(case_id, 3)
    await told.publish(closing)
    await told.mails(2)
    reopened = event(
        wf.CaseReopened,
        case_id,
        4,
        step="identification",
        step_due_at=datetime.now(UTC),
        deadline_at=datetime.now(UTC),
    )
    await told.publish(closing, closing, reopened)  # the broker redelivers, then a new event
    third = (await told.mails(3))[2]
    assert "dibuka kembali" in third.get_content()
    listed = await told.deliveries(case_id, TIM)
    assert [(d["purpose"], d["state"]) for d in listed] == [
        ("receipt", "sent"),
        ("closure", "sent"),
        ("reopening", "sent"),
    ]
    assert len(told.smtp.messages) == 3


async def test_an_officer_recorded_complaint_with_an_email_gets_its_receipt(told: Told) -> None:
    record = {
        "channel": "letter",
        "text": "Surat keberatan atas penolakan izin reklame di Jl. Veteran.",
        "contact": {"name": "Hendra Wijaya", "email": "hendra@example.id"},
    }
    answer = await told.desk.http.post(
        "/intake/v1/officer/submissions", json=record, headers=told.desk.officer(Role.PETUGAS)
    )
    assert answer.status_code == 201, answer.text
    code = answer.json()["tracking_code"]
    [receipt] = await told.mails(1)
    assert receipt["To"] == "hendra@example.id"
    assert told.link(code) in receipt.get_content()


async def test_an_anonymous_web_complaint_is_told_nothing(told: Told) -> None:
    form = {**FORM, "contact": None, "anonymous": True}
    answer = await told.desk.http.post("/intake/v1/complaints", json=form)
    assert answer.status_code == 201, answer.text
    assert await told.desk.fetch("SELECT id FROM intake.deliveries") == []


def _sent_texts(told: Told) -> list[dict[str, Any]]:
    return told.desk.graph.sent_to(f"/{told.settings.whatsapp_phone_number_id}/messages")


async def test_whatsapp_inside_the_window_is_free_text(told: Told) -> None:
    answer = await told.desk.whatsapp(wa_text("Izin usaha saya belum selesai.", "wamid.N1"))
    code = answer.json()["received"][0]["tracking_code"]
    await told.publish(answered(await told.case_of(code), 3))

    async def both() -> list[dict[str, Any]]:
        sent = _sent_texts(told)
        return sent if len(sent) == 2 else []

    receipt, closure = await eventually(both, within=15)
    assert [receipt["type"], closure["type"]] == ["text", "text"]
    assert closure["to"] == SITI_WA
    assert ANSWER in closure["text"]["body"]
    assert told.link(code) in closure["text"]["body"]


async def test_whatsapp_outside_the_window_is_the_approved_template(told: Told) -> None:
    old = wa_message("wamid.O1", "text", {"body": "Izin usaha saya belum selesai."})
    old["timestamp"] = str(int(time.time()) - 25 * 3600)  # written 25 hours ago
    answer = await told.desk.whatsapp(wa_messages(old))
    code = answer.json()["received"][0]["tracking_code"]
    await told.publish(answered(await told.case_of(code), 3))

    async def both() -> list[dict[str, Any]]:
        sent = _sent_texts(told)
        return sent if len(sent) == 2 else []

    _, closure = await eventually(both, within=15)
    assert closure["type"] == "template"
    assert closure["to"] == SITI_WA
    template = closure["template"]
    assert template["name"] == told.settings.whatsapp_template_name
    assert template["language"] == {"code": told.settings.whatsapp_template_language}
    [body] = template["components"]
    values = [parameter["text"] for parameter in body["parameters"]]
    assert values == [code, "telah selesai ditangani", told.link(code)]


async def _failed(told: Told, case_id: UUID) -> dict[str, Any]:
    listed = await told.deliveries(case_id, TIM)
    return listed[0] if listed and listed[0]["state"] == "failed" else {}


async def test_a_refused_graph_send_is_retried_then_shown_failed(told: Told) -> None:
    told.desk.graph.failures = 100
    answer = await told.desk.whatsapp(wa_text("Izin usaha saya belum selesai.", "wamid.F1"))
    code = answer.json()["received"][0]["tracking_code"]
    case_id = await told.case_of(code)
    failed = await eventually(lambda: _failed(told, case_id), within=15)
    assert failed["attempts"] == told.settings.delivery_max_attempts == told.desk.graph.refused
    assert (failed["last_error"], failed["state_label"]) == ("HTTP 503", "Gagal dikirim")
    worklist = await told.desk.http.get(
        "/intake/v1/deliveries/failed", headers=told.desk.officer(TIM)
    )
    assert worklist.json() == {
        "count": 1,
        "cases": [{"case_id": str(case_id), "tracking_code": code, "failed": 1}],
    }

    told.desk.graph.failures = 0  # Meta is back: an officer sends it again
    issuer = Issuer(told.settings, told.settings.auth_signing_key.get_secret_value())
    coordinator = issuer.mint(
        subject="pengelola-induk",
        name="Pengelola Induk",
        roles=[Role.KOORDINATOR],
        agency=PROVINCE,
        memberships={PROVINCE: [Role.KOORDINATOR]},
    )
    refused = await told.desk.http.post(  # sees the case's messages, sends none of its own
        f"/intake/v1/submissions/{case_id}/deliveries/{failed['id']}/retry",
        headers={"Authorization": f"Bearer {coordinator}"},
    )
    assert refused.status_code == 403, refused.text
    again = await told.desk.http.post(
        f"/intake/v1/submissions/{case_id}/deliveries/{failed['id']}/retry",
        headers=told.desk.officer(TIM),
    )
    assert again.json()["state"] == "pending"

    async def sent() -> bool:
        return bool((await told.deliveries(case_id, TIM))[0]["state"] == "sent")

    assert await eventually(sent, within=15)
    assert len(_sent_texts(told)) == 1


async def test_failed_deliveries_list_only_cases_the_officer_may_see(told: Told) -> None:
    told.smtp.refuse(100)
    answer = await told.desk.http.post("/intake/v1/complaints", json={**FORM, "confidential": True})
    assert answer.status_code == 201, answer.text
    code = answer.json()["tracking_code"]
    case_id = await told.case_of(code)
    await eventually(lambda: _failed(told, case_id), within=15)

    async def worklist(role: Role) -> dict[str, Any]:
        listed = await told.desk.http.get(
            "/intake/v1/deliveries/failed", headers=told.desk.officer(role)
        )
        assert listed.status_code == 200, listed.text
        return dict(listed.json())

    assert await worklist(TIM) == {
        "count": 1,
        "cases": [{"case_id": str(case_id), "tracking_code": code, "failed": 1}],
    }
    assert await worklist(Role.KABID) == {"count": 0, "cases": []}  # confidential: not theirs


async def test_a_refused_mail_is_retried_then_shown_failed_and_survives_a_restart(
    told: Told,
) -> None:
    told.smtp.refuse(100)
    code, case_id = await submit_form(told)
    failed = await eventually(lambda: _failed(told, case_id), within=15)
    assert failed["attempts"] == told.settings.delivery_max_attempts
    assert failed["last_error"] == "SMTPDataError 550"
    assert told.smtp.handler.refused == told.settings.delivery_max_attempts

    told.smtp.refuse(0)
    async with serving(create_app(told.settings)) as restarted:  # a new intake process
        listed = await restarted.get(
            f"/intake/v1/submissions/{case_id}/deliveries", headers=told.desk.officer(TIM)
        )
        assert [d["state"] for d in listed.json()] == ["failed"]
        retried = await restarted.post(
            f"/intake/v1/submissions/{case_id}/deliveries/{failed['id']}/retry",
            headers=told.desk.officer(TIM),
        )
        assert retried.status_code == 200, retried.text
        [receipt] = await told.mails(1)
        assert told.link(code) in receipt.get_content()


async def test_deliveries_are_for_office_roles_and_name_no_person(told: Told) -> None:
    _, case_id = await submit_form(told)
    await told.mails(1)
    listed = await told.deliveries(case_id, Role.KEPALA_DINAS)
    assert SITI not in str(listed)
    path = f"/intake/v1/submissions/{case_id}/deliveries"
    public = await told.desk.http.get(path)
    assert public.status_code == 401


async def test_an_erased_complainant_leaves_deliveries_unable_to_reach_them(told: Told) -> None:
    told.smtp.refuse(100)
    code, case_id = await submit_form(told)
    await eventually(lambda: _failed(told, case_id), within=15)
    erased = await told.desk.http.post(
        "/intake/v1/erasures", json={"email": SITI}, headers=told.desk.officer(Role.ADMIN)
    )
    assert erased.json()["erased"] == [code]
    [row] = await told.desk.fetch("SELECT sealed, last_error FROM intake.deliveries")
    assert (row["sealed"], row["last_error"]) == (None, "erased")
    [shown] = await told.deliveries(case_id, TIM)
    assert shown["state"] == "erased"
    again = await told.desk.http.post(
        f"/intake/v1/submissions/{case_id}/deliveries/{shown['id']}/retry",
        headers=told.desk.officer(TIM),
    )
    assert again.json()["state"] == "erased"  # nothing to send it to any more

    told.smtp.refuse(0)  # an answer after the erasure is told to nobody; another case's is
    other = {**FORM, "contact": {"email": "budi@example.id"}}
    budi = await told.desk.http.post("/intake/v1/complaints", json=other)
    budi_case = await told.case_of(budi.json()["tracking_code"])
    await told.mails(1)
    await told.publish(answered(case_id, 3), answered(budi_case, 3))
    mails = await told.mails(2)
    assert [mail["To"] for mail in mails] == ["budi@example.id"] * 2
    rows = await told.desk.fetch(
        "SELECT purpose FROM intake.deliveries WHERE case_id = $1", case_id
    )
    assert [r["purpose"] for r in rows] == ["receipt"]


async def test_instagram_outside_the_window_is_tagged_as_an_officers_reply(told: Told) -> None:
    old = ig_message("mid.O1", "Izin reklame saya ditolak tanpa alasan.")
    old["timestamp"] = int(time.time() * 1000) - 25 * 3600 * 1000
    answer = await told.desk.instagram(instagram(old))
    code = answer.json()["received"][0]["tracking_code"]
    await told.publish(answered(await told.case_of(code), 3))

    async def both() -> list[dict[str, Any]]:
        sent = told.desk.graph.sent_to(f"/{IG_ACCOUNT_ID}/messages")
        return sent if len(sent) == 2 else []

    _, closure = await eventually(both, within=15)
    assert (closure["messaging_type"], closure["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert ANSWER in closure["message"]["text"]
    assert told.link(code) in closure["message"]["text"]

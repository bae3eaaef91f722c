"""The complainant's side through the real services: code + receipt secret open their own view,
a reply with a photo answers the office's request and lets the clock run again by exactly the
paused working time, "belum" reopens, "sudah" opens the survey; a stranger with the code alone
sees the status and nothing else; guessing the secret is stopped and counted. The office's
request and answer reach the complainant as written (their own view, their own mail), everyone
else with the personal data in them masked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.workflow.issuer import Issuer
from shared.receipt_guard import PER_ADDRESS_MISSES, PER_CODE
from shared.receipts import SECRET_HEADER
from shared.settings import Settings
from shared.sop import Role
from shared.tracking_code import new_code
from tests.bodies import as_sent
from tests.intake.standins import smtp_sink
from tests.polling import eventually
from tests.system import System, running, with_free_ports

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
ASKED = "Mohon kirim foto papan nama usaha Anda, atau hubungi petugas di 0812-3456-7890."
ANSWER = "Izin sudah terbit. Bila ada kendala hubungi petugas kami di 0812-3456-7890."
ALWAYS_OPEN = {day: (time(0, 0), time(23, 59)) for day in range(7)}
REWALK: list[tuple[str, dict[str, Any]]] = [  # a reopened complaint, walked to its answer
    ("identification/escalate", {"note": "Perlu ditinjau pimpinan."}),
    ("verification", {"note": "Diperiksa ulang."}),
    ("disposition", {"instruction": "Tinjau lagi."}),
    ("investigation", {"summary": "Ditinjau."}),
    (
        "bap",
        {
            "place": "Kantor DPMPTSP",
            "parties_present": ["Tim Pengaduan"],
            "findings": "Papan nama sesuai.",
            "conclusion": "Izin dapat terbit.",
        },
    ),
    ("follow-up", {"action": "Diterbitkan.", "answer": "Izin terbit.", "archive_ref": "A/1"}),
]


class Journey:
    """One complainant's case, an officer of the complaint team, and the three services."""

    def __init__(self, system: System, http: httpx.AsyncClient, token: str) -> None:
        self.system, self.http = system, http
        self.officer = {"Authorization": f"Bearer {token}"}
        self.code = self.secret = self.case_id = ""

    def url(self, service: str, path: str) -> str:
        return f"{self.system.url(service)}/{service}/v1{path}"

    @property
    def own(self) -> dict[str, str]:
        return {SECRET_HEADER: self.secret}

    async def submit(self, **privacy: bool) -> dict[str, Any]:
        form = {"text": "Izin usaha saya belum terbit setelah tiga minggu.", **privacy}
        answer = (await self.http.post(self.url("intake", "/complaints"), json=form)).json()
        self.code, self.secret = answer["tracking_code"], answer["receipt_secret"]
        return dict(answer)

    async def track(self, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.get(self.url("reporting", f"/track/{self.code}"), headers=headers)

    async def case(self) -> dict[str, Any]:
        view = await self.http.get(
            self.url("workflow", f"/cases/{self.case_id}"), headers=self.officer
        )
        return dict(view.json())

    async def act(self, command: str, /, **body: Any) -> dict[str, Any]:
        version = (await self.case())["version"]
        answer = await self.http.post(
            self.url("workflow", f"/cases/{self.case_id}/{command}"),
            json={"version": version, **as_sent(command, body)},
            headers=self.officer,
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def opened(self) -> None:
        async def found() -> str | None:
            rows = await self.http.get(
                self.url("reporting", "/cases"), params={"code": self.code}, headers=self.officer
            )
            return rows.json()[0]["case_id"] if rows.status_code == 200 and rows.json() else None

        case_id = await eventually(found, within=15)
        assert case_id
        self.case_id = case_id

        async def in_workflow() -> bool:
            return "version" in await self.case()

        assert await eventually(in_workflow, within=15)

    async def until_status(self, status: str) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            view = await self.case()
            return view if view["status"] == status else None

        view = await eventually(reached, within=15)
        assert view is not None, status
        return view

    async def survey_state(self) -> dict[str, Any]:
        state = await self.http.get(self.url("intake", f"/surveys/{self.code}"), headers=self.own)
        assert state.status_code == 200, state.text
        return dict(state.json())

    async def own_view(self, predicate: Any) -> dict[str, Any]:
        async def shown() -> dict[str, Any] | None:
            view = (await self.track(self.own)).json()
            return view if predicate(view) else None

        view = await eventually(shown, within=15)
        assert view is not None
        return view


@pytest.fixture
async def journey(settings: Settings, tmp_path: Path) -> AsyncIterator[Journey]:
    settings = with_free_ports(settings).model_copy(update={"office_hours": ALWAYS_OPEN})
    async with running(settings, tmp_path) as system, httpx.AsyncClient(timeout=10) as http:
        issuer = await Issuer.load(settings)
        roles = [Role.TIM_PENGADUAN, Role.KABID, Role.KEPALA_DINAS]
        token = issuer.mint(subject="tim-1", name="Rina", roles=roles)
        yield Journey(system, http, token)


@pytest.mark.parametrize("privacy", ["anonymous", "confidential"])
async def test_the_complainant_answers_the_office_disputes_and_is_surveyed(
    journey: Journey, privacy: str
) -> None:
    receipt = await journey.submit(**{privacy: True})
    assert receipt["track_url"] == f"/lacak?kode={journey.code}#kunci={journey.secret}"
    await journey.opened()
    await journey.act("information-request", reason="Foto belum ada.", message=ASKED)
    paused = await journey.until_status("waiting_info")

    view = await journey.own_view(lambda v: v["request"] == ASKED)  # as written, not masked
    assert view["own"] is True
    assert [i["message"] for i in view["history"] if i["event"] == "InformationRequested"] == [
        ASKED
    ]
    assert {"ComplaintReceived", "InformationRequested"} <= {i["event"] for i in view["history"]}
    assert all(item["at"].endswith("+07:00") for item in view["history"])  # WIB

    replied = await journey.http.post(
        journey.url("intake", f"/own/{journey.code}/replies"),
        data={"text": "Berikut foto papan nama usaha saya."},
        files=[("files", ("papan.png", PNG, "image/png"))],
        headers=journey.own,
    )
    assert replied.status_code == 201, replied.text
    resumed = await journey.until_status("in_progress")
    received = [e for e in resumed["timeline"] if e["event"] == "InformationReceived"]
    assert len(received) == 1
    assert received[0]["role"] == "pemohon"
    minutes = received[0]["details"]["paused_minutes"]
    moved = datetime.fromisoformat(resumed["deadline_at"]) - datetime.fromisoformat(
        paused["deadline_at"]
    )
    assert abs(moved - timedelta(minutes=minutes)) < timedelta(seconds=1)  # exactly the pause

    submission = await journey.http.get(
        journey.url("intake", f"/submissions/{journey.case_id}"), headers=journey.officer
    )
    parts = submission.json()["parts"]
    assert parts[-1]["text"] == "Berikut foto papan nama usaha saya."
    assert parts[-1]["attachments"][0]["filename"] == "papan.png"

    worklist = await journey.http.get(
        journey.url("reporting", "/worklist"),
        params={"role": "tim_pengaduan"},
        headers=journey.officer,
    )
    mine = [item for item in worklist.json() if item["tracking_code"] == journey.code]
    assert mine[0]["replied_at"] is not None  # the officers see that the complainant wrote

    await journey.act("identification/resolve", answer=ANSWER)
    view = await journey.own_view(lambda v: v["status"] == "resolved")
    assert view["answer"] == ANSWER  # their own view: as written, a confidential case too
    public = (await journey.track()).json()
    masked = ANSWER.replace("0812-3456-7890", "[telepon]")
    assert public["answer"] == (None if privacy == "confidential" else masked)
    disputed = await journey.http.post(
        journey.url("intake", f"/own/{journey.code}/resolution"),
        json={"solved": False},
        headers=journey.own,
    )
    assert disputed.status_code == 201, disputed.text
    reopened = await journey.until_status("in_progress")
    assert reopened["timeline"][-1]["event"] == "CaseReopened"
    assert reopened["current_step"] == "identification"  # where the SOP sends it back

    for command, body in REWALK:
        await journey.act(command, **body)
    view = await journey.own_view(lambda v: v["status"] == "resolved")
    assert "CaseReopened" in {item["event"] for item in view["history"]}

    async def offered() -> bool:  # intake hears of the closure from workflow
        return bool((await journey.survey_state())["open"])

    assert await eventually(offered, within=15)
    solved = await journey.http.post(
        journey.url("intake", f"/own/{journey.code}/resolution"),
        json={"solved": True},
        headers=journey.own,
    )
    assert solved.status_code == 201, solved.text
    rated = await journey.http.post(
        journey.url("intake", "/surveys"),
        json={"tracking_code": journey.code, "scores": [4] * 9, "profile": {"sex": "female"}},
        headers=journey.own,
    )
    assert rated.status_code == 201, rated.text
    assert (await journey.survey_state())["reason"] == "surveyed"


@pytest.fixture
async def opened_case(journey: Journey) -> Journey:
    await journey.submit()
    await journey.opened()
    return journey


async def test_a_reply_carries_a_photo_over_the_body_limit_of_plain_requests(
    opened_case: Journey,
) -> None:
    journey = opened_case
    photo = PNG + bytes(300 * 1024)  # a phone's photo: over the 256 KiB of a plain request
    assert len(photo) > journey.system.settings.max_body_bytes
    replied = await journey.http.post(
        journey.url("intake", f"/own/{journey.code}/replies"),
        data={"text": "Berikut foto papan nama usaha saya."},
        files=[("files", ("papan.png", photo, "image/png"))],
        headers=journey.own,
    )
    assert replied.status_code == 201, replied.text


async def test_replies_sent_at_once_are_each_kept(opened_case: Journey) -> None:
    """A phone that sends its reply again and again while the network hangs: every request is
    answered 201 and kept, none a 500 (they once raced each other's save, five tries each)."""
    journey = opened_case

    async def reply(n: int) -> int:
        answer = await journey.http.post(
            journey.url("intake", f"/own/{journey.code}/replies"),
            data={"text": f"Tambahan keterangan nomor {n}."},
            files=[("files", (f"foto-{n}.png", PNG, "image/png"))],
            headers=journey.own,
        )
        return answer.status_code

    statuses = await asyncio.gather(*(reply(n) for n in range(20)))
    assert statuses == [201] * 20
    conn = await asyncpg.connect(journey.system.settings.postgres_dsn())
    try:
        parts = await conn.fetchval(
            "SELECT count(*) FROM intake.submissions_events WHERE originator_version > 1"
        )
    finally:
        await conn.close()
    assert parts == 20


async def test_a_reply_with_an_empty_file_is_refused_saying_so(opened_case: Journey) -> None:
    journey = opened_case
    answer = await journey.http.post(
        journey.url("intake", f"/own/{journey.code}/replies"),
        data={"text": "Berikut berkas yang diminta."},
        files=[("files", ("surat.txt", b"", "text/plain"))],
        headers=journey.own,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == "/problems/attachment-empty"
    assert "kosong" in answer.json()["detail"]


async def test_a_stranger_with_the_code_alone_sees_the_status_and_nothing_else(
    opened_case: Journey,
) -> None:
    journey = opened_case
    await journey.act("information-request", reason="Foto belum ada.", message=ASKED)
    await journey.own_view(lambda v: v["request"] == ASKED)
    public = (await journey.track()).json()
    assert public["own"] is None
    assert public["history"] is None
    assert public["request"] is None
    wrong = {SECRET_HEADER: "AAAA-AAAA-AAAA"}
    assert (await journey.track(wrong)).status_code == 403
    reply = await journey.http.post(
        journey.url("intake", f"/own/{journey.code}/replies"), data={"text": "Saya orang lain."}
    )
    assert reply.status_code == 403
    assert reply.headers["content-type"].startswith("application/problem+json")
    survey = await journey.http.get(journey.url("intake", f"/surveys/{journey.code}"))
    assert survey.status_code == 403


async def test_guessing_the_secret_is_stopped_per_code_and_counted(opened_case: Journey) -> None:
    journey = opened_case
    for attempt in range(PER_CODE):
        guess = {SECRET_HEADER: f"AAAA-AAAA-AA{attempt:02d}"}
        assert (await journey.track(guess)).status_code == 403
    stopped = await journey.track({SECRET_HEADER: "AAAA-AAAA-AAZZ"})  # the rest of the window
    assert stopped.status_code == 429
    assert stopped.json()["type"] == "/problems/receipt-secret-limited"
    assert int(stopped.headers["Retry-After"]) > 0
    assert (await journey.track(journey.own)).status_code == 200  # the owner is never locked out
    metrics = (await journey.http.get(f"{journey.system.url('reporting')}/metrics")).text
    assert (
        'aduan_receipt_secret_refusals_total{outcome="wrong",service="reporting"} 10.0' in metrics
    )


async def test_walking_tracking_codes_is_stopped_per_address(opened_case: Journey) -> None:
    """Codes looked up without their secret and not found count against the address, on public
    tracking and on Open311 alike (fifty codes in one list count fifty); past the limit its
    lookups are 429, while the owner's own view still opens."""
    journey = opened_case
    open311 = f"{journey.system.url('reporting')}/open311/v2"
    unknown = [new_code() for _ in range(PER_ADDRESS_MISSES)]
    listed = ",".join(unknown[:50])
    found = await journey.http.get(
        f"{open311}/requests.json", params={"service_request_id": listed}
    )
    assert found.status_code == 200, found.text
    assert found.json() == []
    for code in unknown[50:-1]:
        missing = await journey.http.get(journey.url("reporting", f"/track/{code}"))
        assert missing.status_code == 404, missing.text
    assert (await journey.track()).status_code == 200  # a known code is no miss
    last = await journey.http.get(f"{open311}/requests/{unknown[-1]}.json")
    assert last.status_code == 404
    stopped = await journey.track()
    assert stopped.status_code == 429, stopped.text
    assert stopped.json()["type"] == "/problems/tracking-lookups-limited"
    assert int(stopped.headers["Retry-After"]) > 0
    in_open311 = await journey.http.get(f"{open311}/requests/{journey.code}.json")
    assert in_open311.status_code == 429
    assert in_open311.json()[0]["code"] == 429
    assert (await journey.track(journey.own)).status_code == 200  # the owner is never locked out


async def test_the_complainant_reads_the_office_as_written_on_their_own_mail(
    settings: Settings, tmp_path: Path
) -> None:
    with smtp_sink() as smtp:
        configured = with_free_ports(settings).model_copy(
            update={
                "office_hours": ALWAYS_OPEN,
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "smtp_security": "none",
                "mail_from": "pengaduan@dpmptsp-gresik.example.go.id",
                "delivery_poll_seconds": 0.2,
            }
        )
        async with running(configured, tmp_path) as system, httpx.AsyncClient(timeout=10) as http:
            issuer = await Issuer.load(configured)
            token = issuer.mint(subject="tim-1", name="Rina", roles=[Role.TIM_PENGADUAN])
            journey = Journey(system, http, token)
            form = {
                "text": "Izin usaha saya belum terbit setelah tiga minggu.",
                "contact": {"name": "Siti Aminah", "email": "siti.aminah@example.id"},
                "consent": True,
            }
            receipt = await http.post(journey.url("intake", "/complaints"), json=form)
            assert receipt.status_code == 201, receipt.text
            journey.code = receipt.json()["tracking_code"]
            await journey.opened()

            async def mails(count: int) -> list[Any]:
                async def arrived() -> list[Any]:
                    return list(smtp.messages) if len(smtp.messages) >= count else []

                return await eventually(arrived, within=15)

            await journey.act("information-request", reason="Foto belum ada.", message=ASKED)
            request = (await mails(2))[1].get_content()
            assert ASKED in request  # their own mail: as written

            await journey.act("information-received", summary="Foto diterima lewat loket.")
            await journey.act("identification/resolve", answer=ANSWER)
            closure = (await mails(3))[2].get_content()
            assert ANSWER in closure

            async def masked_publicly() -> dict[str, Any] | None:
                public = (await journey.track()).json()
                return public if public["status"] == "resolved" else None

            public = await eventually(masked_publicly, within=15)
            assert public is not None
            assert public["answer"] == ANSWER.replace("0812-3456-7890", "[telepon]")

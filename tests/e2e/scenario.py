"""A scripted year of an office: submissions over 2025–2026 across channels, walked through SOP
paths with the real workflow API. What the script did is also counted here, independently."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx

from services.intake.draft import Contact, Draft, to_pending
from services.intake.store import open_submissions
from services.intake.writer import Writer
from services.workflow.issuer import Issuer
from shared.channels import Channel
from shared.settings import Settings
from shared.sop import Kind, Role
from tests.bodies import as_sent

WIB = ZoneInfo("Asia/Jakarta")
TIM, KABID, KADIS, OSS = Role.TIM_PENGADUAN, Role.KABID, Role.KEPALA_DINAS, Role.PETUGAS_OSS
BAP = {  # dated the day it is sent (tests/bodies.py)
    "place": "Kantor DPMPTSP",
    "parties_present": ["Tim Pengaduan", "Pemohon"],
    "findings": "Berkas tertahan.",
    "conclusion": "Diproses ulang.",
}
Walk = list[tuple[str, Role, dict[str, Any]]]
FULL: Walk = [
    ("identification/escalate", TIM, {"note": "Naik."}),
    ("verification", KABID, {"note": "Lengkap."}),
    ("disposition", KADIS, {"instruction": "Tinjau."}),
    ("investigation", TIM, {"summary": "Ditinjau.", "related_agencies": ["Dinas PU"]}),
    ("bap", TIM, BAP),
    ("follow-up", TIM, {"action": "Diproses.", "answer": "Izin terbit.", "archive_ref": "A/1"}),
]
PATHS: dict[tuple[Kind, str], tuple[Walk, str]] = {  # walk, final status
    (Kind.COMPLAINT, "full"): (FULL, "resolved"),
    (Kind.COMPLAINT, "direct"): (
        [("identification/resolve", TIM, {"answer": "Selesai."})],
        "resolved",
    ),
    (Kind.COMPLAINT, "rejected"): (
        [("reject", TIM, {"reason": "Bukan kewenangan.", "referred_to": "BPN Gresik"})],
        "rejected",
    ),
    (Kind.COMPLAINT, "waiting"): (
        [("information-request", TIM, {"reason": "Nomor berkas?"})],
        "waiting_info",
    ),
    (Kind.COMPLAINT, "open"): ([], "in_progress"),
    (Kind.CONSULTATION, "direct"): (
        [
            ("reception", OSS, {"note": "Diterima."}),
            ("identification/resolve", OSS, {"answer": "Gunakan menu NIB."}),
        ],
        "resolved",
    ),
    (Kind.CONSULTATION, "bkpm"): (
        [
            ("reception", OSS, {"note": "Diterima."}),
            ("bkpm/escalate", OSS, {"note": "Ke BKPM."}),
            ("bkpm/answer", OSS, {"reference": "BKPM-77", "answer": "Akses dipulihkan."}),
            ("facilitation", OSS, {"summary": "Dibantu.", "answer": "Silakan masuk."}),
        ],
        "resolved",
    ),
}
CHANNELS = [
    Channel.WEB,
    Channel.LETTER,
    Channel.PHONE,
    Channel.EMAIL,
    Channel.WHATSAPP,
    Channel.COUNTER,
]


@dataclass(frozen=True)
class Scripted:
    """One case of the script."""

    received_at: datetime
    channel: Channel
    kind: Kind
    path: str

    @property
    def walk(self) -> Walk:
        """The commands this case goes through."""
        return PATHS[(self.kind, self.path)][0]

    @property
    def status(self) -> str:
        """Where the case ends."""
        return PATHS[(self.kind, self.path)][1]

    def timeliness(self, recent: bool) -> str:
        """Closed long after receipt: late; closed the day it came: on time; else open."""
        if self.status in ("in_progress", "waiting_info"):
            return "open"
        return "on_time" if recent else "late"


def script(count: int, recent: int, seed: int = 7) -> list[Scripted]:
    """`count` cases over 2025–2026 at 10:00 office time, and `recent` received right now."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        month = rng.randrange(0, 22)  # January 2025 to October 2026
        day = datetime(2025 + month // 12, month % 12 + 1, rng.randrange(1, 28), 10, tzinfo=WIB)
        kind = rng.choice([Kind.COMPLAINT, Kind.COMPLAINT, Kind.CONSULTATION])
        path = rng.choice([p for k, p in PATHS if k == kind])
        cases.append(Scripted(day, rng.choice(CHANNELS), kind, path))
    now = datetime.now(UTC)
    for number in range(recent):
        cases.append(Scripted(now, CHANNELS[number % len(CHANNELS)], Kind.COMPLAINT, "direct"))
    return cases


def is_recent(case: Scripted) -> bool:
    """Received during this test run."""
    return case.received_at > datetime.now(UTC) - timedelta(hours=1)


def store(settings: Settings, cases: list[Scripted]) -> list[UUID]:
    """Commit the submissions to intake's event store; its relay publishes them."""
    submissions = open_submissions(settings)
    try:
        drafts = [
            Draft(
                kind=case.kind,
                channel=case.channel,
                text="Pengaduan dalam skenario rekap tahunan.",
                received_at=case.received_at,
                agency=settings.agency,
                contact=Contact(name="Warga Skenario"),
            )
            for case in cases
        ]
        outcomes = Writer(submissions).commit([to_pending(draft) for draft in drafts])
    finally:
        submissions.close()
    return [outcome.row.case_id for outcome in outcomes]


BUSY_RETRIES = 10
"""Every case is walked at once: on a slow machine a save may pass its deadline, and the 503
says it was not processed and when to try again; an office's client does so."""


async def walk(
    settings: Settings, workflow_url: str, case_ids: list[UUID], cases: list[Scripted]
) -> None:
    """Drive each case along its path through the workflow API, as its officers would."""
    issuer = await Issuer.load(settings)
    headers = {
        role: {
            "Authorization": "Bearer "
            + issuer.mint(subject=f"{role.value}-1", name="x", roles=[role])
        }
        for role in (TIM, KABID, KADIS, OSS)
    }
    async with httpx.AsyncClient(base_url=f"{workflow_url}/workflow/v1/cases", timeout=30) as http:

        async def one(case_id: UUID, case: Scripted) -> None:
            version = await opened_version(http, case_id, headers[TIM])
            for path, role, body in case.walk:
                payload = {"version": version, **as_sent(path, body)}
                answer = await http.post(f"/{case_id}/{path}", json=payload, headers=headers[role])
                for _ in range(BUSY_RETRIES):  # not processed: sent again after Retry-After
                    if answer.status_code != 503:
                        break
                    await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
                    answer = await http.post(
                        f"/{case_id}/{path}", json=payload, headers=headers[role]
                    )
                assert answer.status_code == 200, answer.text
                version = answer.json()["version"]

        await asyncio.gather(*(one(cid, case) for cid, case in zip(case_ids, cases, strict=True)))


async def opened_version(http: httpx.AsyncClient, case_id: UUID, headers: dict[str, str]) -> int:
    """Wait until workflow opened the case; its version."""
    for _ in range(300):
        answer = await http.get(f"/{case_id}", headers=headers)
        if answer.status_code == 200:
            version: int = answer.json()["version"]
            return version
        await asyncio.sleep(0.05)
    raise AssertionError(f"case {case_id} was never opened")


def expected_rekap(cases: list[Scripted]) -> Counter[tuple[Any, ...]]:
    """Counts by (year, month, channel, kind, status, timeliness), from the script alone."""
    counts: Counter[tuple[Any, ...]] = Counter()
    for case in cases:
        local = case.received_at.astimezone(WIB)
        key = (local.year, local.month, case.channel.value, case.kind.value, case.status)
        counts[(*key, case.timeliness(is_recent(case)))] += 1
    return counts


def expected_steps(cases: list[Scripted]) -> dict[str, tuple[int, int]]:
    """Complaint steps done in this run: (how many, how many within the standard).

    A case received long ago spent months at identification (never within 30 minutes);
    every later step, and identification of a case received now, took seconds."""
    done: dict[str, list[int]] = {}
    for case in cases:
        if case.kind is not Kind.COMPLAINT:
            continue
        steps = [c[0] for c in case.walk if c[0] not in ("information-request", "reject")]
        for number, command in enumerate(steps):
            step = STEP_OF[command]
            within = number > 0 or is_recent(case)
            counts = done.setdefault(step, [0, 0])
            counts[0] += 1
            counts[1] += int(within)
    return {step: (n, w) for step, (n, w) in done.items()}


STEP_OF = {
    "identification/escalate": "identification",
    "identification/resolve": "identification",
    "verification": "verification",
    "disposition": "disposition",
    "investigation": "investigation",
    "bap": "investigation_report",
    "follow-up": "follow_up",
}

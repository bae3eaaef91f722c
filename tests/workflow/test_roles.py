"""The role × command matrix, exhaustively: only the SOP's actor (and its allowed routes) acts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from shared.sop import Kind, Role
from tests.workflow.conftest import Desk
from tests.workflow.test_paths import BAP

TIM, KABID, SEK, KADIS, OSS = (
    Role.TIM_PENGADUAN,
    Role.KABID,
    Role.SEKRETARIS,
    Role.KEPALA_DINAS,
    Role.PETUGAS_OSS,
)
OFFICERS = {Role.PETUGAS, TIM, KABID, SEK, KADIS, OSS, Role.ADMIN, Role.KOORDINATOR}

Step = tuple[str, Role, dict[str, Any]]
TO_VERIFICATION: list[Step] = [("identification/escalate", TIM, {"note": "Teruskan."})]
TO_DISPOSITION = [*TO_VERIFICATION, ("verification", KABID, {"note": "Lengkap."})]
TO_INVESTIGATION = [
    *TO_DISPOSITION,
    ("disposition", KADIS, {"instruction": "Tinjau."}),
]
TO_REPORT = [*TO_INVESTIGATION, ("investigation", TIM, {"summary": "Selesai ditinjau."})]
TO_FOLLOW_UP = [*TO_REPORT, ("bap", TIM, BAP)]
OSS_IDENTIFICATION: list[Step] = [("reception", OSS, {"note": "Diterima."})]
OSS_BKPM = [*OSS_IDENTIFICATION, ("bkpm/escalate", OSS, {"note": "Ke BKPM."})]
OSS_FACILITATION = [*OSS_BKPM, ("bkpm/answer", OSS, {"reference": "B-1", "answer": "Jawab."})]

# (command, kind, how to get there, its body, who may) — read off the brief, not the code.
MATRIX: list[tuple[str, Kind, list[Step], dict[str, Any], set[Role]]] = [
    ("identification/resolve", Kind.COMPLAINT, [], {"answer": "Selesai."}, {TIM}),
    ("identification/escalate", Kind.COMPLAINT, [], {"note": "Naik."}, {TIM}),
    ("verification", Kind.COMPLAINT, TO_VERIFICATION, {"note": "Ok."}, {KABID, SEK}),
    ("disposition", Kind.COMPLAINT, TO_DISPOSITION, {"instruction": "Tinjau."}, {KADIS}),
    ("investigation", Kind.COMPLAINT, TO_INVESTIGATION, {"summary": "Ditinjau."}, {TIM}),
    ("bap", Kind.COMPLAINT, TO_REPORT, BAP, {TIM}),
    (
        "follow-up",
        Kind.COMPLAINT,
        TO_FOLLOW_UP,
        {"action": "Diproses.", "answer": "Terbit.", "archive_ref": "A/1"},
        {TIM},
    ),
    ("information-request", Kind.COMPLAINT, TO_DISPOSITION, {"reason": "Data?"}, {KADIS}),
    (
        "information-received",
        Kind.COMPLAINT,
        [("information-request", TIM, {"reason": "Data?"})],
        {"summary": "Ini datanya."},
        {TIM},
    ),
    ("reject", Kind.COMPLAINT, [], {"reason": "Bukan kewenangan.", "referred_to": "BPN"}, {TIM}),
    ("reopen", Kind.COMPLAINT, [("identification/resolve", TIM, {"answer": "Ok."})], {}, {TIM}),
    # the coordinator reads an agency's case and moves it, but writes nothing into it
    ("notes", Kind.COMPLAINT, TO_DISPOSITION, {"text": "Catatan."}, OFFICERS - {Role.KOORDINATOR}),
    ("reception", Kind.CONSULTATION, [], {"note": "Diterima."}, {OSS}),
    ("identification/resolve", Kind.CONSULTATION, OSS_IDENTIFICATION, {"answer": "Ok."}, {OSS}),
    ("bkpm/escalate", Kind.CONSULTATION, OSS_IDENTIFICATION, {"note": "Ke BKPM."}, {OSS}),
    ("bkpm/answer", Kind.CONSULTATION, OSS_BKPM, {"reference": "B-2", "answer": "Ok."}, {OSS}),
    (
        "facilitation",
        Kind.CONSULTATION,
        OSS_FACILITATION,
        {"summary": "Dibantu.", "answer": "Ok."},
        {OSS},
    ),
    ("merge", Kind.COMPLAINT, [], {}, {TIM}),
    ("decline", Kind.COMPLAINT, TO_DISPOSITION, {"reason": "Bukan wewenang."}, {KADIS}),
]


async def prepared(desk: Desk, kind: Kind, steps: list[Step]) -> UUID:
    case = await desk.open(kind)
    for path, role, body in steps:
        await desk.step(case, path, role, **body)
    return case


def body_for(command: str, body: dict[str, Any], primary: UUID) -> dict[str, Any]:
    if command == "reopen":
        return {"reason": "Pemohon menyanggah."}
    if command == "merge":
        return {"primary_case_id": str(primary)}
    return body


@pytest.mark.parametrize(
    ("command", "kind", "steps", "body", "allowed"),
    MATRIX,
    ids=[f"{kind.value}:{command}" for command, kind, *_ in MATRIX],
)
async def test_only_the_sops_actor_may_take_the_command(
    desk: Desk,
    command: str,
    kind: Kind,
    steps: list[Step],
    body: dict[str, Any],
    allowed: set[Role],
) -> None:
    primary = await desk.open(kind)
    payload = body_for(command, body, primary)
    case = await prepared(desk, kind, steps)
    before = await desk.view(case)
    for role in set(Role) - allowed:
        answer = await desk.act(case, command, role, version=before["version"], **payload)
        assert answer.status_code == 403, (role, answer.text)
        assert answer.json()["type"] == "/problems/forbidden"
    assert (await desk.view(case))["version"] == before["version"]
    for role in allowed:
        fresh = await prepared(desk, kind, steps)
        offered = (await desk.view(fresh, role))["allowed_actions"]
        assert command in offered, (role, offered)
        answer = await desk.act(fresh, command, role, **payload)
        assert answer.status_code == 200, (role, answer.text)
    for role in set(Role) - allowed - {Role.PEMOHON, Role.ANALIS}:
        assert command not in (await desk.view(case, role))["allowed_actions"], role


async def test_the_public_and_analysts_cannot_open_a_case(desk: Desk) -> None:
    case = await desk.open()
    for role in (Role.PEMOHON, Role.ANALIS):
        answer = await desk.http.get(f"/workflow/v1/cases/{case}", headers=desk.headers(role))
        assert answer.status_code == 403


async def test_no_token_or_a_forged_one_is_a_401(desk: Desk) -> None:
    case = await desk.open()
    url = f"/workflow/v1/cases/{case}/identification/resolve"
    body = {"version": 1, "answer": "x"}
    assert (await desk.http.post(url, json=body)).status_code == 401
    token = desk.headers(TIM)["Authorization"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    answer = await desk.http.post(url, json=body, headers={"Authorization": forged})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"

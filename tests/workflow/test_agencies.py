"""A province's workflow: agencies as data, officers in several agencies, the provincial
coordinator who moves cases between them. Through the API, on the real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest

from services.workflow.app import create_app
from services.workflow.case import Case
from services.workflow.inbound import consumer
from shared.agencies import Agency
from shared.settings import Settings
from shared.sop import MOVES, PROVINCE, Kind, Role
from shared.tracking_code import new_code
from tests.conftest import serving
from tests.samples import complaint_received
from tests.workflow.conftest import Desk

A, B = "dinas-a", "dinas-b"
REASON = {"reason": "Kewenangan instansi lain."}
# Dinas B opens six days a week, 07:00-13:00: its deadlines fall elsewhere than the home office's.
B_HOURS = {str(day): ["07:00:00", "13:00:00"] for day in range(6)}


def bearer(
    desk: Desk,
    agency: str,
    *roles: Role,
    officer: str = "",
    memberships: dict[str, list[Role]] | None = None,
) -> dict[str, str]:
    """A token acting in `agency` with `roles` there, and other memberships."""
    subject = officer or f"{agency}-{roles[0].value}"
    held = {**(memberships or {}), agency: list(roles)}
    token = desk.issuer.mint(
        subject=subject, name=subject, roles=list(roles), agency=agency, memberships=held
    )
    return {"Authorization": f"Bearer {token}"}


def province_admin(desk: Desk) -> dict[str, str]:
    return bearer(desk, PROVINCE, Role.ADMIN, officer="admin-provinsi")


def coordinator(desk: Desk) -> dict[str, str]:
    return bearer(desk, PROVINCE, Role.KOORDINATOR, officer="pengelola-induk")


async def register(desk: Desk, agency: str, **fields: Any) -> None:
    body = {"id": agency, "name": f"Dinas {agency[-1].upper()}", **fields}
    answer = await desk.http.put(
        f"/workflow/v1/agencies/{agency}", json=body, headers=province_admin(desk)
    )
    assert answer.status_code == 200, answer.text


async def open_in(desk: Desk, agency: str) -> UUID:
    """A case of this agency, as workflow opens it from intake's event."""
    calendar = await asyncio.to_thread(desk.cases.calendar, agency)
    case = Case.open(
        case_id=uuid4(),
        agency=agency,
        kind=Kind.COMPLAINT,
        tracking_code=new_code(),
        channel="web",
        category=None,
        received_at=datetime.now(UTC),
        anonymous=False,
        confidential=False,
        complainant_ref=None,
        calendar=calendar,
    )
    await asyncio.to_thread(desk.cases.open, [lambda: case])
    return case.id


async def get(desk: Desk, case_id: UUID, headers: dict[str, str]) -> Any:
    return await desk.http.get(f"/workflow/v1/cases/{case_id}", headers=headers)


async def post(desk: Desk, case_id: UUID, path: str, headers: dict[str, str], **body: Any) -> Any:
    if path != "notes":
        seen = await get(desk, case_id, coordinator(desk))
        body = {"version": seen.json()["version"], **body}
    return await desk.http.post(f"/workflow/v1/cases/{case_id}/{path}", json=body, headers=headers)


@pytest.fixture
async def province(desk: Desk) -> Desk:
    """The home office with two more agencies registered; B with its own office hours."""
    await register(desk, A)
    await register(desk, B, hours=B_HOURS)
    return desk


async def test_an_officer_of_one_agency_neither_sees_nor_acts_on_anothers_case(
    province: Desk,
) -> None:
    desk = province
    case_b = await open_in(desk, B)
    team_a, team_b = bearer(desk, A, Role.TIM_PENGADUAN), bearer(desk, B, Role.TIM_PENGADUAN)
    unseen = await get(desk, case_b, team_a)
    assert unseen.status_code == 404, unseen.text  # as if there were none, not 403
    assert unseen.json()["type"] == "/problems/unknown-case"
    for path, body in [("identification/escalate", {"note": "Naik."}), ("notes", {"text": "x"})]:
        refused = await post(desk, case_b, path, team_a, **body)
        assert refused.status_code == 404, (path, refused.text)
    attached = await desk.http.post(
        f"/workflow/v1/cases/{case_b}/attachments",
        files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        headers=team_a,
    )
    assert attached.status_code == 404, attached.text
    seen = await get(desk, case_b, team_b)
    assert seen.status_code == 200, seen.text
    assert seen.json()["agency"] == B
    assert [entry["event"] for entry in seen.json()["timeline"]] == ["CaseOpened"]  # untouched


async def test_an_officer_in_two_agencies_acts_in_each_with_the_roles_held_there(
    province: Desk,
) -> None:
    desk = province
    case_a, case_b = await open_in(desk, A), await open_in(desk, B)
    both = bearer(desk, A, Role.TIM_PENGADUAN, officer="rina", memberships={B: [Role.KABID]})
    # In A the complaint team's step is theirs; in B they are a division head, not the team.
    assert "identification/escalate" in (await get(desk, case_a, both)).json()["allowed_actions"]
    assert (
        "identification/escalate" not in (await get(desk, case_b, both)).json()["allowed_actions"]
    )
    refused = await post(desk, case_b, "identification/escalate", both, note="Naik.")
    assert refused.status_code == 403, refused.text
    escalated = await post(desk, case_a, "identification/escalate", both, note="Naik.")
    assert escalated.status_code == 200, escalated.text
    team_b = bearer(desk, B, Role.TIM_PENGADUAN)
    assert (await post(desk, case_b, "identification/escalate", team_b, note="Naik.")).is_success
    verified = await post(desk, case_b, "verification", both, note="Lengkap.")
    assert verified.status_code == 200, verified.text
    entry = verified.json()["timeline"][-1]
    assert (entry["event"], entry["by"], entry["role"]) == ("ComplaintVerified", "rina", "kabid")
    # ... and never as a division head in A, where they hold no such role.
    assert (await post(desk, case_a, "verification", both, note="Lengkap.")).status_code == 403


async def test_the_coordinator_transfers_a_case_and_it_changes_hands(province: Desk) -> None:
    desk = province
    case_id = await open_in(desk, A)
    opened = (await get(desk, case_id, coordinator(desk))).json()
    team_a, team_b = bearer(desk, A, Role.TIM_PENGADUAN), bearer(desk, B, Role.TIM_PENGADUAN)
    assert (await post(desk, case_id, "notes", team_a, text="Dicek dulu.")).is_success
    # Only the coordinator forwards, and only to an agency the province has registered.
    assert (await post(desk, case_id, "transfer", team_a, to=B, **REASON)).status_code == 403
    unknown = await post(desk, case_id, "transfer", coordinator(desk), to="dinas-z", **REASON)
    assert unknown.status_code == 422, unknown.text
    assert unknown.headers["content-type"].startswith("application/problem+json")
    same = await post(desk, case_id, "transfer", coordinator(desk), to=A, **REASON)
    assert same.status_code == 409, same.text

    moved = await post(desk, case_id, "transfer", coordinator(desk), to=B, **REASON)
    assert moved.status_code == 200, moved.text
    view = moved.json()
    assert (view["case_id"], view["tracking_code"]) == (opened["case_id"], opened["tracking_code"])
    assert (view["agency"], view["current_step"]) == (B, "identification")
    entry = view["timeline"][-1]
    assert entry["event"] == "CaseTransferred"
    assert entry["role"] == "koordinator"
    assert entry["details"]["from_agency"] == A
    assert entry["details"]["to_agency"] == B
    assert entry["details"]["reason"] == REASON["reason"]
    # The rule: a transfer by the coordinator restarts the deadline, on B's calendar.
    assert MOVES["transfer"].restarts_deadline
    assert entry["details"]["deadline_restarted"]
    at = datetime.fromisoformat(entry["at"])
    calendar = await asyncio.to_thread(desk.cases.calendar, B)
    expected = calendar.add_working_days(at, 14)
    assert datetime.fromisoformat(view["deadline_at"]) == expected
    home = await asyncio.to_thread(desk.cases.calendar)
    assert home.add_working_days(at, 14) != expected  # B's own hours, not the home office's

    assert (await get(desk, case_id, team_a)).status_code == 404
    seen_by_b = await get(desk, case_id, team_b)
    assert seen_by_b.status_code == 200
    assert "identification/escalate" in seen_by_b.json()["allowed_actions"]
    events = [entry["event"] for entry in seen_by_b.json()["timeline"]]
    assert events == ["CaseOpened", "NoteAdded", "CaseTransferred"]  # the history moved along
    assert (await post(desk, case_id, "notes", team_a, text="Masih?")).status_code == 404
    assert (await post(desk, case_id, "identification/escalate", team_b, note="Ok.")).is_success
    # Every event after the move belongs to B (the envelope's agency is the event's).
    history = await asyncio.to_thread(desk.cases.history, case_id)
    assert [vars(event)["agency"] for event in history] == [A, A, B, B]


async def test_bukan_wewenang_sends_the_case_back_to_the_coordinator(province: Desk) -> None:
    desk = province
    case_id = await open_in(desk, A)
    team_a, kadis_a = bearer(desk, A, Role.TIM_PENGADUAN), bearer(desk, A, Role.KEPALA_DINAS)
    before = (await get(desk, case_id, team_a)).json()
    assert "decline" in before["allowed_actions"]
    declined = await post(desk, case_id, "decline", team_a, reason="Bukan wewenang kami.")
    assert declined.status_code == 200, declined.text
    entry = declined.json()["timeline"][-1]
    assert entry["event"] == "CaseDeclined"
    assert (entry["details"]["from_agency"], entry["details"]["to_agency"]) == (A, PROVINCE)
    # The rule: "bukan wewenang" keeps the complainant's deadline running.
    assert not MOVES["decline"].restarts_deadline
    assert declined.json()["deadline_at"] == before["deadline_at"]
    assert (await get(desk, case_id, team_a)).status_code == 404
    assert (await get(desk, case_id, kadis_a)).status_code == 404
    queued = await get(desk, case_id, coordinator(desk))
    assert queued.json()["agency"] == PROVINCE
    assert queued.json()["allowed_actions"] == ["transfer", "notes", "attachments"]
    moved = await post(desk, case_id, "transfer", coordinator(desk), to=B, **REASON)
    assert moved.status_code == 200, moved.text
    assert (await get(desk, case_id, bearer(desk, B, Role.TIM_PENGADUAN))).status_code == 200


async def test_the_coordinator_reads_an_agencys_case_but_writes_nothing_into_it(
    province: Desk,
) -> None:
    """The coordinator sees and moves every agency's cases; notes and files are the
    agency's own (the coordinator writes only into the cases in the province's queue)."""
    desk = province
    case_id = await open_in(desk, B)
    seen = await get(desk, case_id, coordinator(desk))
    assert seen.status_code == 200, seen.text
    assert seen.json()["allowed_actions"] == ["transfer"]
    noted = await post(desk, case_id, "notes", coordinator(desk), text="Catatan provinsi.")
    assert noted.status_code == 403, noted.text
    attached = await desk.http.post(
        f"/workflow/v1/cases/{case_id}/attachments",
        files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        headers=coordinator(desk),
    )
    assert attached.status_code == 403, attached.text
    assert [
        e["event"] for e in (await get(desk, case_id, coordinator(desk))).json()["timeline"]
    ] == ["CaseOpened"]
    team_b = bearer(desk, B, Role.TIM_PENGADUAN)
    assert (await post(desk, case_id, "notes", team_b, text="Catatan dinas.")).is_success


async def test_bukan_wewenang_only_early_in_the_sop(province: Desk) -> None:
    desk = province
    case_id = await open_in(desk, A)
    team_a = bearer(desk, A, Role.TIM_PENGADUAN)
    for path, headers, body in [
        ("identification/escalate", team_a, {"note": "Naik."}),
        ("verification", bearer(desk, A, Role.KABID), {"note": "Ok."}),
        ("disposition", bearer(desk, A, Role.KEPALA_DINAS), {"instruction": "Tinjau."}),
    ]:
        assert (await post(desk, case_id, path, headers, **body)).is_success
    late = await post(desk, case_id, "decline", team_a, reason="Bukan wewenang.")
    assert late.status_code == 409, late.text  # investigating: too late to say "not ours"
    assert (await get(desk, case_id, team_a)).json()["agency"] == A


async def test_the_provincial_administrator_manages_the_agencies(desk: Desk) -> None:
    body = {"id": A, "name": "Dinas A", "units": ["Bidang Perizinan"]}
    home_admin = bearer(desk, desk.cases.settings.agency, Role.ADMIN)
    forbidden = await desk.http.put(f"/workflow/v1/agencies/{A}", json=body, headers=home_admin)
    assert forbidden.status_code == 403, forbidden.text
    for wrong in [
        {**body, "id": "dinas-x"},
        {**body, "sop_versions": {"complaint": "1999.9"}},
        {**body, "name": ""},
        {**body, "hours": "senin"},
        {**body, "hours": {}},  # no working time: a deadline could never be reckoned (a 500)
    ]:
        refused = await desk.http.put(
            f"/workflow/v1/agencies/{A}", json=wrong, headers=province_admin(desk)
        )
        assert refused.status_code == 422, (wrong, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    saved = await desk.http.put(
        f"/workflow/v1/agencies/{A}", json=body, headers=province_admin(desk)
    )
    assert saved.status_code == 200, saved.text
    listed = await desk.http.get("/workflow/v1/agencies", headers=home_admin)
    assert {agency["id"] for agency in listed.json()} == {desk.cases.settings.agency, A}
    one = await desk.http.get(f"/workflow/v1/agencies/{A}", headers=home_admin)
    assert Agency.model_validate(one.json()).units == ("Bidang Perizinan",)
    missing = await desk.http.get("/workflow/v1/agencies/dinas-z", headers=home_admin)
    assert missing.status_code == 404


async def test_a_token_is_let_in_only_for_an_agency_the_deployment_serves(desk: Desk) -> None:
    case_id = await desk.open()
    stranger = bearer(desk, "dinas-z", Role.TIM_PENGADUAN)
    assert (await get(desk, case_id, stranger)).status_code == 403
    await register(desk, "dinas-z")
    assert (await get(desk, case_id, stranger)).status_code == 404  # known now; not its case
    # A membership of an agency not served is left out, not a reason to refuse the token.
    home = desk.cases.settings.agency
    member = bearer(desk, home, Role.TIM_PENGADUAN, memberships={"dinas-q": [Role.ADMIN]})
    assert (await get(desk, case_id, member)).status_code == 200


async def test_accounts_hold_memberships_and_their_tokens_carry_them(province: Desk) -> None:
    desk = province
    home = desk.cases.settings.agency
    admin = bearer(desk, home, Role.ADMIN, memberships={A: [Role.ADMIN]})
    account = {
        "username": "sari",
        "name": "Sari",
        "roles": ["tim_pengaduan"],
        "password": "kunci-pintu-2026",
        "agency": home,  # an administrator of two agencies names the one it acts in
        "memberships": {A: ["kabid"]},
    }
    made = await desk.http.post("/workflow/v1/accounts", json=account, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["agency"] == home
    assert made.json()["memberships"] == {A: ["kabid"]}
    # Roles only in agencies the administrator administers, and only in agencies served.
    for memberships, status in [({B: ["kabid"]}, 403), ({"dinas-z": ["kabid"]}, 422)]:
        other = {**account, "username": f"x{status}", "memberships": memberships}
        refused = await desk.http.post("/workflow/v1/accounts", json=other, headers=admin)
        assert refused.status_code == status, refused.text
    signed = await desk.http.post(
        "/workflow/v1/auth/sign-in", json={"username": "sari", "password": "kunci-pintu-2026"}
    )
    assert signed.status_code == 200, signed.text
    claims = jwt.decode(signed.json()["token"], options={"verify_signature": False})
    assert claims["agency"] == home
    assert claims["memberships"] == {home: ["tim_pengaduan"], A: ["kabid"]}
    sari = {"Authorization": f"Bearer {signed.json()['token']}"}
    case_id = await open_in(desk, A)
    team_a = bearer(desk, A, Role.TIM_PENGADUAN)
    assert (await post(desk, case_id, "identification/escalate", team_a, note="Naik.")).is_success
    verified = await post(desk, case_id, "verification", sari, note="Lengkap.")
    assert verified.status_code == 200, verified.text  # a division head in A
    assert (await get(desk, await open_in(desk, B), sari)).status_code == 404


async def test_a_submission_to_an_agency_opens_its_case_on_that_agencys_calendar(
    province: Desk,
) -> None:
    desk = province
    received = complaint_received(agency=B)
    await consumer(desk.cases).handle([received])
    case = await asyncio.to_thread(desk.cases.get_case, received.subject)
    assert case.agency == B
    at = received.data.received_at  # type: ignore[attr-defined]
    calendar_b = await asyncio.to_thread(desk.cases.calendar, B)
    home = await asyncio.to_thread(desk.cases.calendar)
    assert case.deadline_at == calendar_b.add_working_days(at, 14)
    assert case.step_due_at == calendar_b.add_working_minutes(at, 30)
    assert home.add_working_days(at, 14) != case.deadline_at
    assert (await get(desk, case.id, bearer(desk, B, Role.TIM_PENGADUAN))).status_code == 200
    assert (await get(desk, case.id, bearer(desk, A, Role.TIM_PENGADUAN))).status_code == 404


async def test_each_agency_keeps_its_own_calendar_corrections(province: Desk) -> None:
    desk = province
    day, body = "2030-06-03", {"name": "Hari jadi Dinas B"}
    home_admin = bearer(desk, desk.cases.settings.agency, Role.ADMIN)
    refused = await desk.http.put(
        f"/workflow/v1/calendar/days/{day}?agency={B}", json=body, headers=home_admin
    )
    assert refused.status_code == 403, refused.text
    set_day = await desk.http.put(
        f"/workflow/v1/calendar/days/{day}?agency={B}",
        json=body,
        headers=bearer(desk, B, Role.ADMIN),
    )
    assert set_day.status_code == 200, set_day.text
    of_b = (await desk.http.get(f"/workflow/v1/calendar?year=2030&agency={B}")).json()
    assert {"day": day, "name": body["name"], "working": False, "source": "admin"} in of_b
    of_home = (await desk.http.get("/workflow/v1/calendar?year=2030")).json()
    assert day not in {entry["day"] for entry in of_home}


async def test_a_calendar_of_an_agency_nobody_registered_is_not_found_and_not_kept(
    province: Desk,
) -> None:
    """The public calendar names a registered agency: a stranger asking for made-up ones gets
    404 each time, and none of them is built or kept (a calendar costs memory and a read)."""
    desk = province
    for number in range(30):
        asked = await desk.http.get(f"/workflow/v1/calendar?year=2030&agency=tidak-ada-{number}")
        assert asked.status_code == 404, asked.text
        assert asked.json()["type"] == "/problems/unknown-agency", asked.text
        assert asked.headers["content-type"] == "application/problem+json"
    assert all(desk.cases.cached_calendar(f"tidak-ada-{n}") is None for n in range(30))
    changed = await desk.http.put(
        "/workflow/v1/calendar/days/2030-06-03?agency=tidak-ada-0",
        json={"name": "Libur"},
        headers=bearer(desk, PROVINCE, Role.ADMIN),  # an administrator of every agency
    )
    assert changed.status_code == 404, changed.text
    assert (await desk.http.get(f"/workflow/v1/calendar?year=2030&agency={B}")).is_success


async def test_a_provincial_administrator_names_the_agency_whose_calendar_changes(
    province: Desk,
) -> None:
    """Without `agency` the province's own calendar was meant, and refused as an agency not
    registered ('*'): the administrator is asked to name one."""
    unnamed = await province.http.put(
        "/workflow/v1/calendar/days/2030-06-03",
        json={"name": "Libur"},
        headers=bearer(province, PROVINCE, Role.ADMIN),
    )
    assert unnamed.status_code == 422, unnamed.text
    assert unnamed.json()["errors"][0]["field"] == "agency"


async def test_an_address_belongs_to_one_agency_only(desk: Desk) -> None:
    """An agency cannot be given another's WhatsApp number or mailbox (in any letter case):
    409, and nothing of it is saved."""
    admin = province_admin(desk)
    first = {"whatsapp_numbers": ["109876543210987"], "mailboxes": ["aduan@dinas-a.go.id"]}
    made = await desk.http.put(
        f"/workflow/v1/agencies/{A}", json={"id": A, "name": "A", "channels": first}, headers=admin
    )
    assert made.status_code == 200, made.text
    for taken in (
        {"whatsapp_numbers": ["109876543210987"]},
        {"mailboxes": ["Aduan@Dinas-A.go.id"]},
    ):
        body = {"id": "dinas-lain", "name": "Lain", "channels": taken}
        answer = await desk.http.put("/workflow/v1/agencies/dinas-lain", json=body, headers=admin)
        assert answer.status_code == 409, answer.text
        assert answer.json()["type"] == "/problems/address-taken"
    missing = await desk.http.get("/workflow/v1/agencies/dinas-lain", headers=admin)
    assert missing.status_code == 404
    again = {"id": A, "name": "A baru", "channels": first}  # its own addresses, kept
    kept = await desk.http.put(f"/workflow/v1/agencies/{A}", json=again, headers=admin)
    assert kept.status_code == 200, kept.text


async def test_an_address_is_compared_as_it_is_looked_up(desk: Desk) -> None:
    """A number or account id written with spaces around it is the same address: 409."""
    admin = province_admin(desk)
    first = {"whatsapp_numbers": ["1065550001"], "instagram_accounts": ["17841400000000009"]}
    made = await desk.http.put(
        f"/workflow/v1/agencies/{A}", json={"id": A, "name": "A", "channels": first}, headers=admin
    )
    assert made.status_code == 200, made.text
    for taken in (
        {"whatsapp_numbers": [" 1065550001"]},
        {"instagram_accounts": ["17841400000000009 "]},
    ):
        body = {"id": B, "name": "B", "channels": taken}
        answer = await desk.http.put(f"/workflow/v1/agencies/{B}", json=body, headers=admin)
        assert answer.status_code == 409, (taken, answer.text)


async def test_an_address_that_is_no_address_of_its_kind_is_refused(desk: Desk) -> None:
    """A WhatsApp phone_number_id and an Instagram account id are digits (they go into the
    Graph API's path); a mailbox is an e-mail address (it goes into a mail's From)."""
    admin = province_admin(desk)
    for wrong in (
        {"whatsapp_numbers": ["1065/../me"]},
        {"whatsapp_numbers": ["+62 31 398001"]},
        {"instagram_accounts": ["Acct9"]},
        {"mailboxes": ["bukan-alamat"]},
        {"mailboxes": ["aduan@dinas-b.go.id\r\nBcc: x@example.id"]},
    ):
        body = {"id": B, "name": "B", "channels": wrong}
        answer = await desk.http.put(f"/workflow/v1/agencies/{B}", json=body, headers=admin)
        assert answer.status_code == 422, (wrong, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    missing = await desk.http.get(f"/workflow/v1/agencies/{B}", headers=admin)
    assert missing.status_code == 404


async def test_the_home_agency_addresses_from_its_settings_are_taken(settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "relay": False,
            "clock": False,
            "whatsapp_phone_number_id": "106540352242922",
            "instagram_account_id": "17841405822304914",
            "mail_from": "pengaduan@dpmptsp.example.go.id",
        }
    )
    app = create_app(configured)
    async with serving(app) as http:
        desk = Desk(http, app.state.cases, app.state.issuer)
        admin = province_admin(desk)
        for taken in (
            {"whatsapp_numbers": ["106540352242922"]},
            {"instagram_accounts": ["17841405822304914"]},
            {"mailboxes": ["Pengaduan@DPMPTSP.example.go.id"]},
        ):
            body = {"id": B, "name": "B", "channels": taken}
            answer = await desk.http.put(f"/workflow/v1/agencies/{B}", json=body, headers=admin)
            assert answer.status_code == 409, (taken, answer.text)
        home = configured.agency
        own = {"id": home, "name": "Induk", "channels": {"whatsapp_numbers": ["106540352242922"]}}
        kept = await desk.http.put(f"/workflow/v1/agencies/{home}", json=own, headers=admin)
        assert kept.status_code == 200, kept.text

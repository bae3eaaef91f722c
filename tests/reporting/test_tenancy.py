"""Agencies apart in the read models: row-level security binds every read made on someone's
behalf, and a case that moves to another agency takes its rows along."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import asyncpg
import jwt
import pytest
from fastapi import Request

from services.reporting import queries
from services.reporting.api import summed, year_table
from services.reporting.app import SCHEMA, create_tables
from services.reporting.read_model import ReadModel
from services.reporting.rebuild import tables
from services.reporting.tenancy import Scope, acting_in, officer_scope, read_as
from services.reporting.working_set import WorkingSet
from shared import agencies
from shared.agencies import Agency, Registry
from shared.auth import Forbidden, Officer
from shared.db import Connection, Pool, connect, create_pool, ensure_schema
from shared.events import Envelope, seal
from shared.events import workflow as wf
from shared.events.intake import SurveySubmitted
from shared.outages import Unavailable
from shared.settings import Settings
from shared.sop import PROVINCE, Role
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.samples import case_opened, complaint_received, workflow_event

RECEIVED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
A, B = "dinas-a", "dinas-b"
ZONE = ZoneInfo("Asia/Jakarta")
GUARDED = (
    "case_summary",
    "rekap",
    "rekap_by_channel",
    "step_times",
    "case_history",
    "surveys",
    "calendar_days",
)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[Pool]:
    await ensure_schema(settings, SCHEMA)
    created = await create_pool(settings, search_path=SCHEMA, max_size=1)  # one connection
    await create_tables(created)
    try:
        yield created
    finally:
        await created.close()


async def apply(pool: Pool, envelopes: list[Envelope]) -> None:
    model = ReadModel("Asia/Jakarta")
    async with pool.acquire() as conn, conn.transaction():
        await model.apply_batch(conn, envelopes)


def escalated(agency: str) -> list[Envelope]:
    """A complaint of an agency past its first step (a row in every case table)."""
    received = complaint_received(received_at=RECEIVED, agency=agency)
    step = workflow_event(
        wf.Escalated,
        received,
        2,
        RECEIVED + timedelta(hours=2),
        step="identification",
        by_role=Role.TIM_PENGADUAN,
        working_minutes=120.0,
        within_standard=True,
        next_step="verification",
    )
    survey = SurveySubmitted(case_id=received.subject, at=RECEIVED, scores=[4] * 9)
    surveyed = seal(survey, subject=received.subject, version=2, time=RECEIVED, agency=agency)
    return [received, case_opened(received), step, surveyed]


async def count(conn: Connection, *, table: str, where: str = "true") -> int:
    return int(await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {where}"))


async def test_a_read_for_one_agency_cannot_see_anothers_rows_even_asking_for_them(
    pool: Pool,
) -> None:
    await apply(pool, escalated(A) + escalated(B))
    async with pool.acquire() as conn:  # the owner (the projection) sees both
        for table in GUARDED[:-1]:
            assert await count(conn, table=table, where=f"agency = '{B}'") > 0, table

    async def asking_for_b(conn: Connection) -> dict[str, tuple[int, int]]:
        return {
            table: (
                await count(conn, table=table, where=f"agency = '{B}'"),
                await count(conn, table=table),
            )
            for table in GUARDED
        }

    seen = await read_as(pool, Scope.of(A), asking_for_b)
    async with pool.acquire() as conn:
        for table in GUARDED:
            assert seen[table] == (0, await count(conn, table=table, where=f"agency = '{A}'")), (
                table
            )
    province = await read_as(pool, Scope((A, B), province=True), asking_for_b)
    assert province["case_summary"] == (1, 2)


async def test_the_reader_cannot_read_the_consumers_own_tables(pool: Pool) -> None:
    await apply(pool, escalated(A))
    for table in ("stream_positions", "pending_events"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await read_as(pool, Scope.of(A), partial(count, table=table))


async def test_a_reads_role_and_agencies_never_outlive_it_on_a_pooled_connection(
    pool: Pool,
) -> None:
    await apply(pool, escalated(A))
    who = "SELECT current_user, coalesce(current_setting('aduan.agencies', true), '')"

    async def failing(conn: Connection) -> None:
        assert await conn.fetchval("SELECT current_user") == "aduan_reporting_reader"
        raise LookupError("the request's work fails halfway")

    async with pool.acquire() as conn:
        owner = await conn.fetchval("SELECT current_user")
    assert await read_as(pool, Scope.of(A), lambda conn: count(conn, table="case_summary")) == 1
    with pytest.raises(LookupError):
        await read_as(pool, Scope.of(A), failing)
    with pytest.raises(Unavailable):  # a read past its deadline, abandoned mid-transaction
        await read_as(pool, Scope.of(A), lambda conn: conn.execute("SELECT pg_sleep(3)"), 0.3)
    async with pool.acquire() as conn:  # the pool's one connection, after these reads
        assert tuple(await conn.fetchrow(who) or ()) == (owner, "")
    assert await read_as(pool, Scope.of(B), lambda conn: count(conn, table="case_summary")) == 0


async def test_every_read_model_table_holding_an_agency_is_guarded(pool: Pool) -> None:
    await create_tables(pool)  # a restart: the policies are made again, not twice
    async with pool.acquire() as conn:
        holding = await conn.fetch(
            "SELECT c.relname, c.relrowsecurity, "
            "(SELECT count(*) FROM pg_policies p WHERE p.schemaname = n.nspname "
            "AND p.tablename = c.relname) AS policies "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'agency' "
            "WHERE n.nspname = $1 AND c.relkind = 'r'",
            SCHEMA,
        )
    assert {row["relname"] for row in holding} == set(GUARDED)
    assert all(row["relrowsecurity"] and row["policies"] == 1 for row in holding)


def moved(agency: str) -> tuple[list[Envelope], Envelope]:
    """A case of agency A sent to `agency` by workflow's next event, and the complainant's
    survey afterwards (intake still says A)."""
    events = escalated(A)[:3]
    received = events[0]
    transfer = workflow_event(
        wf.InformationRequested, received, 3, RECEIVED + timedelta(hours=3), step="verification"
    )
    transfer = seal(
        transfer.data, subject=transfer.subject, version=3, time=transfer.time, agency=agency
    )
    survey = SurveySubmitted(case_id=received.subject, at=RECEIVED, scores=[3] * 9)
    late_survey = seal(survey, subject=received.subject, version=2, time=RECEIVED, agency=A)
    return [*events, transfer], late_survey


async def test_a_case_sent_to_another_agency_takes_its_counts_history_and_survey(
    pool: Pool,
) -> None:
    before, survey = moved(B)
    await apply(pool, before[:3])  # history written in A
    await apply(pool, [before[3], survey])
    async with pool.acquire() as conn:
        assert await count(conn, table="case_summary", where=f"agency = '{B}'") == 1
        for table in ("rekap", "rekap_by_channel"):
            assert await count(conn, table=table, where=f"agency = '{A}'") == 0, table
            assert await conn.fetchval(f"SELECT sum(count) FROM {table}") == 1
        assert await count(conn, table="case_history", where=f"agency = '{A}'") == 0
        assert await count(conn, table="case_history") > 0
        assert await conn.fetchval("SELECT agency FROM surveys") == B
        # the work A did stays A's (compliance counts the agency that did the step)
        assert await conn.fetchval("SELECT agency FROM step_times") == A
    seen = await read_as(pool, Scope.of(B), lambda conn: count(conn, table="case_history"))
    assert seen > 0


def test_a_rebuild_moves_a_case_the_same_way() -> None:
    events, survey = moved(B)
    working = WorkingSet(ZONE)
    for envelope in [*events, survey]:
        working.apply(envelope)
    rebuilt = tables(working)
    assert {row[1] for row in rebuilt["case_summary"][1]} == {B}
    assert {row[3] for row in rebuilt["case_history"][1]} == {B}
    assert {row[1] for row in rebuilt["surveys"][1]} == {B}
    assert {row[0] for row in rebuilt["rekap"][1]} == {B}


def test_the_province_sums_its_agencies_and_keeps_each_ones_line() -> None:
    records: list[dict[str, Any]] = [
        {"agency": A, "month": 1, "count": 2},
        {"agency": B, "month": 1, "count": 3},
        {"agency": B, "month": 2, "count": 1},
    ]
    rows, agencies = summed(records, ["month"])
    assert rows == [{"month": 1, "count": 5}, {"month": 2, "count": 1}]
    assert [(line.agency, line.count) for line in agencies] == [(A, 2), (B, 4)]
    table = year_table("*", 2025, 2026, None, {(A, 2026, 1): 2, (B, 2026, 1): 3, (B, 2025, 12): 1})
    assert table.rows[0]["counts"] == {"2025": 0, "2026": 5}
    assert table.total == 6
    assert [(line.agency, line.counts, line.total) for line in table.agencies] == [
        (A, {"2025": 0, "2026": 2}, 2),
        (B, {"2025": 1, "2026": 3}, 4),
    ]


async def test_an_officer_of_one_agency_never_gets_anothers_cases_on_any_surface(
    desk: Desk,
) -> None:
    home = desk.settings.agency
    now = datetime.now(UTC)
    ours, theirs = (
        complaint_received(received_at=now),
        complaint_received(received_at=now, agency=B),
    )
    for case in (ours, theirs):
        await desk.bus.publish(case, case_opened(case))
    conn = await connect(desk.settings)
    try:
        await agencies.save(conn, Agency(id=B, name="Dinas B"))
    finally:
        await conn.close()
    officer = desk.headers(Role.TIM_PENGADUAN, Role.KABID)
    code = {case.subject: case.data.model_dump()["tracking_code"] for case in (ours, theirs)}

    async def both_counted() -> bool:
        answer = await desk.http.get(f"/reporting/v1/rekap?instansi={B}")
        return answer.status_code == 200 and answer.json()["total"] == 1

    assert await eventually(both_counted, within=10)
    month = f"year={now.year}&month={now.month}"  # the cases' month (UTC and WIB agree mid-day)
    listing = [  # each lists the officer's own case, never the other agency's
        "/reporting/v1/worklist?role=tim_pengaduan",
        "/reporting/v1/cases",
        "/reporting/v1/cases.csv",
        f"/reporting/v1/dashboard/cases?figure=all&{month}",
        f"/open311/v2/requests.json?service_request_id={code[ours.subject]},{code[theirs.subject]}",
    ]
    for surface in listing:
        answer = await desk.http.get(surface, headers=officer)
        assert answer.status_code == 200, surface
        assert code[ours.subject] in answer.text, surface
        assert code[theirs.subject] not in answer.text, surface
    backlog = await desk.http.get("/reporting/v1/backlog?role=tim_pengaduan", headers=officer)
    assert backlog.json() == []
    listed = await desk.http.get("/reporting/v1/cases", headers=officer)
    assert [row["tracking_code"] for row in listed.json()] == [code[ours.subject]]
    # Public tracking goes by the code alone, whichever agency has the case (codes are unique
    # across the deployment and stay with a case that moves).
    tracked = await desk.http.get(f"/reporting/v1/track/{code[theirs.subject]}")
    assert tracked.status_code == 200
    assert tracked.json()["tracking_code"] == code[theirs.subject]
    rekap = (await desk.http.get("/reporting/v1/rekap", headers=officer)).json()
    assert (rekap["agency"], rekap["total"]) == (home, 1)

    for narrowed in (
        "/reporting/v1/worklist?role=tim_pengaduan&instansi=",
        "/reporting/v1/cases?instansi=",
    ):
        refused = await desk.http.get(narrowed + B, headers=officer)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"] == "Anda tidak memiliki akses ke instansi tersebut."
        assert (await desk.http.get(narrowed + home, headers=officer)).status_code == 200
    # The province's rekap is published figures, like each agency's: anyone may read it.
    province = (await desk.http.get("/reporting/v1/rekap?instansi=*")).json()
    assert (province["agency"], province["total"]) == ("*", 2)
    unknown = await desk.http.get("/reporting/v1/rekap?instansi=dinas-z")
    assert unknown.status_code == 404


async def test_an_officers_memberships_decide_the_agencies_read(
    pool: Pool, settings: Settings
) -> None:
    await apply(pool, escalated("dinas-c"))  # counted, though no one registered it
    async with pool.acquire() as conn:
        await agencies.save(conn, Agency(id=B, name="Dinas B"))
    app = SimpleNamespace(
        state=SimpleNamespace(pool=pool, reads=pool, agencies=Registry(settings, pool))
    )
    request = cast(Request, SimpleNamespace(app=app))
    kabid_in_b = ((B, frozenset({Role.KABID})),)
    officer = Officer("o-1", "Ani", frozenset({Role.TIM_PENGADUAN}), A, kabid_in_b)
    assert await officer_scope(request, officer, None) == Scope.of(A, B)
    assert await officer_scope(request, officer, B) == Scope.of(B)
    for outside in ("dinas-c", PROVINCE):
        with pytest.raises(Forbidden):
            await officer_scope(request, officer, outside)
    both = Scope.of(A, B)
    assert acting_in(officer, both, Role.KABID) == Scope.of(B)
    assert acting_in(officer, both, Role.TIM_PENGADUAN) == Scope.of(A)
    with pytest.raises(Forbidden):
        acting_in(officer, both, Role.SEKRETARIS)
    coordinator = Officer("k-1", "Budi", frozenset(), A, ((PROVINCE, frozenset({Role.KABID})),))
    every = await officer_scope(request, coordinator, None)
    assert every.province
    assert {settings.agency, B, "dinas-c"} <= set(every.agencies)
    assert await officer_scope(request, coordinator, "dinas-c") == Scope.of("dinas-c")


def test_an_ungrouped_rekap_is_one_total_even_of_nothing() -> None:
    assert summed([], [])[0] == [{"count": 0}]
    assert summed([{"agency": A, "count": 2}, {"agency": B, "count": 1}], [])[0] == [{"count": 3}]


async def test_a_search_judges_each_case_by_the_roles_held_in_its_own_agency(
    pool: Pool,
) -> None:
    """An officer of the complaints team in A and a front-desk officer in B: B's confidential
    cases are not theirs to see, so they never take a place on a page of A's (the page is cut
    after the condition, per agency)."""
    ours, theirs = escalated(A), escalated(B)
    later = [replace_time(envelope, timedelta(days=1)) for envelope in theirs]
    await apply(pool, ours + later)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE case_summary SET confidential = true")
    roles = {A: frozenset({Role.TIM_PENGADUAN}), B: frozenset({Role.PETUGAS})}
    run = partial(
        queries.search, query=queries.Search(), tz="Asia/Jakarta", limit=1, offset=0, roles=roles
    )
    page = await read_as(pool, Scope.of(A, B), run)
    assert [row["case_id"] for row in page] == [ours[0].subject]
    # Held in both agencies, the team's roles see both, the newest first.
    both = {A: roles[A], B: roles[A]}
    page = await read_as(pool, Scope.of(A, B), partial(run, roles=both, limit=2))
    assert [row["case_id"] for row in page] == [theirs[0].subject, ours[0].subject]


def replace_time(envelope: Envelope, later: timedelta) -> Envelope:
    """The same event, that much later (and the data's own times with it)."""
    data = envelope.data
    moved = {name: value + later for name, value in data if isinstance(value, datetime)}
    return dataclasses.replace(
        envelope, time=envelope.time + later, data=data.model_copy(update=moved)
    )


async def test_a_moved_cases_later_intake_events_reach_the_stream_as_the_new_agencys(
    pool: Pool,
) -> None:
    """Intake stamps the survey with the agency the case was submitted to; what the batch hands
    on (to the live stream) is of the agency that has the case now, so A's officers never
    follow B's case there."""
    before, survey = moved(B)
    await apply(pool, before)
    model = ReadModel("Asia/Jakarta")
    async with pool.acquire() as conn, conn.transaction():
        applied = await model.apply_batch(conn, [survey])
    assert survey.agency == A
    assert [(e.id, e.agency) for e in applied] == [(survey.id, B)]


async def test_a_province_officer_names_the_agency_of_a_monthly_recap(desk: Desk) -> None:
    """A monthly recap is one agency's document: the province's administrator says whose
    (422 without `instansi`, never an error of the server)."""
    headers = province_token(desk, Role.ADMIN)
    answer = await desk.http.post("/reporting/v1/recaps/2026/11", headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    named = await desk.http.post(
        f"/reporting/v1/recaps/2026/11?instansi={desk.settings.agency}", headers=headers
    )
    assert named.status_code == 200, named.text


def province_token(desk: Desk, *roles: Role) -> dict[str, str]:
    """An officer of the province (a membership in every agency) with these roles."""
    now = datetime.now(UTC)
    claims = {
        "iss": desk.settings.auth_issuer,
        "aud": desk.settings.auth_audience,
        "sub": "koordinator-1",
        "roles": [role.value for role in roles],
        "agency": PROVINCE,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, desk.key, algorithm='ES256')}"}


async def test_the_coordinators_worklist_is_the_provinces_queue(desk: Desk) -> None:
    """A case an agency answered "bukan wewenang" waits in the province's queue: on the
    coordinator's worklist, on no agency's."""
    declined = complaint_received(received_at=datetime.now(UTC), agency=PROVINCE)
    ours = complaint_received(received_at=datetime.now(UTC))
    for case in (declined, ours):
        await desk.bus.publish(case, case_opened(case))
    coordinator = province_token(desk, Role.KOORDINATOR)

    async def queued() -> list[str] | None:
        answer = await desk.http.get("/reporting/v1/worklist?role=koordinator", headers=coordinator)
        assert answer.status_code == 200, answer.text
        found = [item["case_id"] for item in answer.json()]
        return found or None

    assert await eventually(queued, within=10) == [str(declined.subject)]
    team = desk.headers(Role.TIM_PENGADUAN)
    refused = await desk.http.get("/reporting/v1/worklist?role=koordinator", headers=team)
    assert refused.status_code == 403
    own = await desk.http.get("/reporting/v1/worklist?role=tim_pengaduan", headers=team)
    assert [item["case_id"] for item in own.json()] == [str(ours.subject)]

"""Live operations: the SSE stream resumes without gaps; dead letters are listed and re-queued."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import redis.asyncio as aioredis
from aio_pika.abc import AbstractIncomingMessage
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from services.reporting.dead_letters import TABLE as LETTERS
from services.reporting.masking import (
    CaseAccess,
    acting,
    everywhere,
    masked,
    reasons_visible,
)
from services.reporting.operations import FOLLOWERS_PER_OFFICER
from shared.access import Privacy
from shared.auth import Revocations
from shared.broker import BrokerLink
from shared.channels import Channel
from shared.db import connect, create_pool
from shared.events import Envelope, encode, seal
from shared.events import workflow as wf
from shared.events.intake import ComplainantReplied, SurveySubmitted
from shared.messaging import Consumer, run_consumer
from shared.parking import Parking
from shared.service import background
from shared.settings import Settings
from shared.sop import Officer, Role
from shared.topology import parking_queue, partition_queues
from tests.bus import bus, park
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.samples import case_opened, complaint_received, workflow_event
from tests.shared.test_messaging import Recorder
from tests.system import running, with_free_ports


async def read_events(lines: AsyncIterator[str], count: int) -> list[tuple[str, str]]:
    """(SSE id, CloudEvent id) of the next `count` events of a stream's lines."""
    events: list[tuple[str, str]] = []
    current: dict[str, str] = {}
    async for line in lines:
        if not line:
            if "data" in current:
                events.append((current["id"], json.loads(current["data"])["id"]))
                if len(events) == count:
                    return events
            current = {}
            continue
        field, _, value = line.partition(":")
        if field:
            current[field] = value.strip()
    return events


@pytest.fixture
async def reporting(settings: Settings, tmp_path: Path) -> AsyncIterator[Desk]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    configured = with_free_ports(settings).model_copy(update={"auth_signing_key": SecretStr(pem)})
    async with running(configured, tmp_path, ["reporting"]) as system, bus(configured) as connected:
        http = httpx.AsyncClient(base_url=system.url("reporting"), timeout=30)
        try:
            yield Desk(http, connected, configured, key)
        finally:
            await http.aclose()


async def test_a_client_that_reconnects_with_last_event_id_misses_nothing(reporting: Desk) -> None:
    url = "/reporting/v1/operations/events?type=ComplaintReceived"
    admin = reporting.headers(Role.ADMIN)
    first, gap, after = (
        [complaint_received() for _ in range(3)],
        [complaint_received() for _ in range(4)],
        [complaint_received()],
    )
    async with reporting.http.stream(
        "GET", url, headers=admin | {"Last-Event-ID": "0-0"}
    ) as stream:
        await reporting.bus.publish(*first)
        seen = await read_events(stream.aiter_lines(), 3)
    # Three cases: each keeps its own order, the three may interleave (partitioned by case).
    assert sorted(event_id for _, event_id in seen) == sorted(e.id for e in first)
    await reporting.bus.publish(*gap)

    async def in_the_stream() -> bool:  # applied (and so streamed) while nobody listened
        return bool((await reporting.http.get("/reporting/v1/rekap")).json()["total"] == 7)

    assert await eventually(in_the_stream, within=10)
    async with reporting.http.stream(
        "GET", url, headers=admin | {"Last-Event-ID": seen[-1][0]}
    ) as stream:
        lines = stream.aiter_lines()
        resumed = await read_events(lines, 4)
        await reporting.bus.publish(*after)
        resumed += await read_events(lines, 1)
    assert sorted(event_id for _, event_id in resumed[:4]) == sorted(e.id for e in gap)
    assert [event_id for _, event_id in resumed[4:]] == [e.id for e in after]


async def test_a_parked_message_is_listed_and_requeued_by_an_operator(reporting: Desk) -> None:
    envelope = complaint_received()
    await park(reporting.settings, envelope, "reporting")
    admin = reporting.headers(Role.ADMIN)
    letters = (
        await reporting.http.get("/reporting/v1/operations/dead-letters", headers=admin)
    ).json()
    assert [(letter["service"], letter["message_id"]) for letter in letters] == [
        ("reporting", envelope.id)
    ]
    forbidden = await reporting.http.get(
        "/reporting/v1/operations/dead-letters", headers=reporting.headers(Role.TIM_PENGADUAN)
    )
    assert forbidden.status_code == 403
    moved = await reporting.http.post(
        f"/reporting/v1/operations/dead-letters/reporting/requeue?message_id={envelope.id}",
        headers=admin,
    )
    assert moved.json() == {"requeued": 1}

    async def counted() -> bool:
        return bool((await reporting.http.get("/reporting/v1/rekap")).json()["total"] == 1)

    assert await eventually(counted, within=10)
    assert await reporting.bus.depth(parking_queue("reporting")) == 0


async def test_an_agencys_administrator_sends_back_only_that_agencys_parked_messages(
    reporting: Desk,
) -> None:
    ours, theirs = complaint_received(), complaint_received(agency="dinas-lain")
    for envelope in (ours, theirs):
        await park(reporting.settings, envelope, "reporting")
    admin = reporting.headers(Role.ADMIN)  # the home agency's administrator
    listed = (await reporting.http.get(DEAD_LETTERS, headers=admin)).json()
    assert [letter["message_id"] for letter in listed] == [ours.id]
    for asked in (f"?message_id={theirs.id}", ""):
        moved = await reporting.http.post(f"{DEAD_LETTERS}/reporting/requeue{asked}", headers=admin)
        assert moved.status_code == 200, moved.text
        assert moved.json() == {"requeued": 0 if asked else 1}
    conn = await connect(reporting.settings)
    try:
        left = await conn.fetch(f"SELECT message_id FROM {LETTERS} WHERE requeued_at IS NULL")
    finally:
        await conn.close()
    assert [row["message_id"] for row in left] == [theirs.id]


DEAD_LETTERS = "/reporting/v1/operations/dead-letters"


async def test_a_parked_event_of_a_moved_case_is_the_agency_that_has_the_case_now(
    reporting: Desk,
) -> None:
    """An event parked while its case was elsewhere names the agency of that moment; the
    administrators of the agency the case has now list and send it back, not the ones of the
    agency it left (who may no longer read the case)."""
    home, other = reporting.settings.agency, "dinas-lain"
    at = datetime.now(UTC)
    left, came = complaint_received(agency=home), complaint_received(agency=other)

    def moved(received: Envelope, to: str) -> Envelope:
        data = wf.CaseTransferred(
            case_id=received.subject,
            at=at,
            from_agency=received.agency,
            to_agency=to,
            current_step="identification",
            step_due_at=at,
            deadline_at=at,
        )
        return seal(data, subject=received.subject, version=2, time=at, agency=to)

    await reporting.bus.publish(
        left, case_opened(left), moved(left, other), came, case_opened(came), moved(came, home)
    )

    async def both_moved() -> bool:
        conn = await connect(reporting.settings)
        try:
            rows = await conn.fetch(
                "SELECT case_id, agency FROM reporting.case_summary "
                "WHERE case_id = ANY($1::uuid[])",
                [left.subject, came.subject],
            )
        finally:
            await conn.close()
        return {(r["case_id"], r["agency"]) for r in rows} == {
            (left.subject, other),
            (came.subject, home),
        }

    assert await eventually(both_moved, within=20)
    parked = {}
    for received in (left, came):  # the complainant's reply, stamped before the move
        reply = ComplainantReplied(case_id=received.subject, channel=Channel.WEB, received_at=at)
        parked[received.subject] = seal(
            reply, subject=received.subject, version=2, time=at, agency=received.agency
        )
        await park(reporting.settings, parked[received.subject], "reporting")
    admin = reporting.headers(Role.ADMIN)  # the home agency's administrator
    listed = (await reporting.http.get(DEAD_LETTERS, headers=admin)).json()
    assert [letter["message_id"] for letter in listed] == [parked[came.subject].id]
    moved_back = await reporting.http.post(f"{DEAD_LETTERS}/reporting/requeue", headers=admin)
    assert moved_back.json() == {"requeued": 1}
    conn = await connect(reporting.settings)
    try:
        left_over = await conn.fetch(f"SELECT message_id FROM {LETTERS} WHERE requeued_at IS NULL")
    finally:
        await conn.close()
    assert [row["message_id"] for row in left_over] == [parked[left.subject].id]


async def _letters(desk: Desk) -> list[dict[str, Any]]:
    answer = await desk.http.get(DEAD_LETTERS, headers=desk.headers(Role.ADMIN))
    assert answer.status_code == 200, answer.text
    letters: list[dict[str, Any]] = answer.json()
    return letters


async def _parked_in_workflow(desk: Desk, count: int = 1) -> list[dict[str, Any]]:
    async def listed() -> list[dict[str, Any]] | None:
        letters = [x for x in await _letters(desk) if x["service"] == "workflow"]
        return letters if len(letters) == count else None

    found = await eventually(listed, within=30)
    assert found is not None
    return found


async def test_a_poison_message_shows_its_true_delivery_count_and_failures(
    reporting: Desk,
) -> None:
    poison = complaint_received()
    recorder = Recorder(poison=frozenset({poison.id}))
    failing = Consumer("workflow", recorder)  # nobody else consumes workflow's queue here
    async with background(run_consumer(reporting.settings, failing, BrokerLink())):
        await reporting.bus.publish(poison)
        [letter] = await _parked_in_workflow(reporting)
    assert recorder.attempts[poison.id] == reporting.settings.delivery_limit
    assert letter["message_id"] == poison.id
    assert letter["deliveries"] == reporting.settings.delivery_limit
    assert letter["reason"] == "RuntimeError: cannot handle this one"
    first, last = (datetime.fromisoformat(letter[key]) for key in ("first_failure", "last_failure"))
    assert first < last <= datetime.now(UTC)
    assert letter["history"] == []


async def test_listing_dead_letters_ten_times_changes_nothing(reporting: Desk) -> None:
    parked = [complaint_received() for _ in range(3)]
    for envelope in parked:
        await park(reporting.settings, envelope, "reporting")
    first = await _letters(reporting)
    assert [letter["message_id"] for letter in first] == [e.id for e in parked]
    for _ in range(9):
        assert await _letters(reporting) == first


async def test_a_requeued_message_that_fails_again_is_parked_at_once_with_its_history(
    reporting: Desk,
) -> None:
    poison = complaint_received()
    recorder = Recorder(poison=frozenset({poison.id}))
    failing = Consumer("workflow", recorder)
    limit = reporting.settings.delivery_limit
    async with background(run_consumer(reporting.settings, failing, BrokerLink())):
        await reporting.bus.publish(poison)
        [before] = await _parked_in_workflow(reporting)
        moved = await reporting.http.post(
            f"{DEAD_LETTERS}/workflow/requeue?message_id={poison.id}",
            headers=reporting.headers(Role.ADMIN),
        )
        assert moved.json() == {"requeued": 1}

        async def parked_again() -> list[dict[str, Any]] | None:
            letters = await _parked_in_workflow(reporting)
            return letters if letters[0]["id"] != before["id"] else None

        [again] = await eventually(parked_again, within=30) or []
    assert recorder.attempts[poison.id] == limit + 1
    assert again["deliveries"] == 1
    [earlier] = again["history"]
    assert earlier["id"] == before["id"]
    assert earlier["deliveries"] == limit
    assert earlier["requeued_by"] == "admin-1"
    assert datetime.fromisoformat(earlier["requeued_at"]) <= datetime.fromisoformat(
        again["first_failure"]
    )
    requeued = await reporting.http.get(
        f"{DEAD_LETTERS}?state=requeued", headers=reporting.headers(Role.ADMIN)
    )
    assert [(x["id"], x["requeued_by"]) for x in requeued.json()] == [(before["id"], "admin-1")]


async def test_a_message_the_broker_parked_by_its_own_limit_shows_its_count(
    reporting: Desk,
) -> None:
    """The backstop: a consumer that never settles through the parking path (it dies, or is
    older than it) leaves the broker to dead-letter the message after limit + 1 deliveries."""
    channel = reporting.bus.channel
    queues = [
        await channel.get_queue(name) for name in partition_queues(reporting.settings, "workflow")
    ]

    async def refuse(message: AbstractIncomingMessage) -> None:
        await message.nack(requeue=True)

    tags = [await queue.consume(refuse) for queue in queues]  # the case's partition among them
    try:
        await reporting.bus.publish(complaint_received())
        [letter] = await _parked_in_workflow(reporting)
    finally:
        for queue, tag in zip(queues, tags, strict=True):
            await queue.cancel(tag)
    assert letter["deliveries"] == reporting.settings.delivery_limit + 1
    assert letter["reason"] == "delivery_limit"
    assert letter["last_failure"] is not None


async def test_a_parking_delivered_twice_from_its_queue_is_listed_once(reporting: Desk) -> None:
    """Collecting inserts, commits, then acks: a crash in between delivers the parking again."""
    envelope = complaint_received()
    parking = Parking("p-1", "p-1", 3, datetime.now(UTC), datetime.now(UTC), "RuntimeError: x")
    for _ in range(2):
        await park(reporting.settings, envelope, "reporting", parking)
    [letter] = await _letters(reporting)
    assert (letter["id"], letter["deliveries"]) == ("p-1", 3)


async def test_why_a_message_failed_is_read_only_by_roles_that_see_identity(desk: Desk) -> None:
    pool = await create_pool(desk.settings, search_path="reporting")
    try:
        cases = CaseAccess(pool)
        body = encode(complaint_received()).decode()
        assert await reasons_visible(body, everywhere(Role.TIM_PENGADUAN), cases)
        assert not await reasons_visible(body, everywhere(Role.KABID), cases)
        assert not await reasons_visible(body, everywhere(Role.ANALIS), cases)
        assert not await reasons_visible("{not json", everywhere(Role.ADMIN), cases)
    finally:
        await pool.close()


async def test_survey_answers_of_a_case_reach_no_officer_on_the_stream_or_in_dead_letters(
    desk: Desk,
) -> None:
    """Scores and the respondent's profile tied to a case would tie a rating to a complainant:
    even the roles that see everything of a case read the event without them."""
    pool = await create_pool(desk.settings, search_path="reporting")
    try:
        cases = CaseAccess(pool)
        case_id, at = uuid4(), datetime.now(UTC)
        rated = SurveySubmitted(
            case_id=case_id, at=at, scores=[1] * 9, sex="female", age_group="30_39"
        )
        body = encode(seal(rated, subject=case_id, version=9, time=at, agency="x")).decode()
        for roles in ([Role.ADMIN], [Role.TIM_PENGADUAN, Role.KEPALA_DINAS]):
            shown = await masked(body, everywhere(*roles), cases)
            assert shown is not None
            data = json.loads(shown)["data"]
            assert data["case_id"] == str(case_id)
            assert (data["scores"], data["sex"], data["age_group"]) == (None, None, None)
        received = encode(complaint_received()).decode()
        assert (
            await masked(received, everywhere(Role.ADMIN), cases) == received
        )  # the rest as it was
    finally:
        await pool.close()


async def test_a_stream_remembers_the_privacy_of_a_bounded_number_of_cases() -> None:
    """A live stream watched for days meets every case of those days: it keeps the latest
    seen, not all of them (the database is asked again for one forgotten)."""
    cases = CaseAccess(pool=None)  # type: ignore[arg-type] # nothing here reads the database
    first = str(uuid4())
    cases.remember(first, Privacy.NORMAL)
    for _ in range(CaseAccess.REMEMBERED + 500):
        cases.remember(str(uuid4()), Privacy.ANONYMOUS)
        assert await cases.of(first, {}) == (Privacy.NORMAL, None)  # seen: kept
    assert cases.remembered() == CaseAccess.REMEMBERED
    for _ in range(CaseAccess.REMEMBERED):
        cases.remember(str(uuid4()), Privacy.ANONYMOUS)
    with pytest.raises(AttributeError):  # forgotten: the read model is asked (no pool here)
        await cases.of(first, {})


async def test_each_event_is_read_with_the_roles_held_in_its_own_agency(desk: Desk) -> None:
    """An officer of the complaints team at home and an analyst at Dinas B reads B's events
    as an analyst: a confidential case of B stays hidden from them."""
    pool = await create_pool(desk.settings, search_path="reporting")
    try:
        cases = CaseAccess(pool)
        officer = Officer(
            "o-1",
            "Ani",
            frozenset({Role.TIM_PENGADUAN}),
            desk.settings.agency,
            (("dinas-b", frozenset({Role.ANALIS})),),
        )
        ours, theirs = (
            encode(confidential(complaint_received(agency=agency))).decode()
            for agency in (desk.settings.agency, "dinas-b")
        )
        assert await masked(ours, acting(officer), cases) is not None
        assert await masked(theirs, acting(officer), cases) is None
        assert await masked(theirs, everywhere(Role.TIM_PENGADUAN), cases) is not None
        assert not await reasons_visible(theirs, acting(officer), cases)
    finally:
        await pool.close()


def confidential(envelope: Envelope) -> Envelope:
    """The same event of a confidential complaint."""
    data = envelope.data.model_copy(update={"confidential": True})
    return dataclasses.replace(envelope, data=data)


async def test_a_last_event_id_beyond_any_stream_id_is_a_422(reporting: Desk) -> None:
    for beyond in ("99999999999999999999-0", "0-99999999999999999999"):
        answer = await reporting.http.get(
            "/reporting/v1/operations/events",
            headers=reporting.headers(Role.ADMIN) | {"Last-Event-ID": beyond},
        )
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"


async def test_an_open_stream_ends_when_its_account_is_changed(reporting: Desk) -> None:
    headers = reporting.headers(Role.ADMIN)
    url = "/reporting/v1/operations/events"
    async with reporting.http.stream("GET", url, headers=headers) as stream:
        assert stream.status_code == 200
        redis = aioredis.Redis.from_url(reporting.settings.redis_url)
        try:
            await Revocations(reporting.settings, redis).revoke(f"{Role.ADMIN.value}-1")
        finally:
            await redis.aclose()
        ended = asyncio.get_running_loop().time()
        async for _ in stream.aiter_lines():
            pass  # the stream ends by itself
        assert asyncio.get_running_loop().time() - ended < 15
    refused = await reporting.http.get(url, headers=headers)
    assert refused.status_code == 401


async def test_the_stream_takes_its_token_from_the_header_never_from_the_address(
    reporting: Desk,
) -> None:
    """An address is kept by proxies and their access logs; a token in it would be too."""
    token = reporting.headers(Role.ADMIN)["Authorization"].removeprefix("Bearer ")
    in_address = await reporting.http.get(f"/reporting/v1/operations/events?access_token={token}")
    assert in_address.status_code == 422, in_address.text
    assert in_address.json()["errors"][0]["field"] == "access_token"


async def test_one_officer_holds_a_few_streams_not_every_one(reporting: Desk) -> None:
    url = "/reporting/v1/operations/events"
    async with contextlib.AsyncExitStack() as held:
        for _ in range(FOLLOWERS_PER_OFFICER):
            opened = await held.enter_async_context(
                reporting.http.stream("GET", url, headers=reporting.headers(Role.ANALIS))
            )
            assert opened.status_code == 200
        one_more = await reporting.http.get(url, headers=reporting.headers(Role.ANALIS))
        assert one_more.status_code == 429, one_more.text
        assert int(one_more.headers["retry-after"]) > 0
        async with reporting.http.stream(
            "GET", url, headers=reporting.headers(Role.KABID)
        ) as another:
            assert another.status_code == 200  # another officer still follows


async def test_a_head_of_the_stream_is_its_head_and_ends(reporting: Desk) -> None:
    """HEAD is answered as GET without a body: the stream's head, then the end; it holds none
    of the officer's share of streams afterwards (a HEAD was a 405)."""
    url = "/reporting/v1/operations/events"
    for _ in range(FOLLOWERS_PER_OFFICER + 1):
        head = await asyncio.wait_for(
            reporting.http.head(url, headers=reporting.headers(Role.ANALIS)), 10
        )
        assert head.status_code == 200, head.text
        assert head.headers["content-type"].startswith("text/event-stream")
        assert head.content == b""
    async with contextlib.AsyncExitStack() as held:

        async def share_free() -> bool:
            opened = await held.enter_async_context(
                reporting.http.stream("GET", url, headers=reporting.headers(Role.ANALIS))
            )
            return opened.status_code == 200

        for _ in range(FOLLOWERS_PER_OFFICER):
            assert await eventually(share_free, within=10, interval=0.2)


async def test_streams_opened_at_the_same_instant_are_counted_as_they_are_admitted(
    reporting: Desk,
) -> None:
    """Twice an officer's share asked at once: the share is admitted, the rest refused; once
    they are closed, the officer has the whole share again (none of them leaked)."""
    url = "/reporting/v1/operations/events"

    async def opened_at_once() -> list[int]:
        async with contextlib.AsyncExitStack() as held:

            async def open_one() -> int:
                opened = await held.enter_async_context(
                    reporting.http.stream("GET", url, headers=reporting.headers(Role.ANALIS))
                )
                return opened.status_code

            return sorted(
                await asyncio.gather(*(open_one() for _ in range(2 * FOLLOWERS_PER_OFFICER)))
            )

    share = [200] * FOLLOWERS_PER_OFFICER + [429] * FOLLOWERS_PER_OFFICER
    assert await opened_at_once() == share

    async def whole_share_again() -> bool:
        return await opened_at_once() == share

    assert await eventually(whole_share_again, within=20, interval=0.5)


async def test_personal_data_typed_into_unsealed_fields_earlier_is_masked_on_the_stream(
    desk: Desk,
) -> None:
    """Agency names and reference numbers are published unsealed; one written with a name and
    phone in it (before such input was refused) reaches a role without the identity masked."""
    pool = await create_pool(desk.settings, search_path="reporting")
    try:
        cases = CaseAccess(pool)
        received = complaint_received()
        cases.remember(str(received.subject), Privacy.NORMAL)
        at, person = datetime.now(UTC), "u.p. Bapak Rudi Hartono 081377700011"
        events = [
            workflow_event(wf.CaseRejected, received, 2, at, referred_to=f"BPN {person}"),
            workflow_event(
                wf.InvestigationReported,
                received,
                3,
                at,
                working_minutes=1.0,
                within_standard=True,
                related_agencies=["BPN", person],
            ),
        ]
        for envelope in events:
            body = encode(envelope).decode()
            shown = await masked(body, everywhere(Role.KABID), cases)
            assert shown is not None
            assert "081377700011" not in shown
            assert "Hartono" not in shown
            assert "BPN" in shown
            clear = await masked(body, everywhere(Role.TIM_PENGADUAN), cases)
            assert clear is not None
            assert "081377700011" in clear  # the identity's readers read it
    finally:
        await pool.close()

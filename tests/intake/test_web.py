"""The web form endpoints: durable 201s, idempotency, specific 4xx, never a half-written state."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from services.intake.app import create_app
from services.intake.store import Submissions
from shared.sealing import SealingKey
from shared.settings import Settings
from shared.tracking_code import normalize
from tests.conftest import serving
from tests.polling import eventually
from tests.tcp_proxy import TcpProxy

FORM: dict[str, Any] = {
    "text": "Izin usaha saya belum selesai setelah tiga minggu.",
    "category": "perizinan_berusaha",
    "contact": {
        "name": "Siti Aminah",
        "phone": "0812-3456-7890",
        "email": "siti.aminah@example.id",
        "nik": "3525014101900001",
        "address": "Jl. Veteran 12, Gresik",
    },
    "consent": True,
}


@dataclass
class Intake:
    http: httpx.AsyncClient
    submissions: Submissions
    settings: Settings

    async def stored_rows(self) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.settings.postgres_dsn())
        try:
            return await conn.fetch("SELECT topic, state FROM intake.submissions_events")
        finally:
            await conn.close()


@pytest.fixture
async def intake(settings: Settings) -> AsyncIterator[Intake]:
    app = create_app(settings.model_copy(update={"relay": False}))
    async with serving(app) as http:
        yield Intake(http, app.state.submissions, settings)


async def test_a_complaint_is_stored_and_answered_with_a_readable_code(intake: Intake) -> None:
    answer = await intake.http.post("/intake/v1/complaints", json=FORM)
    assert answer.status_code == 201
    code = answer.json()["tracking_code"]
    assert normalize(code) == code
    assert answer.headers["location"] == f"/reporting/v1/track/{code}"
    [row] = await intake.stored_rows()
    assert row["topic"].endswith("Submission.ComplaintReceived")


async def test_a_consultation_is_stored_as_one(intake: Intake) -> None:
    answer = await intake.http.post("/intake/v1/consultations", json={"text": "Cara membuat NIB?"})
    assert answer.status_code == 201
    [row] = await intake.stored_rows()
    assert row["topic"].endswith("Submission.ConsultationReceived")


MEGABYTE_TEXT = json.dumps({"text": "a" * 1_000_000}).encode()

BAD_REQUESTS: dict[str, tuple[bytes, str, int, set[str]]] = {
    "wrong types": (json.dumps({"text": 123, "anonymous": "yes"}).encode(), "", 422, {"text"}),
    "missing text": (json.dumps({"category": "biaya"}).encode(), "", 422, {"text"}),
    "empty body": (b"", "", 422, {"body"}),
    "empty object": (b"{}", "", 422, {"text"}),
    "blank text": (json.dumps({"text": "          "}).encode(), "", 422, {"text"}),
    "one megabyte of text": (MEGABYTE_TEXT, "", 413, set()),
    "invalid json": (b'{"text": "abc', "", 422, {"body"}),
    "json array": (b"[]", "", 422, {"body"}),
    "unknown field": (json.dumps({**FORM, "priority": "high"}).encode(), "", 422, {"priority"}),
    "unknown category": (json.dumps({**FORM, "category": "x"}).encode(), "", 422, {"category"}),
    "bad email": (
        json.dumps({**FORM, "contact": {"email": "siti@"}}).encode(),
        "",
        422,
        {"contact.email"},
    ),
    "bad phone": (
        json.dumps({**FORM, "contact": {"phone": "12"}}).encode(),
        "",
        422,
        {"contact.phone"},
    ),
    "bad nik": (json.dumps({**FORM, "contact": {"nik": "123"}}).encode(), "", 422, {"contact.nik"}),
    "anonymous with identity": (
        json.dumps({**FORM, "anonymous": True}).encode(),
        "",
        422,
        {"contact"},
    ),
    "contact without consent": (
        json.dumps({**FORM, "consent": False}).encode(),
        "",
        422,
        {"consent"},
    ),
    "form encoded": (b"text=halo", "application/x-www-form-urlencoded", 422, {"body"}),
    # half of an emoji's surrogate pair, as JSON may escape it: no UTF-8 text holds it
    "lone surrogate in the text": (
        json.dumps({**FORM, "text": FORM["text"] + " \ud83d"}).encode(),
        "",
        422,
        {"text"},
    ),
    "lone surrogate in a name": (
        json.dumps({**FORM, "contact": {**FORM["contact"], "name": "Siti \udc00"}}).encode(),
        "",
        422,
        {"contact.name"},
    ),
}


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=list(BAD_REQUESTS))
async def test_bad_input_gets_a_specific_problem_and_stores_nothing(
    intake: Intake, case: str
) -> None:
    body, content_type, status, fields = BAD_REQUESTS[case]
    headers = {"content-type": content_type or "application/json"}
    answer = await intake.http.post("/intake/v1/complaints", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status
    assert problem["detail"]
    assert {error["field"] for error in problem.get("errors", [])} >= fields
    assert all(error["message"] for error in problem.get("errors", []))
    assert await intake.stored_rows() == []


async def test_a_repeated_idempotency_key_returns_the_original_code(intake: Intake) -> None:
    headers = {"Idempotency-Key": "form-2026-11-29-0001"}
    answers = [
        await intake.http.post("/intake/v1/complaints", json=FORM, headers=headers)
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert len({a.json()["tracking_code"] for a in answers}) == 1
    assert answers[1].headers["idempotent-replayed"] == "true"
    assert len(await intake.stored_rows()) == 1


async def test_an_idempotency_key_reused_for_other_content_is_refused(intake: Intake) -> None:
    headers = {"Idempotency-Key": "reused-key"}
    first = await intake.http.post("/intake/v1/complaints", json=FORM, headers=headers)
    other = {**FORM, "text": "Ini pengaduan yang lain sama sekali."}
    second = await intake.http.post("/intake/v1/complaints", json=other, headers=headers)
    assert first.status_code == 201
    assert second.status_code == 422
    assert second.json()["type"] == "/problems/idempotency-key-reused"
    assert len(await intake.stored_rows()) == 1


async def test_identity_and_text_never_sit_in_clear_in_the_event_store(intake: Intake) -> None:
    answer = await intake.http.post("/intake/v1/complaints", json=FORM)
    assert answer.status_code == 201
    [row] = await intake.stored_rows()
    stored = bytes(row["state"]).decode()
    for value in (*FORM["contact"].values(), "+6281234567890", FORM["text"], "Siti"):
        assert value not in stored
    event = json.loads(stored)
    key = await _personal_key(intake.settings, event["personal_ref"]["_data_"])
    opened = key.open(event["sealed"])
    assert opened["text"] == FORM["text"]
    assert opened["contact"]["phone"] == "+6281234567890"


async def test_an_anonymous_complaint_stores_no_identity(intake: Intake) -> None:
    form = {"text": "Ada pungutan di loket tiga.", "anonymous": True, "category": "pungli"}
    assert (await intake.http.post("/intake/v1/complaints", json=form)).status_code == 201
    [row] = await intake.stored_rows()
    event = json.loads(bytes(row["state"]))
    key = await _personal_key(intake.settings, event["personal_ref"]["_data_"])
    assert key.open(event["sealed"]) == {"text": form["text"], "contact": None, "attachments": []}
    assert event["anonymous"] is True


@pytest.mark.store_deadline  # it stalls the store and times the answers
async def test_a_database_outage_is_a_503_not_a_500_and_nothing_half_written(
    settings: Settings,
) -> None:
    proxy = TcpProxy(settings.postgres_host, settings.postgres_port)
    await proxy.start()
    proxied = settings.model_copy(update={"relay": False, "postgres_port": proxy.port})
    try:
        app = create_app(proxied)
        async with serving(app) as http:
            proxy.cut()
            down = await http.post("/intake/v1/complaints", json=FORM)
            proxy.restore()

            async def ready() -> bool:  # the breaker closes once a probe gets through
                return (await http.get("/readyz")).status_code == 200

            await eventually(ready, within=10)
            up = await http.post("/intake/v1/complaints", json=FORM)
    finally:
        await proxy.stop()
    assert down.status_code == 503
    assert down.headers["retry-after"]
    # refused at once, or not done within the write deadline: both a 503 to try again
    assert down.json()["type"] in {"/problems/store-unavailable", "/problems/write-timeout"}
    assert up.status_code == 201
    intake = Intake(http, app.state.submissions, settings)
    assert len(await intake.stored_rows()) == 1


@pytest.mark.store_deadline  # it stalls the store and times the answers
async def test_a_write_stuck_behind_another_is_not_ready_before_its_503_is_heard(
    settings: Settings,
) -> None:
    """A submission queued while the commit before it ran, then stuck in its own commit: by the
    time it hears 503, readiness says so (its deadline runs from its arrival, not from the
    start of its commit)."""
    app = create_app(settings.model_copy(update={"relay": False}))
    holder = await asyncpg.connect(settings.postgres_dsn())
    queue = await asyncpg.connect(settings.postgres_dsn())
    table = "intake.submissions_events"

    async def lock_requests() -> int:
        return int(await holder.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"))

    try:
        async with serving(app) as http:
            held = holder.transaction()
            await held.start()
            await holder.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            first = asyncio.ensure_future(http.post("/intake/v1/complaints", json=FORM))
            await eventually(lambda: _at_least(lock_requests, 1), within=5)
            # Queued behind the first commit: it takes the table as soon as that one is done,
            # so the second commit waits from its start.
            queued = queue.transaction()
            await queued.start()
            behind = asyncio.ensure_future(queue.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
            await eventually(lambda: _at_least(lock_requests, 2), within=5)
            second = asyncio.ensure_future(
                http.post("/intake/v1/complaints", json={**FORM, "text": FORM["text"] + " lagi"})
            )

            async def second_waits() -> bool:
                return bool(app.state.writer.waiting == 1)

            await eventually(second_waits, within=5)
            arrived = time.monotonic()
            # The first commit is let through 0.7 s before its deadline, the second then starts
            # 0.8 s after its arrival, and sticks.
            await asyncio.sleep(0.8)
            await held.rollback()
            assert (await first).status_code == 201
            stuck = await second
            assert stuck.status_code == 503, stuck.text
            assert time.monotonic() - arrived < 2.5
            ready = await http.get("/readyz")
            assert ready.status_code == 503, ready.text  # ready before: its commit not yet late
            await behind
            await queued.rollback()

            async def healed() -> bool:
                return (await http.get("/readyz")).status_code == 200

            await eventually(healed, within=10)
            assert (await http.post("/intake/v1/complaints", json=FORM)).status_code == 201
        intake = Intake(http, app.state.submissions, settings)
        assert len(await intake.stored_rows()) == 2  # the 503 rolled back
    finally:
        await holder.close()
        await queue.close()


async def _at_least(count: Callable[[], Awaitable[int]], least: int) -> bool:
    return await count() >= least


async def _personal_key(settings: Settings, ref_hex: str) -> SealingKey:
    from uuid import UUID

    ref = UUID(ref_hex)
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        key = await conn.fetchval("SELECT key FROM intake.personal_keys WHERE ref = $1", ref)
    finally:
        await conn.close()
    return SealingKey(ref, bytes(key))


async def test_repeats_never_poison_the_store_connection(settings: Settings) -> None:
    """A repeat fails inside the store's pipelined transaction; every later commit must still
    work (psycopg marks skipped prepares as done unless the failing rows are written last)."""
    single = settings.model_copy(update={"relay": False, "postgres_pool_size": 1})
    async with serving(create_app(single)) as http:
        statuses = []
        for number in range(30):
            repeat = number % 3 == 0
            form = {"text": "Pengaduan yang sama." if repeat else f"Pengaduan nomor {number}."}
            headers = {"Idempotency-Key": "sama"} if repeat else {}
            statuses.append(
                (await http.post("/intake/v1/complaints", json=form, headers=headers)).status_code
            )
    assert statuses == [201 if n == 0 or n % 3 else 200 for n in range(30)]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


async def _attachment_rows(settings: Settings) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        return await conn.fetch("SELECT case_id, content_type, size FROM intake.attachments")
    finally:
        await conn.close()


async def test_the_web_page_form_keeps_its_attachments(intake: Intake) -> None:
    answer = await intake.http.post(
        "/intake/v1/forms/complaints",
        data={"form": json.dumps(FORM)},
        files=[("files", ("bukti.png", PNG, "image/png")), ("files", ("", b"", "image/png"))],
    )
    assert answer.status_code == 201, answer.text
    assert normalize(answer.json()["tracking_code"])
    [row] = await _attachment_rows(intake.settings)
    assert (row["content_type"], row["size"]) == ("image/png", len(PNG))
    consultation = await intake.http.post(
        "/intake/v1/forms/consultations", data={"form": json.dumps({"text": "Apa syarat NIB?"})}
    )
    assert consultation.status_code == 201, consultation.text
    assert len(await intake.stored_rows()) == 2


FORM_PROBLEMS: dict[
    str, tuple[dict[str, Any], list[tuple[str, tuple[str, bytes, str]]], int, str]
] = {
    "short text": ({**FORM, "text": "pendek"}, [], 422, "text"),
    "no consent": ({**FORM, "consent": False}, [], 422, "consent"),
    "bad phone": ({**FORM, "contact": {"phone": "12"}}, [], 422, "contact.phone"),
    "renamed program": (
        FORM,
        [("files", ("bukti.pdf", b"MZ\x90\x00", "application/pdf"))],
        415,
        "files",
    ),
    "six files": (
        FORM,
        [("files", (f"{n}.png", PNG, "image/png")) for n in range(6)],
        422,
        "files",
    ),
}


@pytest.mark.parametrize("case", FORM_PROBLEMS, ids=list(FORM_PROBLEMS))
async def test_the_web_page_form_names_the_field_and_stores_nothing(
    intake: Intake, case: str
) -> None:
    form, files, status, field = FORM_PROBLEMS[case]
    answer = await intake.http.post(
        "/intake/v1/forms/complaints", data={"form": json.dumps(form)}, files=files or None
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in {error["field"] for error in answer.json()["errors"]}
    assert await intake.stored_rows() == []
    assert await _attachment_rows(intake.settings) == []


async def test_the_form_options_offer_categories_and_recorded_channels(intake: Intake) -> None:
    options = (await intake.http.get("/intake/v1/form-options")).json()
    assert {"id": "pungli", "label": "Pungutan liar / gratifikasi"} in options["categories"]
    assert [c["id"] for c in options["recorded_channels"]] == [
        "letter",
        "phone",
        "counter",
        "suggestion_box",
        "sms",
    ]
    assert options["max_files"] == 5


async def test_a_tracking_code_has_a_qr_code_and_a_mistyped_one_has_none(intake: Intake) -> None:
    code = (await intake.http.post("/intake/v1/complaints", json=FORM)).json()["tracking_code"]
    qr = await intake.http.get(f"/intake/v1/qr/track/{code.lower()}.svg")
    assert qr.status_code == 200
    assert qr.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in qr.content
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert (await intake.http.get(f"/intake/v1/qr/track/{wrong}.svg")).status_code == 404


def _png(size: int) -> bytes:
    """Bytes that start as a PNG does, `size` long."""
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * (size - 8)


async def test_the_web_form_takes_an_attachment_larger_than_a_json_body(intake: Intake) -> None:
    photo = _png(intake.settings.max_body_bytes + 100_000)
    answer = await intake.http.post(
        "/intake/v1/forms/complaints",
        data={"form": json.dumps(FORM)},
        files={"files": ("kuitansi.png", photo, "image/png")},
    )
    assert answer.status_code == 201, answer.text
    conn = await asyncpg.connect(intake.settings.postgres_dsn())
    try:
        stored = await conn.fetch("SELECT content_type, size FROM intake.attachments")
    finally:
        await conn.close()
    assert [tuple(row) for row in stored] == [("image/png", len(photo))]


@pytest.mark.parametrize(("size", "field"), [(120_000, "files"), (400_000, None)])
async def test_a_web_form_over_the_attachment_limit_is_a_413(
    settings: Settings, size: int, field: str | None
) -> None:
    app = create_app(settings.model_copy(update={"relay": False, "max_attachment_bytes": 100_000}))
    async with serving(app) as http:
        answer = await http.post(
            "/intake/v1/forms/consultations",
            data={"form": json.dumps({"text": "Foto berkas terlampir, mohon dicek."})},
            files={"files": ("berkas.png", _png(size), "image/png")},
        )
        intake = Intake(http, app.state.submissions, settings)
        assert await intake.stored_rows() == []
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json().get("errors", [])] == ([field] if field else [])


@pytest.mark.parametrize(
    ("complaint", "field"),
    [
        ({"text": "\u200b" * 12}, "text"),
        ({"text": "Izin\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b"}, "text"),
        ({"text": "Izin usaha saya belum selesai.", "contact": {"name": "\u200b"}}, "contact.name"),
        (
            {"text": "Izin usaha saya belum selesai.", "contact": {"address": "\u2800"}},
            "contact.address",
        ),
    ],
)
async def test_a_text_a_reader_cannot_see_is_refused(
    intake: Intake, complaint: dict[str, Any], field: str
) -> None:
    answer = await intake.http.post("/intake/v1/complaints", json=complaint)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert (error["field"], error["code"]) == (field, "too_short_visible")
    assert await intake.stored_rows() == []


async def test_a_form_body_the_framework_refuses_is_said_in_indonesian(intake: Intake) -> None:
    refusals: list[dict[str, Any]] = [
        {"content": b"x", "headers": {"content-type": "multipart/form-data"}},
        {"data": {f"f{n}": "x" for n in range(1_200)}},
        {"files": {"form": (("a" * 5_000) + ".png", b"x", "image/png")}},
    ]
    for refusal in refusals:
        answer = await intake.http.post("/intake/v1/forms/complaints", **refusal)
        assert answer.status_code in (400, 422), answer.text
        detail = answer.json()["detail"]
        assert not any(word in detail for word in ("Invalid", "Missing", "Too many", "Maximum"))
    unknown = await intake.http.post("/intake/v1/forms/keluhan", data={"form": "{}"})
    assert " or " not in unknown.text, unknown.text
    assert await intake.stored_rows() == []

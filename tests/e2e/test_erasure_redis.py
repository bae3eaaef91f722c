"""Acceptance: an erasure reaches Redis. An answer that named the person was on the live stream
(masked: the public answer leaves workflow with its personal data masked);
after the administrator's erasure no key under the test's prefix holds them, and a client that
resumes the SSE stream from its beginning (Last-Event-ID) reads none of it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import redis.asyncio as aioredis

from shared.settings import Settings
from shared.sop import Role
from tests.e2e.office import Office, office
from tests.e2e.test_erasure import NAME, NEEDLES, TEXT
from tests.intake.meta import wa_text
from tests.polling import eventually
from tests.system import running, with_free_ports

ANSWER = f"Bapak/Ibu {NAME} (0812-3456-7890): izin Anda sudah terbit hari ini."


async def readable_in_redis(settings: Settings, needles: tuple[str, ...]) -> list[str]:
    """Where any needle is found in clear in any key under the test's prefix (every type read
    through its own commands, and each key's serialised form)."""
    client = aioredis.Redis.from_url(settings.redis_url)
    found = []
    try:
        async for key in client.scan_iter(match=f"{settings.redis_prefix}*"):
            text = (await _contents(client, key)).decode("utf-8", "replace").lower()
            found += [f"{key.decode()}: {n}" for n in needles if n.lower() in text]
    finally:
        await client.aclose()
    return found


async def _contents(client: aioredis.Redis, key: bytes) -> bytes:
    kind: bytes = await client.type(key)  # type: ignore[assignment]
    reads: dict[str, Callable[[], Awaitable[Any]]] = {
        "string": lambda: client.get(key),
        "stream": lambda: client.xrange(key),
        "hash": lambda: client.hgetall(key),
        "list": lambda: client.lrange(key, 0, -1),
        "set": lambda: client.smembers(key),
        "zset": lambda: client.zrange(key, 0, -1),
    }
    value = await reads[kind.decode()]()
    dumped = await client.dump(key) or b""  # what a deleted-but-kept stream entry would show
    return repr(value).encode() + bytes(dumped)


async def _stream_types(settings: Settings, case_id: UUID) -> list[str]:
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(  # type: ignore[assignment]
            settings.redis_key("events")
        )
    finally:
        await client.aclose()
    bodies = [json.loads(fields[b"body"]) for _, fields in entries]
    return [body["type"] for body in bodies if body["subject"] == str(case_id)]


async def _answered(running: Office) -> UUID:
    """A WhatsApp complaint whose answer names the person and their phone."""
    assert (await running.intake.whatsapp(wa_text(TEXT, "wamid.R1", name=NAME))).status_code == 200
    await running.counted("whatsapp")
    [row] = await running.intake.fetch("SELECT case_id FROM intake.submission_index")
    case_id: UUID = row["case_id"]
    resolved = await running.workflow.post(
        f"/workflow/v1/cases/{case_id}/identification/resolve",
        json={"version": 1, "answer": ANSWER},
        headers=running.officer(Role.TIM_PENGADUAN),
    )
    assert resolved.status_code == 200, resolved.text
    return case_id


async def _has(settings: Settings, case_id: UUID, event: str) -> bool:
    return any(kind.endswith(f".{event}.v1") for kind in await _stream_types(settings, case_id))


async def test_erasure_leaves_nothing_of_the_person_in_redis(
    settings: Settings, tmp_path: Path
) -> None:
    async with office(settings) as present:
        configured, admin = present.settings, present.officer(Role.ADMIN)
        case_id = await _answered(present)
        assert await eventually(lambda: _has(configured, case_id, "ResolvedDirectly"), within=15)
        held = await readable_in_redis(configured, ("sudah terbit hari ini",))
        assert held != []  # the stream held the answer, its personal data masked (shared/pii.py)
        assert await readable_in_redis(configured, NEEDLES) == []
        erased = await present.intake.http.post(
            "/intake/v1/erasures", json={"phone": "+6281234567890"}, headers=admin
        )
        assert erased.status_code == 200, erased.text
        assert await eventually(lambda: _has(configured, case_id, "CaseDataErased"), within=15)
        assert await readable_in_redis(configured, NEEDLES) == []
    async with running(with_free_ports(configured), tmp_path, ["reporting"]) as system:
        url = f"{system.url('reporting')}/reporting/v1/operations/events"
        async with (
            httpx.AsyncClient(timeout=30) as http,
            http.stream("GET", url, headers={**admin, "Last-Event-ID": "0-0"}) as stream,
        ):
            assert stream.status_code == 200
            seen = await _until_erased(stream.aiter_lines())
    assert not [n for n in NEEDLES if n.lower() in seen.lower()]
    assert "CaseDataErased" in seen  # the erasure itself stays on the stream


async def _until_erased(lines: AsyncIterator[str]) -> str:
    """The stream's text from its beginning up to the case's CaseDataErased event."""
    seen: list[str] = []
    async with asyncio.timeout(20):
        async for line in lines:
            seen.append(line)
            if line.startswith("event:") and "CaseDataErased" in line:
                break
    return "\n".join(seen)

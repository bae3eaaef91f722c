"""Webhook submissions/s per channel, signatures checked, against the bare-insert baseline.

    .venv/bin/python bench/intake_channels.py

Starts what it needs (its own database, vhost and Redis prefix; intake as a process, as
`make up` runs it, relay included, a fresh one per channel) and stops it. Every request is a
new message from a new sender, signed as Meta signs it (X-Hub-Signature-256 over the raw
body) or carrying LAPOR!'s bearer token, so each one is a new submission committed before
its 200/201. The baseline is bench/baseline.py (a bare FastAPI endpoint, one asyncpg INSERT
per request) in the same run. Outbound is left unconfigured: receipts are queued in the same
commit, not sent. The last line is one JSON object of the figures.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Load, isolated, process
from services.intake.channels.meta import signature
from shared.settings import Settings

CONCURRENCY = 32
SECONDS = 8.0
WARMUP = 2.0
WA_SECRET, IG_SECRET, LAPOR_TOKEN = "bench-wa", "bench-ig", "bench-lapor"
TEXT = "Izin usaha saya belum selesai setelah tiga minggu, mohon ditindaklanjuti."

FORM_HEADERS = {"content-type": "application/json"}

Request = tuple[str, bytes, dict[str, str]]
MESSAGES = itertools.count()  # every request of the run, warm-up included, is a new message


def whatsapp(n: int) -> Request:
    """A new sender's text message, signed."""
    sender = f"62812{n:08d}"
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"phone_number_id": "106540352242922"},
                                "contacts": [{"profile": {"name": "Pemohon"}, "wa_id": sender}],
                                "messages": [
                                    {
                                        "from": sender,
                                        "id": f"wamid.bench{n}",
                                        "timestamp": str(int(time.time())),
                                        "type": "text",
                                        "text": {"body": TEXT},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    return "/intake/v1/webhooks/whatsapp", body, _signed(WA_SECRET, body)


def instagram(n: int) -> Request:
    """A new sender's direct message, signed."""
    now = int(time.time() * 1000)
    body = json.dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": "17841405822304914",
                    "time": now,
                    "messaging": [
                        {
                            "sender": {"id": f"bench{n}"},
                            "recipient": {"id": "17841405822304914"},
                            "timestamp": now,
                            "message": {"mid": f"mid.bench{n}", "text": TEXT},
                        }
                    ],
                }
            ],
        }
    ).encode()
    return "/intake/v1/webhooks/instagram", body, _signed(IG_SECRET, body)


def lapor(n: int) -> Request:
    """A disposed complaint with LAPOR!'s token."""
    body = json.dumps({"tracking_id": f"LAP-BENCH-{n}", "content": TEXT}).encode()
    headers = FORM_HEADERS | {"authorization": f"Bearer {LAPOR_TOKEN}"}
    return "/intake/v1/lapor/complaints", body, headers


def bare(n: int) -> Request:
    """The baseline's request."""
    return "/intake/v1/complaints", json.dumps({"text": TEXT}).encode(), FORM_HEADERS


def _signed(secret: str, body: bytes) -> dict[str, str]:
    return FORM_HEADERS | {"x-hub-signature-256": signature(secret, body)}


async def saturate(base: str, make: Callable[[int], Request], seconds: float) -> Load:
    """`CONCURRENCY` clients back to back, each request a new message."""
    result = Load(seconds)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < stop:
                path, body, headers = make(next(MESSAGES))
                started = time.perf_counter()
                async with session.post(base + path, data=body, headers=headers) as answer:
                    await answer.read()
                if 200 <= answer.status < 300:
                    result.latencies.append(time.perf_counter() - started)
                else:
                    result.failures += 1

        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return result


def configured(settings: Settings) -> Settings:
    """Channels on, abuse limits out of the way of a load test."""
    return settings.model_copy(
        update={
            "whatsapp_app_secret": SecretStr(WA_SECRET),
            "instagram_app_secret": SecretStr(IG_SECRET),
            "lapor_inbound_token": SecretStr(LAPOR_TOKEN),
            "rate_ip_per_minute": 10_000_000,
            "rate_sender_per_minute": 10_000_000,
            "log_level": "warning",
        }
    )


async def main() -> dict[str, float]:
    channels = {"whatsapp": whatsapp, "instagram": instagram, "lapor": lapor}
    figures: dict[str, float] = {"concurrency": CONCURRENCY}
    async with isolated() as settings:
        base = f"http://127.0.0.1:{settings.intake_port}"
        async with process("bench.baseline", settings, f"{base}/readyz"):
            await saturate(base, bare, WARMUP)
            baseline = await saturate(base, bare, SECONDS)
        figures["bare_insert_rate"] = round(baseline.rate, 1)
        for name, make in channels.items():  # a fresh process each: no backlog carried over
            async with process("services.intake", configured(settings), f"{base}/readyz"):
                await saturate(base, make, WARMUP)
                load = await saturate(base, make, SECONDS)
                figures[f"{name}_rate"] = round(load.rate, 1)
                figures[f"{name}_p50_ms"] = round(load.percentile(50), 2)
                figures[f"{name}_p99_ms"] = round(load.percentile(99), 2)
                figures[f"{name}_failures"] = load.failures
                figures[f"{name}_vs_bare_insert_ratio"] = round(load.rate / baseline.rate, 3)
    return figures


if __name__ == "__main__":
    result = asyncio.run(main())
    for name, value in result.items():
        print(f"{name:>36}: {value}")
    print(json.dumps(result))

"""Acceptance: a complaint posted to intake shows in the rekap and public tracking."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from shared.settings import Settings
from tests.polling import eventually
from tests.system import running, with_free_ports

FORM = {
    "text": "Izin usaha saya belum selesai setelah tiga minggu.",
    "category": "perizinan_berusaha",
    "contact": {"name": "Siti Aminah", "phone": "0812-3456-7890", "email": "siti@example.id"},
    "consent": True,
}


async def test_complaint_travels_from_intake_to_rekap_and_tracking(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_free_ports(settings)
    async with running(settings, tmp_path) as system, httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{system.url('intake')}/intake/v1/complaints", json=FORM)
        assert answer.status_code == 201, answer.text
        code = answer.json()["tracking_code"]
        year = datetime.now(ZoneInfo(settings.timezone)).year
        rekap_url = f"{system.url('reporting')}/reporting/v1/rekap?year={year}"

        async def counted() -> bool:
            rekap = (await http.get(rekap_url)).json()
            return bool(rekap["total"] == 1 and rekap["rows"][0]["channel"] == "web")

        async def tracked() -> dict[str, str] | None:
            reply = await http.get(f"{system.url('reporting')}/reporting/v1/track/{code}")
            body: dict[str, str] = reply.json()
            return body if body.get("current_step") == "identification" else None

        assert await eventually(counted, within=10)
        tracking = await eventually(tracked, within=10)
        assert tracking is not None
        assert tracking["kind"] == "complaint"
        assert tracking["status"] == "in_progress"
        assert "Siti" not in str(tracking)
        assert "0812" not in str(tracking)

        async def measured() -> bool:  # the gauges refresh every 15 s
            text = (await http.get(f"{system.url('reporting')}/metrics")).text
            return "aduan_dead_letters{" in text and "aduan_cases_overdue{" in text

        assert await eventually(measured, within=30)
        families = {
            "intake": (
                "aduan_events_stored_total",
                "aduan_events_published_total",
                "aduan_relay_lag",
            ),
            "workflow": (
                "aduan_events_consumed_total",
                "aduan_events_stored_total",
                "aduan_clock_scans",
            ),
            "reporting": ("aduan_queue_depth", "aduan_events_consumed_total", "aduan_http_request"),
        }
        for service, names in families.items():
            text = (await http.get(f"{system.url(service)}/metrics")).text
            assert all(name in text for name in names), (service, names)
            assert (await http.get(f"{system.url(service)}/healthz")).status_code == 200

"""The SP4N-LAPOR! adapter: what we push back to the national system.

Its agency API is not public: the contract below is ASSUMED (docs/lapor.md). Everything that
talks to LAPOR! goes through the `LaporApi` protocol, so the real client can be swapped in
without touching the rest; tests run a local stand-in speaking the assumed HTTP API.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from shared.settings import Settings


class LaporUnavailable(Exception):
    """LAPOR! did not take the follow-up; the delivery is retried."""


class LaporApi(Protocol):
    """What intake needs from SP4N-LAPOR!."""

    async def follow_up(
        self, *, lapor_id: str, tracking_code: str, message: str, closed: bool
    ) -> None:
        """Post a follow-up (tindak lanjut) on a complaint LAPOR! disposed to us."""


class HttpLapor:
    """The assumed REST API: POST {base}/complaints/{id}/follow-ups with a bearer token."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.base = settings.lapor_url.rstrip("/")
        self.token = settings.lapor_token.get_secret_value()
        self.client = client

    async def follow_up(
        self, *, lapor_id: str, tracking_code: str, message: str, closed: bool
    ) -> None:
        """One follow-up; LaporUnavailable unless LAPOR! answers 2xx."""
        try:
            answer = await self.client.post(
                f"{self.base}/complaints/{lapor_id}/follow-ups",
                json={
                    "message": message,
                    "status": "selesai" if closed else "proses",
                    "reference": tracking_code,
                },
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx.HTTPError as error:
            raise LaporUnavailable(type(error).__name__) from error
        if not answer.is_success:
            raise LaporUnavailable(f"HTTP {answer.status_code}")

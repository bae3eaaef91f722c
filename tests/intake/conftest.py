"""An intake desk for channel tests: the app in-process with its channels configured against
local stand-ins (Graph API, LAPOR!), officer tokens, signed webhooks, what was stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from pydantic import SecretStr

from services.intake.app import create_app
from services.intake.channels.meta import signature
from services.workflow.issuer import Issuer
from shared.settings import Settings
from shared.sop import Role
from tests.conftest import serving
from tests.intake.meta import IG_ACCOUNT_ID, PHONE_NUMBER_ID
from tests.intake.standins import HttpStandIn, http_standin

WA_SECRET = "wa-app-secret"
IG_SECRET = "ig-app-secret"
LAPOR_INBOUND = "token-dari-lapor"


def signing_key() -> str:
    """A fresh ES256 key in PEM, shared by the issuer and every verifier of a test."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


def channel_settings(settings: Settings, standin_url: str, **extra: Any) -> Settings:
    """Every channel configured, outbound against the stand-in."""
    secret = SecretStr
    return settings.model_copy(
        update={
            "whatsapp_app_secret": secret(WA_SECRET),
            "whatsapp_verify_token": secret("verify-wa"),
            "whatsapp_access_token": secret("wa-access-token"),
            "whatsapp_phone_number_id": PHONE_NUMBER_ID,
            "instagram_app_secret": secret(IG_SECRET),
            "instagram_verify_token": secret("verify-ig"),
            "instagram_access_token": secret("ig-access-token"),
            "instagram_account_id": IG_ACCOUNT_ID,
            "graph_api_url": standin_url,
            "lapor_url": f"{standin_url}/lapor",
            "lapor_token": secret("token-untuk-lapor"),
            "lapor_inbound_token": secret(LAPOR_INBOUND),
            "auth_signing_key": secret(signing_key()),
            "delivery_poll_seconds": 0.2,
            **extra,
        }
    )


@dataclass
class Desk:
    """The intake API with its stand-ins."""

    http: httpx.AsyncClient
    app: FastAPI
    settings: Settings
    graph: HttpStandIn

    async def signed(self, path: str, payload: Any, secret: str, **headers: str) -> httpx.Response:
        """POST a payload signed as Meta signs it."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {"content-type": "application/json", "x-hub-signature-256": signature(secret, body)}
        return await self.http.post(path, content=body, headers=sent | headers)

    async def whatsapp(self, payload: Any, **headers: str) -> httpx.Response:
        """A signed WhatsApp notification."""
        return await self.signed("/intake/v1/webhooks/whatsapp", payload, WA_SECRET, **headers)

    async def instagram(self, payload: Any, **headers: str) -> httpx.Response:
        """A signed Instagram notification."""
        return await self.signed("/intake/v1/webhooks/instagram", payload, IG_SECRET, **headers)

    def officer(self, *roles: Role, agency: str | None = None) -> dict[str, str]:
        """Authorization for an officer with these roles in `agency` (the home agency's)."""
        issuer = Issuer(self.settings, self.settings.auth_signing_key.get_secret_value())
        subject = f"{roles[0].value}-{agency or 1}"
        token = issuer.mint(subject=subject, name="Petugas", roles=list(roles), agency=agency)
        return {"Authorization": f"Bearer {token}"}

    async def submission(self, code: str) -> dict[str, Any]:
        """The submission with this tracking code, as the complaints team reads it."""
        [row] = await self.fetch(
            "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1", code
        )
        view = await self.http.get(
            f"/intake/v1/submissions/{row['case_id']}", headers=self.officer(Role.TIM_PENGADUAN)
        )
        assert view.status_code == 200, view.text
        return dict(view.json())

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Rows of a query on the test database."""
        conn = await asyncpg.connect(self.settings.postgres_dsn())
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def events(self) -> list[str]:
        """The stored event topics, oldest first."""
        rows = await self.fetch(
            "SELECT topic FROM intake.submissions_events ORDER BY notification_id"
        )
        return [row["topic"].rsplit(".", 1)[-1] for row in rows]


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Desk]:
    async with http_standin() as graph:
        configured = channel_settings(settings, graph.url, relay=False)
        app = create_app(configured)
        async with serving(app) as http:
            yield Desk(http, app, configured, graph)

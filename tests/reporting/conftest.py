"""Reporting in this process, fed through the real broker, with tokens from a test issuer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from services.reporting.app import create_app
from shared.settings import Settings
from shared.sop import Role
from tests.bus import Bus, bus
from tests.conftest import serving


@dataclass
class Desk:
    """The reporting API, the bus to feed it, and a way to sign officers' tokens."""

    http: httpx.AsyncClient
    bus: Bus
    settings: Settings
    key: ec.EllipticCurvePrivateKey

    def headers(self, *roles: Role) -> dict[str, str]:
        now = datetime.now(UTC)
        claims = {
            "iss": self.settings.auth_issuer,
            "aud": self.settings.auth_audience,
            "sub": f"{roles[0].value}-1",
            "roles": [role.value for role in roles],
            "agency": self.settings.agency,
            "iat": now,
            "exp": now + timedelta(hours=1),
        }
        return {"Authorization": "Bearer " + jwt.encode(claims, self.key, algorithm="ES256")}


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Desk]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    configured = settings.model_copy(update={"auth_signing_key": SecretStr(pem)})
    async with serving(create_app(configured)) as http, bus(configured) as connected:
        yield Desk(http, connected, configured, key)

"""Reporting in this process, fed through the real broker, with tokens from a test issuer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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
from tests.system import System, with_free_ports
from tests.tcp_proxy import TcpProxy


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


@dataclass
class Away:
    """Reporting as a process whose PostgreSQL and Redis are proxies the test can cut or
    freeze; the bus that feeds it; officers' tokens."""

    desk: Desk
    postgres: TcpProxy
    redis: TcpProxy
    system: System

    def environment(self) -> dict[str, str]:
        """What points reporting at the proxies."""
        redis = urlsplit(self.desk.settings.redis_url)._replace(
            netloc=f"127.0.0.1:{self.redis.port}"
        )
        return {
            "ADUAN_POSTGRES_PORT": str(self.postgres.port),
            "ADUAN_REDIS_URL": urlunsplit(redis),
        }

    async def restart(self) -> None:
        """Stop reporting and start it again, behind the same proxies."""
        await self.system.stop("reporting")
        await self.system.start("reporting", self.environment())
        self.desk.http.base_url = httpx.URL(self.system.url("reporting"))


@pytest.fixture
async def away(settings: Settings, tmp_path: Path) -> AsyncIterator[Away]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    configured = with_free_ports(settings).model_copy(
        update={"auth_signing_key": SecretStr(pem), "internal_token": SecretStr("rahasia")}
    )
    redis = urlsplit(configured.redis_url)
    proxies = (
        TcpProxy(configured.postgres_host, configured.postgres_port),
        TcpProxy(redis.hostname or "127.0.0.1", redis.port or 6379),
    )
    for proxy in proxies:
        await proxy.start()
    system = System(configured, tmp_path)
    try:
        async with (
            bus(configured) as connected,
            httpx.AsyncClient(base_url=system.url("reporting"), timeout=30) as http,
        ):
            outage = Away(Desk(http, connected, configured, key), *proxies, system)
            await system.start("reporting", outage.environment())
            http.base_url = httpx.URL(system.url("reporting"))
            yield outage
    finally:
        for proxy in proxies:
            proxy.thaw()
            await proxy.stop()
        for service in list(system.processes):
            await system.stop(service)

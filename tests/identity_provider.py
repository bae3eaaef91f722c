"""A real OpenID Connect provider for the tests: panva's oidc-provider (tests/oidc_provider/),
installed by `npm ci --prefix tests/oidc_provider` (`make test`'s preflight does it) and run
with Node.js.

Its test users carry their groups (the provider's role names) and agency as claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from tests.infrastructure import free_port
from tests.polling import eventually

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
CLIENT_ID = "aduan-uji"
PUBLIC_CLIENT_ID = "aduan-uji-publik"  # no secret: PKCE alone guards its codes
CLIENT_SECRET = "rahasia-klien-uji-0123456789"  # the test client's own
SCOPES = "openid profile aduan"
ROLE_MAP = {"aduan-kabid": "kabid", "aduan-tim-pengaduan": "tim_pengaduan"}
USERS: dict[str, dict[str, Any]] = {
    "tim.andi": {
        "name": "Andi Saputra",
        "groups": ["pegawai", "aduan-tim-pengaduan"],
        "agency": "dpmptsp-gresik",
    },
    "kabid.sri": {"name": "Sri Wahyuni", "groups": ["aduan-kabid"], "agency": "dpmptsp-gresik"},
    "tamu": {"name": "Tamu Kantor", "groups": ["pegawai"], "agency": "dpmptsp-gresik"},
    "luar.kabid": {"name": "Kabid Luar", "groups": ["aduan-kabid"], "agency": "dpmptsp-lain"},
    # An officer of two agencies (and of one this deployment does not serve), a role in each.
    "dua.dinas": {
        "name": "Dewi Dua Dinas",
        "groups": [],
        "agency": {
            "dpmptsp-gresik": ["aduan-tim-pengaduan"],
            "dinas-a": ["aduan-kabid"],
            "dinas-jauh": ["aduan-kabid"],
        },
    },
}


@dataclass
class OidcProvider:
    """The running provider: its issuer and the log it writes."""

    issuer: str
    log: Path

    def settings(self, *, public: bool = False) -> dict[str, Any]:
        """The ADUAN_OIDC_* settings that sign officers in here (as the confidential client,
        or as the public one)."""
        return {
            "oidc_issuer": self.issuer,
            "oidc_client_id": PUBLIC_CLIENT_ID if public else CLIENT_ID,
            "oidc_client_secret": SecretStr("" if public else CLIENT_SECRET),
            "oidc_scopes": SCOPES,
            "oidc_roles_claim": "groups",
            "oidc_agency_claim": "agency",
            "oidc_role_map": ROLE_MAP,
        }


@contextlib.asynccontextmanager
async def oidc_provider(
    redirect_uri: str, logs: Path, port: int | None = None
) -> AsyncIterator[OidcProvider]:
    """The provider (on a free port unless given), with a confidential and a public client for
    this redirect URI and a signing key of its own, made at start."""
    node = shutil.which("node")
    installed = (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir()
    if node is None or not installed:
        raise AssertionError(
            "The OpenID Connect provider of the tests is not installed: "
            "run `npm ci --prefix tests/oidc_provider` (Node.js 20.19 or newer)."
        )
    port = port or free_port()
    issuer = f"http://127.0.0.1:{port}"
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    public = {k: v for k, v in client.items() if k != "client_secret"} | {
        "client_id": PUBLIC_CLIENT_ID,
        "token_endpoint_auth_method": "none",
    }
    config = logs / "oidc-provider.json"
    clients = [client, public]
    config.write_text(
        json.dumps({"issuer": issuer, "port": port, "clients": clients, "users": USERS})
    )
    log = logs / "oidc-provider.log"
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            node, str(PROVIDER_DIR / "provider.mjs"), str(config), stdout=out, stderr=out
        )

    async def up() -> bool:
        if process.returncode is not None:
            raise AssertionError(f"the OIDC provider exited:\n{log.read_text()}")
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                answer = await http.get(f"{issuer}/.well-known/openid-configuration")
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    try:
        await eventually(up, within=30, interval=0.1)
        yield OidcProvider(issuer, log)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()

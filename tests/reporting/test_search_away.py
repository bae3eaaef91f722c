"""The case search while intake is away: a search by what only intake holds answers 503 (never
an empty list that would read "not found"); the rest of the search still answers."""

from __future__ import annotations

import socket

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from services.reporting.app import create_app
from shared.settings import Settings
from shared.sop import Role
from tests.bus import bus
from tests.conftest import serving
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.samples import complaint_received


def _closed_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_criteria_held_by_intake_answer_503_while_it_is_away(settings: Settings) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    configured = settings.model_copy(
        update={
            "auth_signing_key": SecretStr(pem),
            "intake_url": f"http://127.0.0.1:{_closed_port()}",
        }
    )
    received = complaint_received(agency=configured.agency)
    async with serving(create_app(configured)) as http, bus(configured) as connected:
        await connected.publish(received)
        officer = Desk(http, connected, configured, key).headers(Role.TIM_PENGADUAN)

        async def listed() -> bool:
            answer = await http.get("/reporting/v1/cases", headers=officer)
            return answer.status_code == 200 and len(answer.json()) == 1

        assert await eventually(listed, within=15)
        [row] = (await http.get("/reporting/v1/cases", headers=officer)).json()
        assert row["excerpt"] is None  # no excerpt, but the list
        for params in ({"phone": "081234567890"}, {"q": "izin"}, {"letter": "1/2026"}):
            answer = await http.get("/reporting/v1/cases", params=params, headers=officer)
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.headers["retry-after"]

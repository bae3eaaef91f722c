"""The one token verifier every service uses, against an OIDC-like issuer serving its JWKS."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from redis import asyncio as aioredis

from shared import auth
from shared.auth import Forbidden, Revocations, TokenVerifier, Unauthenticated
from shared.settings import Settings
from shared.sop import Role
from tests.infrastructure import free_port
from tests.polling import eventually


@dataclass
class Provider:
    """An identity provider: its signing keys, a JWKS endpoint, and how often it was asked."""

    url: str = ""
    keys: dict[str, ec.EllipticCurvePrivateKey] = field(default_factory=dict)
    fetches: int = 0

    def add_key(self, kid: str) -> None:
        """Publish a new key (a rotation)."""
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())

    async def jwks(self, _: web.Request) -> web.Response:
        """The JWKS document, counted."""
        self.fetches += 1
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "ES256"})
        return web.json_response({"keys": keys})

    def token(self, kid: str, signer: str | None = None, **claims: Any) -> str:
        """A token signed with key `signer` (default: kid's own) and these claims over the usual."""
        now = datetime.now(UTC)
        body = {
            "iss": "https://sso.example",
            "aud": "aduan",
            "sub": "rina",
            "roles": [Role.TIM_PENGADUAN.value],
            "agency": "dpmptsp-gresik",
            "iat": now,
            "exp": now + timedelta(minutes=30),
        } | claims
        body = {key: value for key, value in body.items() if value is not None}
        key = self.keys[signer or kid]
        return jwt.encode(body, key, algorithm="ES256", headers={"kid": kid})


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    """The provider's JWKS endpoint on a free local port."""
    served = Provider()
    served.add_key("a")
    app = web.Application()
    app.router.add_get("/jwks.json", served.jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    served.url = f"http://127.0.0.1:{port}/jwks.json"
    try:
        yield served
    finally:
        await runner.cleanup()


def _verifier(provider: Provider, **settings: Any) -> TokenVerifier:
    configured = Settings(
        agency="dpmptsp-gresik",
        auth_jwks_url=provider.url,
        auth_issuer="https://sso.example",
        auth_audience="aduan",
        **settings,
    )
    return TokenVerifier(configured)


async def test_a_good_token_of_the_provider_is_accepted(provider: Provider) -> None:
    officer = await _verifier(provider).verify(provider.token("a"))
    assert officer.id == "rina"
    assert officer.roles == {Role.TIM_PENGADUAN}


async def test_a_token_of_another_agency_is_refused(provider: Provider) -> None:
    with pytest.raises(Forbidden, match="instansi lain"):
        await _verifier(provider).verify(provider.token("a", agency="dinkes-gresik"))
    with pytest.raises(Forbidden):
        await _verifier(provider).verify(provider.token("a", agency=None))


async def test_a_token_lists_the_officers_agencies_with_the_roles_in_each(
    provider: Provider,
) -> None:
    asked_again = []

    async def served(again: bool) -> list[str]:
        asked_again.append(again)
        return ["dinkes-gresik"]

    verifier = TokenVerifier(_verifier(provider).settings, agencies=served)
    memberships = {"dinkes-gresik": ["kabid"], "dinas-jauh": ["admin"]}
    officer = await verifier.verify(provider.token("a", memberships=memberships))
    assert asked_again == [False, True]  # "dinas-jauh" unknown: read once more, then dropped
    assert officer.agency == "dpmptsp-gresik"
    assert officer.roles == {Role.TIM_PENGADUAN}
    assert officer.roles_in("dinkes-gresik") == {Role.KABID}
    assert officer.reach == frozenset({"dpmptsp-gresik", "dinkes-gresik"})  # not served: out
    acting_there = await verifier.verify(provider.token("a", agency="dinkes-gresik"))
    assert acting_there.agency == "dinkes-gresik"
    province = await verifier.verify(provider.token("a", agency="*", roles=["koordinator"]))
    assert province.reach is None
    assert province.roles_in("dinkes-gresik") == {Role.KOORDINATOR}
    with pytest.raises(Forbidden, match="instansi lain"):
        await verifier.verify(provider.token("a", agency="dinas-jauh"))
    for malformed in (["kabid"], {"dinkes-gresik": "kabid"}, {"dinkes-gresik": ["raja"]}):
        with pytest.raises(Unauthenticated):
            await verifier.verify(provider.token("a", memberships=malformed))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": datetime.now(UTC) + timedelta(days=36500)}, "terlalu panjang"),
        ({"iat": None}, "iat"),
        (
            {
                "iat": datetime.now(UTC) + timedelta(hours=1),
                "exp": datetime.now(UTC) + timedelta(hours=2),
            },
            "akan datang",
        ),
        ({"exp": datetime.now(UTC) - timedelta(minutes=5)}, "kedaluwarsa"),
    ],
)
async def test_a_token_that_lives_too_long_or_lacks_iat_is_refused(
    provider: Provider, claims: dict[str, Any], reason: str
) -> None:
    with pytest.raises(Unauthenticated, match=reason):
        await _verifier(provider).verify(provider.token("a", **claims))


@pytest.mark.parametrize(
    "claims",
    [
        {"agency": ["dpmptsp-gresik"]},
        {"agency": {"a": 1}},
        {"agency": 5},
        {"roles": 5},
        {"roles": {"admin": 1}},
        {"sub": ["rina"]},
        {"sub": ""},
        {"name": {"first": "Rina"}},
        {"memberships": {"dinkes-gresik": [["kabid"]]}},
    ],
)
async def test_a_signed_token_with_a_claim_of_the_wrong_shape_is_refused(
    provider: Provider, claims: dict[str, Any]
) -> None:
    """A list or an object where a name is meant (an issuer misconfigured) is a 401 saying so;
    an agency given as a list was a TypeError in every service (500)."""
    with pytest.raises(Unauthenticated, match="Token tidak sah"):
        await _verifier(provider).verify(provider.token("a", **claims))


async def test_unknown_kids_fetch_the_jwks_at_most_once_per_interval(provider: Provider) -> None:
    verifier = _verifier(provider, auth_jwks_refresh_seconds=1.0)
    await verifier.verify(provider.token("a"))
    assert provider.fetches == 1
    provider.add_key("stranger")
    for n in range(30):
        with pytest.raises(Unauthenticated):
            await verifier.verify(provider.token(f"kid-{n}", signer="stranger"))
    assert provider.fetches == 1  # the same second: nobody could make us fetch again
    provider.add_key("b")  # the provider rotates its key

    async def accepted() -> bool:
        try:
            await verifier.verify(provider.token("b"))
        except Unauthenticated:
            return False
        return True

    await eventually(accepted, within=5, interval=0.05)
    assert 2 <= provider.fetches <= 3  # one more fetch for the new kid after the interval
    for n in range(30):
        with pytest.raises(Unauthenticated):
            await verifier.verify(provider.token(f"kid-{n}", signer="stranger"))
    assert provider.fetches <= 3


async def test_requests_arriving_together_wait_for_the_one_fetch(provider: Provider) -> None:
    verifier = _verifier(provider)
    officers = await asyncio.gather(*(verifier.verify(provider.token("a")) for _ in range(10)))
    assert {officer.id for officer in officers} == {"rina"}
    assert provider.fetches == 1


async def test_a_token_verified_before_its_key_was_withdrawn_is_refused_after(
    provider: Provider,
) -> None:
    verifier = _verifier(provider, auth_jwks_refresh_seconds=1.0)
    old = provider.token("a")
    assert (await verifier.verify(old)).id == "rina"  # verified once, remembered
    provider.keys = {}
    provider.add_key("b")  # the provider withdraws key a

    async def rotated() -> bool:
        try:
            await verifier.verify(provider.token("b"))
        except Unauthenticated:
            return False
        return True

    await eventually(rotated, within=5, interval=0.05)
    with pytest.raises(Unauthenticated):
        await verifier.verify(old)


@pytest.fixture
async def redis_pair(settings: Settings) -> AsyncIterator[tuple[aioredis.Redis, aioredis.Redis]]:
    """A client of a server that accepts connections and never answers (a host gone, a frozen
    Redis), and one of the test's own Redis."""
    held: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    mute = aioredis.Redis(host="127.0.0.1", port=server.sockets[0].getsockname()[1])
    answering = aioredis.from_url(settings.redis_url)
    try:
        yield mute, answering
    finally:
        await mute.aclose()
        await answering.aclose()
        server.close()
        for writer in held:
            writer.close()


async def test_a_silent_redis_delays_one_request_for_token_marks_not_each(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    redis_pair: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """Redis that accepts connections and never answers (a host gone, a frozen server): the
    first read of a mark waits its short deadline, the requests after it read none for a
    while, then it is read again and a mark counts once Redis answers."""
    mute, answering = redis_pair
    monkeypatch.setattr(auth, "AWAY_SECONDS", 1.0)
    revocations = Revocations(settings, mute)
    started = time.monotonic()
    assert await revocations.valid_since("uji-satu") is None
    first = time.monotonic() - started
    assert first >= auth.REDIS_SECONDS * 0.9

    started = time.monotonic()
    for number in range(20):  # twenty officers' requests
        assert await revocations.valid_since(f"uji-{number}") is None
    assert time.monotonic() - started < auth.REDIS_SECONDS  # not one waited for Redis

    await Revocations(settings, answering).revoke("uji-dua")
    revocations.redis = answering  # Redis answers again

    async def marked() -> bool:
        return await revocations.valid_since("uji-dua") is not None

    assert await eventually(marked, within=5, interval=0.1)


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("abc.def.ghi", "bentuknya tidak dapat dibaca"),
        ("not-a-token", "bentuknya tidak dapat dibaca"),
    ],
)
async def test_an_unreadable_token_is_refused_in_plain_indonesian(
    provider: Provider, token: str, said: str
) -> None:
    with pytest.raises(Unauthenticated) as refused:
        await _verifier(provider).verify(token)
    assert str(refused.value) == f"Token tidak sah: {said}."


async def test_a_token_for_another_audience_or_with_an_unknown_role_says_so(
    provider: Provider,
) -> None:
    verifier = _verifier(provider)
    with pytest.raises(Unauthenticated, match="ditujukan untuk aplikasi lain"):
        await verifier.verify(provider.token("a", aud="lain"))
    with pytest.raises(Unauthenticated, match="peran atau keanggotaan yang tidak dikenal"):
        await verifier.verify(provider.token("a", roles=["raja"]))


async def test_a_mark_read_before_redis_went_silent_still_counts(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    redis_pair: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """An account disabled a minute ago, its mark read then: Redis going silent does not let
    its old tokens count again."""
    mute, answering = redis_pair
    monkeypatch.setattr(auth, "MARK_SECONDS", 0.0)  # every request reads Redis again
    revocations = Revocations(settings, answering)
    await revocations.revoke("uji-tiga")
    mark = await revocations.valid_since("uji-tiga")
    assert mark is not None
    revocations.redis = mute
    assert await revocations.valid_since("uji-tiga") == mark  # the read failed: the last
    assert await revocations.valid_since("uji-tiga") == mark  # away: not asked, the last
    assert await revocations.valid_since("uji-empat") is None  # never read: none known

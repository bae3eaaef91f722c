"""Officers and their bearer tokens: JWTs verified against the issuer's published keys.

A token speaks for an officer acting in one agency (`agency`, with their `roles` there) and
may list every agency they belong to with the roles in each (`memberships`: {agency:
[roles]}; the agency `*` reaches every agency: the provincial coordinator's). It is accepted
when its agency is one the deployment serves; memberships of agencies it does not serve are
left out.

The issuer is an OIDC provider's JWKS URL, static public keys from the settings, or, by
default, the built-in issuer of the workflow service (its JWKS at /workflow/v1/auth/jwks.json).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections import OrderedDict
from typing import Annotated, Any

import httpx
import jwt
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    BaseModel,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
)
from redis.exceptions import RedisError

from shared.agencies import Served
from shared.problems import Problem
from shared.settings import Settings
from shared.sop import PROVINCE, PROVINCE_ROLES, Role
from shared.sop import Officer as Officer  # defined beside the roles; re-exported

log = logging.getLogger(__name__)

ALGORITHMS = ["ES256", "RS256"]
_JWKS_TTL_SECONDS = 300.0
_VERIFIED_CACHE_SIZE = 1024  # tokens verified lately (an office's officers, each a token or two)
_LEEWAY_SECONDS = 60  # clocks of the issuer and of this host may differ this much
_FUTURE = "Token tidak sah: diterbitkan pada waktu yang akan datang."
_WHY: tuple[tuple[type[Exception], str], ...] = (
    (jwt.InvalidSignatureError, "tanda tangannya tidak cocok"),
    (jwt.InvalidAudienceError, "ditujukan untuk aplikasi lain"),
    (jwt.InvalidIssuerError, "diterbitkan oleh penerbit lain"),
    (jwt.InvalidAlgorithmError, "algoritmanya tidak diterima"),
    (jwt.DecodeError, "bentuknya tidak dapat dibaca"),
    (jwt.PyJWTError, "isinya tidak dapat diterima"),
    (ValueError, "memuat peran atau keanggotaan yang tidak dikenal"),
)
"""What each of the library's refusals of a token means, said to the officer (its own words are
English, and may quote the token's bytes)."""


def _why(error: Exception) -> str:
    return next(said for kind, said in _WHY if isinstance(error, kind))


class Unauthenticated(Problem):
    """No token, or one that does not verify: 401."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            401, detail, code="unauthenticated", headers={"WWW-Authenticate": "Bearer"}
        )


class Forbidden(Problem):
    """A valid officer whose roles do not allow this: 403."""

    def __init__(self, detail: str) -> None:
        super().__init__(403, detail, code="forbidden")


def loopback(host: str | None) -> bool:
    """Whether a host (an address, or "localhost") is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _static_keys(text: str) -> dict[str | None, Any]:
    """Keys from a JWKS document or from PEM public keys (keyed by kid, None for PEM)."""
    text = text.strip()
    if text.startswith("{"):
        jwks = jwt.PyJWKSet.from_dict(json.loads(text))
        return {key.key_id: key.key for key in jwks.keys}
    keys: dict[str | None, Any] = {}
    for block in text.split("-----END PUBLIC KEY-----"):
        if block.strip():
            pem = (block.strip() + "\n-----END PUBLIC KEY-----\n").encode()
            keys[None] = serialization.load_pem_public_key(pem)
    return keys


def public_keys_of(signing_key_pem: str) -> dict[str | None, Any]:
    """The public half of a PEM private key."""
    private = serialization.load_pem_private_key(signing_key_pem.encode(), password=None)
    return {None: private.public_key()}


class _Claims(BaseModel):
    """The claims a token is read for, each of its type: a list or an object where a name or
    a number is meant refuses the token (401); read as if typed, it was a 500 (an unhashable
    agency) or an odd officer (an id "['a']")."""

    sub: Annotated[StrictStr, StringConstraints(min_length=1)]
    name: StrictStr | None = None
    agency: StrictStr | None = None  # none: the token is for no agency here (403)
    roles: list[Role] = Field(default_factory=list)
    memberships: dict[StrictStr, list[Role]] | None = None  # {agency: [roles]}
    iat: StrictInt | StrictFloat
    exp: StrictInt | StrictFloat


def _unreadable(error: ValidationError) -> str:
    """Why the claims were refused, in the officer's words."""
    named = sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]})
    if set(named) <= {"roles", "memberships"}:
        return _why(ValueError())
    return f"klaim {', '.join(named)} tidak berbentuk yang semestinya"


REVOKED = "Token ini tidak berlaku lagi: akun Anda diubah atau dinonaktifkan; silakan masuk lagi."
REDIS_SECONDS = 0.3
MARK_SECONDS = 1.0
"""How long a service keeps an account's mark before it reads Redis again."""
AWAY_SECONDS = 5.0
"""How long after a failed read of a mark a service reads none (Redis silent: no request
waits REDIS_SECONDS for it meanwhile)."""


class Revocations:
    """When each account's tokens stopped counting: the workflow service marks an account when
    an administrator disables it, changes its roles, agency or memberships or resets its
    password; every service refuses a token of that account issued before the mark. Kept in
    Redis (shared by the services) for as long as any token lives; a service reads an account's
    mark at most once per MARK_SECONDS. With Redis away no mark is read (logged once): the
    marks read before still count, other tokens count until they expire, as without marks."""

    def __init__(self, settings: Settings, redis: aioredis.Redis) -> None:
        self.settings, self.redis = settings, redis
        self._marks: dict[str, tuple[float, float | None]] = {}  # subject -> (read at, mark)
        self._away_until: float | None = None  # after a failed read: when to try again

    def _key(self, subject: str) -> str:
        return self.settings.redis_key("auth", "valid-since", subject)

    async def revoke(self, subject: str) -> None:
        """Every token of this account issued before now counts no more."""
        lives = (self.settings.auth_max_token_minutes * 60) + 2 * _LEEWAY_SECONDS
        await self.redis.set(self._key(subject), repr(time.time()), ex=lives)
        self._marks.pop(subject, None)

    async def valid_since(self, subject: str) -> float | None:
        """The account's mark (seconds since the epoch), None if it has none."""
        now = time.monotonic()
        cached = self._marks.get(subject)
        if cached is not None and now - cached[0] < MARK_SECONDS:
            return cached[1]
        known = cached[1] if cached is not None else None  # Redis away: the last one read
        if self._away_until is not None and now < self._away_until:
            return known
        try:
            raw = await asyncio.wait_for(self.redis.get(self._key(subject)), REDIS_SECONDS)
        except (RedisError, OSError, TimeoutError) as error:
            if self._away_until is None:
                log.warning("token marks unreadable (Redis): %s", error)
            self._away_until = time.monotonic() + AWAY_SECONDS
            return known
        self._away_until = None
        mark = float(raw) if raw is not None else None
        self._marks[subject] = (now, mark)
        if len(self._marks) > _VERIFIED_CACHE_SIZE:
            self._marks.pop(next(iter(self._marks)))
        return mark


class TokenVerifier:
    """Verifies bearer tokens; JWKS keys are cached and refreshed when a new kid appears."""

    def __init__(
        self,
        settings: Settings,
        keys: dict[str | None, Any] | None = None,
        agencies: Served | None = None,
        revocations: Revocations | None = None,
    ) -> None:
        """`agencies`: the ids of the agencies the deployment serves (shared/agencies.py);
        None: the home agency alone. The province's (PROVINCE) is always known.
        `revocations`: the accounts' marks, checked on every request."""
        self.settings = settings
        self.revocations = revocations
        self._agencies = agencies
        self._keys: dict[str | None, Any] = dict(keys or {})
        self._tried_at = -float("inf")  # the last JWKS fetch, answered or not
        if self._keys:
            pass  # the issuer's own keys (the workflow service verifies its own tokens)
        elif settings.auth_public_keys:
            self._keys = _static_keys(settings.auth_public_keys)
        elif signing := settings.auth_signing_key.get_secret_value():
            self._keys = public_keys_of(signing)
        self._static = bool(self._keys)
        self._fetching = asyncio.Lock()
        # Tokens already verified, with their expiry: a token is checked once, not on every
        # request (its signature is most of a command's cost); forgotten when the keys change.
        self._verified: OrderedDict[str, tuple[Officer, float, float]] = OrderedDict()

    def _interval(self) -> float:
        """How long after one JWKS fetch the next may happen on an unknown kid.

        Until the issuer has answered once (it may start after us) it is retried each second.
        """
        refresh = self.settings.auth_jwks_refresh_seconds
        return refresh if self._keys else min(refresh, 1.0)

    async def _key(self, kid: str | None) -> Any:
        stale = time.monotonic() - self._tried_at > _JWKS_TTL_SECONDS
        if not self._static and (kid not in self._keys or stale):
            await self._fetch()  # waits for a fetch under way; fetches only after the interval
        if kid in self._keys:
            return self._keys[kid]
        if not self._keys:
            raise Unauthenticated("Layanan otentikasi belum dapat dihubungi.")
        if len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise Unauthenticated("Kunci penanda tangan token tidak dikenal.")

    async def _fetch(self) -> None:
        async with self._fetching:
            if time.monotonic() - self._tried_at <= self._interval():
                return  # another request fetched meanwhile
            self._tried_at = time.monotonic()
            await self._download()

    async def _download(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                answer = await http.get(self.settings.jwks_url())
                answer.raise_for_status()
            jwks = jwt.PyJWKSet.from_dict(answer.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as error:
            log.warning("cannot fetch token keys from %s: %s", self.settings.jwks_url(), error)
            return
        keys = {key.key_id: key.key for key in jwks.keys}
        if keys != self._keys:
            self._verified.clear()  # a key withdrawn: what it signed is checked again
        self._keys = keys

    async def verify(self, token: str) -> Officer:
        """The officer a token speaks for; Unauthenticated if it does not verify."""
        known = self._verified.get(token)
        if known is not None and time.time() <= known[1] and not self._keys_stale():
            self._verified.move_to_end(token)
            officer, _, issued = known
        else:
            self._verified.pop(token, None)
            officer, expires, issued = await self._verify(token)
            self._verified[token] = (officer, expires + _LEEWAY_SECONDS, issued)
            if len(self._verified) > _VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        if self.revocations is not None:
            since = await self.revocations.valid_since(officer.id)
            if since is not None and issued < since:
                raise Unauthenticated(REVOKED)
        return officer

    def _keys_stale(self) -> bool:
        """Whether the issuer's keys are due to be fetched again (so checked again)."""
        return not self._static and time.monotonic() - self._tried_at > _JWKS_TTL_SECONDS

    async def _verify(self, token: str) -> tuple[Officer, float, float]:
        """The officer, when the token expires and when it was issued."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            claims = jwt.decode(
                token,
                await self._key(kid),
                algorithms=ALGORITHMS,
                audience=self.settings.auth_audience,
                issuer=self.settings.auth_issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            read = _Claims.model_validate(claims)
        except ValidationError as error:
            raise Unauthenticated(f"Token tidak sah: {_unreadable(error)}.") from error
        except jwt.ExpiredSignatureError as error:
            raise Unauthenticated("Token sudah kedaluwarsa; silakan masuk lagi.") from error
        except jwt.ImmatureSignatureError as error:
            raise Unauthenticated(_FUTURE) from error
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"Token tidak sah: klaim {error.claim} tidak ada.") from error
        except (jwt.PyJWTError, ValueError) as error:
            raise Unauthenticated(f"Token tidak sah: {_why(error)}.") from error
        self._check_lifetime(read)
        agency, roles = read.agency, frozenset(read.roles)
        memberships = {
            member_of: frozenset(held) for member_of, held in (read.memberships or {}).items()
        }
        known = await self.known()
        if not {agency, *memberships} <= known:  # one registered since the last read?
            known = await self.known(again=True)
        if agency is None or agency not in known:
            raise Forbidden("Token ini untuk instansi lain.")
        held = {member_of: held for member_of, held in memberships.items() if member_of in known}
        held[agency] = roles | held.get(agency, frozenset())
        held = {  # the province's roles count only in the province's membership
            member_of: roles if member_of == PROVINCE else roles - PROVINCE_ROLES
            for member_of, roles in held.items()
        }
        officer = Officer(
            id=read.sub,
            name=read.name or read.sub,
            roles=held[agency],
            agency=agency,
            memberships=tuple(sorted(held.items())),
        )
        return officer, float(read.exp), float(read.iat)

    async def known(self, again: bool = False) -> frozenset[str]:
        """The agencies whose officers this deployment serves: the home agency, the
        registered ones and the province (`again`: read the registered ones again now)."""
        registered = await self._agencies(again) if self._agencies else ()
        return frozenset({self.settings.agency, PROVINCE, *registered})

    def _check_lifetime(self, claims: _Claims) -> None:
        """Refuse a token issued in the future or meant to live longer than allowed."""
        issued, expires = claims.iat, claims.exp
        if issued > time.time() + _LEEWAY_SECONDS:
            raise Unauthenticated(_FUTURE)
        if expires - issued > self.settings.auth_max_token_minutes * 60:
            raise Unauthenticated("Token tidak sah: masa berlakunya terlalu panjang.")


_bearer = HTTPBearer(auto_error=False, description="Token petugas (JWT)")


async def _officer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Officer:
    if credentials is None:
        raise Unauthenticated("Perlu token petugas (Authorization: Bearer ...).")
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(credentials.credentials)


CurrentOfficer = Annotated[Officer, Depends(_officer)]

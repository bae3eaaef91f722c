"""Sign-in at the office's OpenID Connect provider: the code exchange and the roles it grants.

The login page runs the authorization code flow with PKCE: it makes the state, the nonce and
the code verifier, sends the officer to the provider and, back on /petugas/masuk-sso, checks
the state and hands the code, the verifier and the nonce to workflow. Workflow exchanges the
code at the provider's token endpoint (a browser page may only reach its own origin,
`connect-src 'self'`, and a client secret must never reach a browser), verifies the ID token
(the provider's JWKS, issuer, audience = client id, nonce, lifetime), reads the claims (the ID
token's, then userinfo's), maps the provider's role names to ours and signs its own
short-lived token. Every service then verifies that token as any other of the built-in issuer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from shared.agencies import Served
from shared.problems import Problem
from shared.settings import Settings
from shared.sop import PROVINCE, Role

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "PS256", "ES256"]
REDIRECT_PATH = "/petugas/masuk-sso"
_METADATA_TTL_SECONDS = 3600.0
_LEEWAY_SECONDS = 60
_TIMEOUT_SECONDS = 3.0  # one call to the provider
_QUIET_SECONDS = 5.0  # after the discovery failed, sign-ins answer 503 at once this long
_MAX_ID_TOKEN_MINUTES = 60 * 24  # an ID token meant to live longer is not one we accept

UNREACHABLE = "Penyedia identitas tidak dapat dihubungi; coba lagi sebentar lagi."
REJECTED = (
    "Penyedia identitas menolak kode masuk (kedaluwarsa atau sudah dipakai); silakan masuk lagi."
)
INVALID = "Token penyedia identitas tidak sah"
NO_ROLE = (
    "Akun Anda di penyedia identitas belum memiliki peran di Aduan. "
    "Hubungi administrator kantor untuk diberi peran."
)
OTHER_AGENCY = "Akun Anda di penyedia identitas terdaftar untuk instansi lain."


def enabled(settings: Settings) -> bool:
    """Whether officers may sign in at an OpenID Connect provider."""
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def redirect_uri(settings: Settings) -> str:
    """Where the provider sends the officer back: the URI to register with the provider."""
    return settings.public_url.rstrip("/") + REDIRECT_PATH


def _claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by a dotted path (realm_access.roles), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def roles_of(claims: dict[str, Any], settings: Settings) -> list[Role]:
    """Our officer roles the provider's claims name, through the configured mapping.

    A name the mapping (or, without one, our role list) does not know is ignored; the
    complainant's role is never granted.
    """
    return mapped_roles(_claim(claims, settings.oidc_roles_claim), settings)


def mapped_roles(value: Any, settings: Settings) -> list[Role]:
    """Our officer roles for the provider's role names (a name, or a list of them)."""
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    mapping = settings.oidc_role_map or {role.value: role.value for role in Role}
    granted = {mapping[name] for name in names if isinstance(name, str) and name in mapping}
    roles = [role for role in Role if role.value in granted]
    return [role for role in roles if role is not Role.PEMOHON]


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, and the roles that gives here."""

    subject: str
    name: str
    roles: list[Role]
    agency: str | None = None  # the agency the officer acts in (None: the home agency)
    memberships: dict[str, list[Role]] = field(default_factory=dict)


def memberships_of(
    claims: dict[str, Any], settings: Settings, known: Collection[str]
) -> dict[str, list[Role]]:
    """The agencies the claims name (settings.oidc_agency_claim), those the deployment knows,
    with the roles in each: an agency id or a list of them (the roles claim's roles in each),
    or {agency: [the provider's role names]}. Without the setting: the home agency."""
    if not settings.oidc_agency_claim:
        return {settings.agency: roles_of(claims, settings)}
    value = _claim(claims, settings.oidc_agency_claim)
    if isinstance(value, dict):
        named = {str(agency): mapped_roles(names, settings) for agency, names in value.items()}
    else:
        agencies = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        roles = roles_of(claims, settings)
        named = {agency: roles for agency in agencies if isinstance(agency, str)}
    return {agency: roles for agency, roles in named.items() if agency in known}


class Provider:
    """The office's OpenID Connect provider: its metadata and keys, read when needed."""

    def __init__(self, settings: Settings, agencies: Served | None = None) -> None:
        """`agencies`: the ids of the agencies the deployment serves (None: the home one)."""
        self._agencies = agencies
        if settings.oidc_issuer and not settings.oidc_client_id:
            raise ValueError("ADUAN_OIDC_ISSUER is set but ADUAN_OIDC_CLIENT_ID is not")
        if enabled(settings) and (settings.auth_jwks_url or settings.auth_public_keys):
            raise ValueError(
                "ADUAN_OIDC_ISSUER and ADUAN_AUTH_JWKS_URL / ADUAN_AUTH_PUBLIC_KEYS exclude each "
                "other: with the OIDC sign-in the services verify workflow's own tokens"
            )
        officers = {role.value for role in Role if role is not Role.PEMOHON}
        unknown = set(settings.oidc_role_map.values()) - officers
        if unknown:
            raise ValueError(f"ADUAN_OIDC_ROLE_MAP names no officer role: {sorted(unknown)}")
        self.settings = settings
        self._metadata: dict[str, Any] = {}
        self._metadata_at = -float("inf")
        self._failed_at = -float("inf")
        self._keys: dict[str | None, Any] = {}
        self._lock = asyncio.Lock()

    @property
    def issuer(self) -> str:
        """The issuer as configured (the ID token's iss must equal it)."""
        return self.settings.oidc_issuer.rstrip("/")

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached for an hour); 503 when unreachable."""
        async with self._lock:  # one fetch at a time; the others wait for its answer
            if time.monotonic() - self._metadata_at <= _METADATA_TTL_SECONDS:
                return self._metadata
            if time.monotonic() - self._failed_at < _QUIET_SECONDS:
                raise Problem(503, UNREACHABLE, code="oidc-unavailable")
            try:
                document = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
                needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
                if str(document.get("issuer", "")).rstrip("/") != self.issuer or not all(
                    isinstance(document.get(key), str) for key in needed
                ):
                    log.warning("the OIDC discovery document of %s is not usable", self.issuer)
                    raise Problem(503, UNREACHABLE, code="oidc-unavailable")
            except Problem:
                self._failed_at = time.monotonic()
                raise
            self._metadata, self._metadata_at = document, time.monotonic()
            return self._metadata

    async def _get_json(self, url: str, **options: Any) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=_TIMEOUT_SECONDS) as http:
                answer = await http.get(url, **options)
                answer.raise_for_status()
                document = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            log.warning("the OIDC provider did not answer %s: %r", url, error)
            raise Problem(503, UNREACHABLE, code="oidc-unavailable") from error
        if not isinstance(document, dict):
            raise Problem(503, UNREACHABLE, code="oidc-unavailable")
        return document

    async def _key(self, kid: str | None) -> Any:
        # The ID token comes straight from the token endpoint, never from a browser: a kid we
        # do not know is the provider's new key (a rotation), so its keys are read again.
        if kid not in self._keys:
            document = await self._get_json((await self.metadata())["jwks_uri"])
            try:
                jwks = jwt.PyJWKSet.from_dict(document)
            except jwt.PyJWKSetError as error:
                raise Problem(503, UNREACHABLE, code="oidc-unavailable") from error
            self._keys = {key.key_id: key.key for key in jwks.keys}
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise Problem(401, f"{INVALID}: kunci tidak dikenal.", code="oidc")

    async def exchange(self, code: str, verifier: str, nonce: str) -> Identity:
        """The officer behind an authorization code; 401/403/503 problems otherwise."""
        metadata = await self.metadata()
        tokens = await self._tokens(metadata["token_endpoint"], code, verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise Problem(401, REJECTED, code="oidc-rejected")
        claims = await self._verified(id_token, nonce)
        access = tokens.get("access_token")
        userinfo = metadata.get("userinfo_endpoint")
        if isinstance(access, str) and isinstance(userinfo, str):
            extra = await self._get_json(userinfo, headers={"Authorization": f"Bearer {access}"})
            if extra.get("sub") == claims["sub"]:
                claims = extra | claims  # the ID token's own claims win
        registered = await self._agencies(True) if self._agencies else ()  # rare: read them now
        return self._identity(claims, {self.settings.agency, PROVINCE, *registered})

    async def _tokens(self, endpoint: str, code: str, verifier: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri(self.settings),
        }
        secret = self.settings.oidc_client_secret.get_secret_value()
        auth = httpx.BasicAuth(self.settings.oidc_client_id, secret) if secret else None
        if not secret:
            form["client_id"] = self.settings.oidc_client_id  # a public client
        try:
            async with httpx.AsyncClient(timeout=_TIMEOUT_SECONDS, auth=auth) as http:
                answer = await http.post(endpoint, data=form)
        except httpx.HTTPError as error:
            log.warning("the OIDC token endpoint did not answer: %r", error)
            raise Problem(503, UNREACHABLE, code="oidc-unavailable") from error
        if answer.status_code in (400, 401):  # invalid_grant, invalid_client, ...
            # invalid_grant is the officer's (an old or replayed code); anything else, such as
            # invalid_client, is the office's configuration: the log says which.
            log.warning("the OIDC provider refused the code: %s", answer.text[:300])
            raise Problem(401, REJECTED, code="oidc-rejected")
        try:
            answer.raise_for_status()
            tokens = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise Problem(503, UNREACHABLE, code="oidc-unavailable") from error
        if not isinstance(tokens, dict):
            raise Problem(503, UNREACHABLE, code="oidc-unavailable")
        return tokens

    async def _verified(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
            claims: dict[str, Any] = jwt.decode(
                id_token,
                await self._key(kid),
                algorithms=ALGORITHMS,
                audience=self.settings.oidc_client_id,
                issuer=self.issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError) as error:
            raise Problem(401, f"{INVALID}: {error}", code="oidc") from error
        if claims.get("nonce") != nonce:
            raise Problem(401, f"{INVALID}: nonce berbeda.", code="oidc")
        issued, expires = claims["iat"], claims["exp"]
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise Problem(401, f"{INVALID}: iat/exp.", code="oidc")
        if expires - issued > _MAX_ID_TOKEN_MINUTES * 60:
            raise Problem(401, f"{INVALID}: terlalu lama.", code="oidc")
        return claims

    def _identity(self, claims: dict[str, Any], known: Collection[str]) -> Identity:
        settings = self.settings
        held = memberships_of(claims, settings, known)
        if not held:
            raise Problem(403, OTHER_AGENCY, code="oidc-agency")
        held = {agency: roles for agency, roles in held.items() if roles}
        if not held:
            raise Problem(403, NO_ROLE, code="oidc-no-role")
        agency = settings.agency if settings.agency in held else min(held)
        subject = str(claims["sub"])
        name = claims.get("name") or claims.get("preferred_username") or subject
        return Identity(
            subject=f"oidc:{subject}"[:200],
            name=str(name)[:100],
            roles=held[agency],
            agency=agency,
            memberships=held,
        )

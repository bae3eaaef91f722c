"""The built-in token issuer, for offices without an OIDC provider and for local runs.

Its ES256 key is the configured ADUAN_AUTH_SIGNING_KEY, or one workflow generates once and
keeps in its database. The public half is served as a JWKS, which the other services fetch.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared import db
from shared.settings import Settings
from shared.sop import Role

_KEYS_TABLE = "workflow.issuer_keys"


class Issuer:
    """Signs officers' tokens and publishes its public key."""

    def __init__(self, settings: Settings, private_pem: str) -> None:
        self.settings = settings
        private = serialization.load_pem_private_key(private_pem.encode(), password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise ValueError("the token signing key must be an EC (P-256) private key")
        self._private = private
        public_der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = hashlib.sha256(public_der).hexdigest()[:16]

    @classmethod
    async def load(cls, settings: Settings) -> Issuer:
        """The configured key, or the one kept in the database (made on first start)."""
        configured = settings.auth_signing_key.get_secret_value()
        if configured:
            return cls(settings, configured)
        conn = await db.connect(settings)
        try:
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {_KEYS_TABLE} (id integer PRIMARY KEY, "
                "pem text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            )
            fresh = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            await conn.execute(
                f"INSERT INTO {_KEYS_TABLE} (id, pem) VALUES (1, $1) ON CONFLICT DO NOTHING",
                fresh.decode(),
            )
            pem = await conn.fetchval(f"SELECT pem FROM {_KEYS_TABLE} WHERE id = 1")
        finally:
            await conn.close()
        return cls(settings, str(pem))

    def public_keys(self) -> dict[str | None, Any]:
        """For the workflow's own verifier."""
        return {self.kid: self._private.public_key()}

    def jwks(self) -> dict[str, Any]:
        """The public key as a JSON Web Key Set."""
        jwk: dict[str, Any] = json.loads(
            jwt.algorithms.ECAlgorithm.to_jwk(self._private.public_key())
        )
        jwk.update({"kid": self.kid, "use": "sig", "alg": "ES256"})
        return {"keys": [jwk]}

    def mint(
        self,
        *,
        subject: str,
        name: str,
        roles: list[Role],
        agency: str | None = None,
        minutes: int | None = None,
        memberships: dict[str, list[Role]] | None = None,
    ) -> str:
        """A signed token for an officer acting in `agency` (the home agency by default) with
        `roles` there; `memberships`: every agency they belong to, with the roles in each."""
        # to the microsecond: a revocation (shared/auth.py) a moment later counts
        issued = datetime.now(UTC).timestamp()
        lives = 60 * (minutes or self.settings.auth_token_minutes)
        claims = {
            "iss": self.settings.auth_issuer,
            "aud": self.settings.auth_audience,
            "sub": subject,
            "name": name,
            "roles": [role.value for role in roles],
            "agency": agency or self.settings.agency,
            "iat": issued,
            "exp": issued + lives,
        }
        if memberships:
            claims["memberships"] = {
                member_of: [role.value for role in held] for member_of, held in memberships.items()
            }
        return jwt.encode(claims, self._private, algorithm="ES256", headers={"kid": self.kid})

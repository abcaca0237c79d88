"""Session tokens: JWTs signed with Ed25519.

Only the auth service holds the private key and can mint tokens; every other service
verifies them with the public key alone, without a call to auth. In development a key
pair is generated once under the data directory; outside development the keys must be
configured (``JWT_PRIVATE_KEY`` for auth, ``JWT_PUBLIC_KEY`` for everyone), either as PEM
text or as the path of a PEM file.

Every token names its session (``sid``): signing out revokes the session, and a
refreshed token keeps it, so a session is refused as a whole wherever it is presented.
It also carries the user's role (``role``), as the auth database held it when the token
was minted; a token without one is a plain user's.

Each token names the key that signed it (``kid``, the key's thumbprint), its issuer and
its audience (``iss``, ``aud``: JWT_ISSUER, JWT_AUDIENCE), so that another deployment's
tokens are refused even where a key is shared. ``JWT_PUBLIC_KEY`` may hold several
public keys (PEM blocks one after another): a key rotates by adding the new public key
everywhere, then giving auth the new private key, then, once every token of the old one
has expired (JWT_EXPIRES_SECONDS), removing the old public key.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.common.development_secrets import generated_once
from services.common.settings import Environment, Settings

ALGORITHM = "EdDSA"
# Who mints the tokens and for whom, by default (JWT_ISSUER, JWT_AUDIENCE).
ISSUER = "ticketing"
AUDIENCE = "ticketing"
_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)
# The cookie's name in development (the seed's web client knows it by this name).
SESSION_COOKIE = "session"
# Outside development: a browser keeps a __Host- cookie only if it is Secure, for the
# path /, and names no Domain, so no other host (a sibling subdomain) can set or shadow it.
HOST_SESSION_COOKIE = "__Host-session"


def session_cookie_name(environment: str) -> str:
    """The one place the session cookie's name comes from (the services' settings and
    the web shop's pass their ``ENVIRONMENT``): only development's is plain."""
    return SESSION_COOKIE if environment == Environment.DEVELOPMENT else HOST_SESSION_COOKIE


class InvalidToken(Exception):
    pass


class Role(StrEnum):
    USER = "user"
    # Granted and revoked only by `ticketing admin grant|revoke <email>`.
    ADMIN = "admin"
    # Gate staff, who check entry codes in and nothing else
    # (`ticketing admin grant --role gate <email>`).
    GATE = "gate"


@dataclass(frozen=True)
class TokenClaims:
    user_id: UUID
    email: str
    issued_at: datetime
    expires_at: datetime
    session_id: UUID
    role: Role = Role.USER


def _pem(value: str) -> bytes:
    if "-----BEGIN" in value:
        return value.encode()
    return Path(value).read_bytes()


def _development_private_key(data_dir: Path) -> bytes:
    return generated_once(
        data_dir / "jwt-ed25519-development.pem",
        lambda: Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def private_key_pem(settings: Settings) -> bytes:
    if settings.jwt_private_key:
        return _pem(settings.jwt_private_key)
    if settings.is_production:
        raise RuntimeError("JWT_PRIVATE_KEY must be set outside development")
    return _development_private_key(settings.data_dir)


def public_key_pem(settings: Settings) -> bytes:
    if settings.jwt_public_key:
        return _pem(settings.jwt_public_key)
    private = serialization.load_pem_private_key(private_key_pem(settings), password=None)
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(public_key: Ed25519PublicKey) -> str:
    """A key's name in a token's ``kid``: its SHA-256 thumbprint (of its SPKI form)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:16]).decode().rstrip("=")


def public_keys(pem: bytes) -> dict[str, Ed25519PublicKey]:
    """Every public key in ``pem`` (one PEM block or several), by its ``kid``."""
    keys = {}
    for block in _PEM_BLOCK.findall(pem) or [pem]:
        key = serialization.load_pem_public_key(block)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("JWT_PUBLIC_KEY: every key must be Ed25519")
        keys[key_id(key)] = key
    return keys


class TokenVerifier:
    """Verifies tokens, remembering the ones already verified until they expire: a
    session sends the same token with every request, and an Ed25519 check costs more
    than the rest of a small request. Only good tokens are remembered; bans are not
    the verifier's business (checked per request by the caller)."""

    CACHE_SIZE = 4096

    def __init__(
        self, public_key: bytes, *, issuer: str = ISSUER, audience: str = AUDIENCE
    ) -> None:
        self._keys = public_keys(public_key)
        self._issuer = issuer
        self._audience = audience
        self._verified: dict[str, TokenClaims] = {}

    def verify(self, token: str) -> TokenClaims:
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < cached.expires_at.timestamp():
                return cached
            del self._verified[token]
        claims = self._decode(token)
        if len(self._verified) >= self.CACHE_SIZE:
            # Oldest first (dicts keep insertion order): a cheap bound, not an LRU.
            del self._verified[next(iter(self._verified))]
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> TokenClaims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            # A token names its key; one minted before tokens did is tried with each.
            candidates = [self._keys[kid]] if kid in self._keys else []
            if kid is None:
                candidates = list(self._keys.values())
            if not candidates:
                raise InvalidToken("signed by a key this service does not hold")
            claims = self._decoded(token, candidates)
            # Tokens of the release before carry neither; one that names another issuer
            # or audience is another deployment's.
            if claims.get("iss", self._issuer) != self._issuer:
                raise InvalidToken("another issuer's token")
            audience = claims.get("aud", self._audience)
            if self._audience not in ([audience] if isinstance(audience, str) else audience):
                raise InvalidToken("a token for another audience")
            return TokenClaims(
                user_id=UUID(claims["sub"]),
                email=str(claims.get("email", "")),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                session_id=UUID(claims["sid"]),
                role=Role(claims.get("role", Role.USER)),
            )
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as error:
            raise InvalidToken(str(error)) from error

    @staticmethod
    def _decoded(token: str, candidates: list[Ed25519PublicKey]) -> dict[str, Any]:
        error: jwt.PyJWTError | None = None
        for key in candidates:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    # A token without a session could never be signed out: refused.
                    options={"require": ["sub", "exp", "iat", "sid"], "verify_aud": False},
                )
                return claims
            except jwt.InvalidSignatureError as wrong_key:
                error = wrong_key
        assert error is not None
        raise error


class TokenSigner:
    def __init__(
        self,
        private_key: bytes,
        lifetime: timedelta,
        *,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
    ) -> None:
        self._key = serialization.load_pem_private_key(private_key, password=None)
        assert isinstance(self._key, Ed25519PrivateKey)
        self._kid = key_id(self._key.public_key())
        self._issuer = issuer
        self._audience = audience
        self.lifetime = lifetime

    def sign(
        self,
        user_id: UUID,
        email: str,
        *,
        session_id: UUID | None = None,
        session_ends_at: datetime | None = None,
        role: Role = Role.USER,
    ) -> str:
        """A token of the session ``session_id`` (a new one if None), expiring after the
        signer's lifetime, or at the session's absolute end if that comes first."""
        now = datetime.now(UTC)
        expires_at = now + self.lifetime
        if session_ends_at is not None:
            expires_at = min(expires_at, session_ends_at)
        claims = {
            "sub": str(user_id),
            "email": email,
            "sid": str(session_id or uuid4()),
            "role": role.value,
            "iat": now,
            "exp": expires_at,
            "iss": self._issuer,
            "aud": self._audience,
        }
        return jwt.encode(
            claims,
            self._key,  # type: ignore[arg-type]
            algorithm=ALGORITHM,
            headers={"kid": self._kid},
        )

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
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.development_secrets import generated_once
from services.common.settings import Environment, Settings

ALGORITHM = "EdDSA"
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


class TokenVerifier:
    """Verifies tokens, remembering the ones already verified until they expire: a
    session sends the same token with every request, and an Ed25519 check costs more
    than the rest of a small request. Only good tokens are remembered; bans are not
    the verifier's business (checked per request by the caller)."""

    CACHE_SIZE = 4096

    def __init__(self, public_key: bytes) -> None:
        self._key = serialization.load_pem_public_key(public_key)
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
            claims = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=[ALGORITHM],
                # A token without a session could never be signed out: refused.
                options={"require": ["sub", "exp", "iat", "sid"]},
            )
            return TokenClaims(
                user_id=UUID(claims["sub"]),
                email=str(claims.get("email", "")),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                session_id=UUID(claims["sid"]),
                role=Role(claims.get("role", Role.USER)),
            )
        except (jwt.PyJWTError, ValueError, KeyError) as error:
            raise InvalidToken(str(error)) from error


class TokenSigner:
    def __init__(self, private_key: bytes, lifetime: timedelta) -> None:
        self._key = serialization.load_pem_private_key(private_key, password=None)
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
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)  # type: ignore[arg-type]

"""What the auth tests share: signing up, reading cookies, forging tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from services.common.identity.tokens import ALGORITHM, SESSION_COOKIE, private_key_pem
from services.common.settings import Settings

ADMIN_EMAIL = "admin@test.dev"
# argon2id with 1 MiB in the tests: the real cost (128 MiB) is a third of a second a hash.
TEST_HASH_COST = 10
PASSWORD = "s3cret-passw0rd"


def legacy_scrypt_hash(password: str, n: int = 2**10) -> str:
    """A hash in the format accounts had before argon2id (``scrypt$N$r$p$salt$key``)."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    encoded = base64.b64encode(salt).decode(), base64.b64encode(key).decode()
    return f"scrypt${n}$8$1${encoded[0]}${encoded[1]}"


async def signup(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/users/signup", json={"email": email, "password": password})


async def signin(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/users/signin", json={"email": email, "password": password})


async def current_user(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None
) -> dict[str, Any] | None:
    response = await client.get("/api/users/currentuser", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"currentUser"}
    user: dict[str, Any] | None = body["currentUser"]
    return user


def session_cookie(response: httpx.Response, name: str = SESSION_COOKIE) -> dict[str, str]:
    """The session Set-Cookie header of a response: its value and lower-cased attributes."""
    set_cookies = response.headers.get_list("set-cookie")
    headers = [header for header in set_cookies if header.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers
    first, *attributes = headers[0].split(";")
    parsed = {"value": first.split("=", 1)[1].strip('"')}
    for attribute in attributes:
        name, _, value = attribute.strip().partition("=")
        parsed[name.lower()] = value
    return parsed


def forge_token(settings: Settings, *, algorithm: str = ALGORITHM, **claims: Any) -> str:
    """A token with chosen claims, signed with the test's development key."""
    key: Any = serialization.load_pem_private_key(private_key_pem(settings), password=None)
    return jwt.encode(claims, key, algorithm=algorithm)


def claims_of(token: str) -> dict[str, Any]:
    """A token's claims, unverified (the test's own token)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def claims_for(
    user: dict[str, Any],
    *,
    issued: timedelta,
    lifetime: timedelta = timedelta(hours=1),
    session_id: str | None = None,
) -> dict[str, Any]:
    """Claims of a token issued `issued` ago, times in epoch seconds as in a JWT; of the
    session `session_id` (a real one, for a refresh to find it), or of none auth knows."""
    issued_at = datetime.now(UTC) - issued
    return {
        "sub": user["id"],
        "email": user["email"],
        "sid": session_id or str(uuid4()),
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + lifetime).timestamp()),
    }


def bearer_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

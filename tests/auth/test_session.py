"""The session: its cookie, the Bearer form, refused tokens, and the sliding refresh."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.auth.service import definition
from services.common.identity.tokens import public_key_pem
from services.common.settings import Environment, Settings
from tests.auth.support import (
    bearer_header,
    claims_for,
    claims_of,
    current_user,
    forge_token,
    session_cookie,
    signup,
)
from tests.support.apps import app_client


async def test_session_cookie_is_http_only_lax_and_lives_as_long_as_the_token(
    auth: httpx.AsyncClient, auth_settings: Settings
) -> None:
    cookie = session_cookie(await signup(auth, "hana@test.dev"))

    assert "httponly" in cookie
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(auth_settings.jwt_expires_seconds)
    # Development (and tests) run over plain HTTP.
    assert "secure" not in cookie


@pytest.fixture
def production_settings(auth_settings: Settings) -> Iterator[Settings]:
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    yield auth_settings.model_copy(
        update={
            "environment": Environment.PRODUCTION,
            "jwt_private_key": private_pem,
            "jwt_public_key": public_pem,
        }
    )


async def test_session_cookie_is_secure_and_host_prefixed_outside_development(
    production_settings: Settings,
) -> None:
    async with app_client(definition, production_settings) as (client, _app):
        signed_up = await signup(client, "ivan@test.dev")
        signed_out = await client.post("/api/users/signout")

    cookie = session_cookie(signed_up, "__Host-session")
    # What a browser demands of a __Host- cookie: Secure, path /, and no Domain.
    assert "secure" in cookie and cookie["path"] == "/" and "domain" not in cookie
    assert "httponly" in cookie
    assert "secure" in session_cookie(signed_out, "__Host-session")
    assert not [
        header
        for response in (signed_up, signed_out)
        for header in response.headers.get_list("set-cookie")
        if header.startswith("session=")
    ]


async def test_outside_development_only_the_host_prefixed_cookie_is_read(
    production_settings: Settings,
) -> None:
    async with app_client(definition, production_settings) as (client, _app):
        token = session_cookie(await signup(client, "ines@test.dev"), "__Host-session")["value"]
        client.cookies.clear()
        # A plain `session` cookie could come from a sibling subdomain: ignored.
        client.cookies.set("session", token)
        assert await current_user(client) is None
        client.cookies.clear()
        client.cookies.set("__Host-session", token)
        me = await current_user(client)

    assert me is not None and me["email"] == "ines@test.dev"


async def test_the_session_token_works_as_a_bearer_token(auth: httpx.AsyncClient) -> None:
    response = await signup(auth, "jane@test.dev")
    token = session_cookie(response)["value"]
    auth.cookies.clear()
    assert await current_user(auth) is None

    me = await current_user(auth, bearer_header(token))

    assert me is not None
    assert set(me) == {"id", "email", "iat", "exp"}
    assert (me["id"], me["email"]) == (response.json()["id"], "jane@test.dev")
    assert me["exp"] - me["iat"] == 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_b64(data: dict[str, Any]) -> str:
    return _b64(json.dumps(data).encode())


def hs256_token(claims: dict[str, Any], secret: bytes) -> str:
    # By hand: pyjwt itself refuses to use a PEM key as an HMAC secret.
    signing_input = f"{_json_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_json_b64(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def refused_tokens(settings: Settings, user: dict[str, Any], token: str) -> dict[str, str]:
    header, payload, signature = token.split(".")
    claims = claims_for(user, issued=timedelta(0))
    other_user = {**claims, "sub": "00000000-0000-0000-0000-000000000001"}
    return {
        "expired": forge_token(
            settings, **claims_for(user, issued=timedelta(hours=2), lifetime=timedelta(hours=1))
        ),
        "payload swapped under the signature": f"{header}.{_json_b64(other_user)}.{signature}",
        "signature altered": f"{header}.{payload}.{signature[:-4]}AAAA",
        "alg none": jwt.encode(claims, "", algorithm="none"),
        # The public key used as an HMAC secret: the classic algorithm-confusion attack.
        "HS256 with the public key": hs256_token(claims, public_key_pem(settings)),
        "signed by another key": jwt.encode(
            claims, Ed25519PrivateKey.generate(), algorithm="EdDSA"
        ),
        "without expiry": forge_token(settings, sub=user["id"], email=user["email"], iat=0),
        "garbage": "not.a.token",
    }


async def test_currentuser_is_null_for_every_refused_token(
    auth: httpx.AsyncClient, auth_settings: Settings
) -> None:
    response = await signup(auth, "kate@test.dev")
    user, token = response.json(), session_cookie(response)["value"]
    auth.cookies.clear()
    assert await current_user(auth, bearer_header(token)) is not None

    for name, refused in refused_tokens(auth_settings, user, token).items():
        assert refused != token, name
        assert await current_user(auth, bearer_header(refused)) is None, name
        auth.cookies.set("session", refused)
        assert await current_user(auth) is None, name
        auth.cookies.clear()


async def test_currentuser_is_null_without_a_session(auth: httpx.AsyncClient) -> None:
    assert await current_user(auth) is None


async def test_a_fresh_token_is_not_reissued(
    auth: httpx.AsyncClient, auth_settings: Settings
) -> None:
    user = (await signup(auth, "liam@test.dev")).json()
    token = forge_token(auth_settings, **claims_for(user, issued=timedelta(minutes=20)))

    response = await auth.get("/api/users/currentuser", headers=bearer_header(token))

    assert response.json()["currentUser"]["id"] == user["id"]
    assert "set-cookie" not in response.headers


async def test_a_token_past_half_its_life_is_replaced_by_a_fresh_cookie(
    auth: httpx.AsyncClient, auth_settings: Settings
) -> None:
    signed_up = await signup(auth, "mia@test.dev")
    user = signed_up.json()
    session_id = claims_of(session_cookie(signed_up)["value"])["sid"]
    old = claims_for(user, issued=timedelta(minutes=40), session_id=session_id)
    auth.cookies.clear()
    auth.cookies.set("session", forge_token(auth_settings, **old))

    response = await auth.get("/api/users/currentuser")

    fresh = session_cookie(response)
    assert fresh["max-age"] == str(auth_settings.jwt_expires_seconds)
    assert "httponly" in fresh
    current = response.json()["currentUser"]
    assert current["id"] == user["id"]
    assert current["iat"] > old["iat"] + 30 * 60
    assert current["exp"] == current["iat"] + auth_settings.jwt_expires_seconds
    # The client now holds the fresh token, which is the one the answer describes.
    auth.cookies.clear()
    auth.cookies.set("session", fresh["value"])
    me = await current_user(auth)
    assert me == current
    # Of the same session, which a sign-out can still end.
    assert claims_of(fresh["value"])["sid"] == session_id


async def test_data_dir_key_is_shared_with_services_that_only_verify(
    auth: httpx.AsyncClient, auth_settings: Settings, tmp_path: Path
) -> None:
    token = session_cookie(await signup(auth, "noah@test.dev"))["value"]

    claims = jwt.decode(
        token, public_key_pem(auth_settings), algorithms=["EdDSA"], audience="ticketing"
    )

    assert claims["email"] == "noah@test.dev"
    assert (tmp_path / "jwt-ed25519-development.pem").exists()

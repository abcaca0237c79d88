"""Only a token signed by auth's key, unexpired and untouched, opens a protected route."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.identity.tokens import (
    HOST_SESSION_COOKIE,
    SESSION_COOKIE,
    InvalidToken,
    TokenSigner,
    TokenVerifier,
    private_key_pem,
    public_key_pem,
    session_cookie_name,
)
from services.common.settings import Settings
from tests.tickets.support import TicketsApi, error
from web.settings import WebSettings

USER = UUID("8a1e0a3c-5a0f-4f38-9a53-3c1f0b1d2e4f")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "sub": str(USER),
        "email": "u@test.dev",
        "iat": now,
        "exp": now + timedelta(hours=1),
    } | overrides


def claims_with_session(**overrides: Any) -> dict[str, Any]:
    return claims(sid=str(uuid4())) | overrides


def signed(settings: Settings, lifetime: timedelta = timedelta(hours=1)) -> str:
    return TokenSigner(private_key_pem(settings), lifetime).sign(USER, "u@test.dev")


def tampered(settings: Settings) -> str:
    header, payload, signature = signed(settings).split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["sub"] = str(uuid4())
    return ".".join([header, b64(json.dumps(body).encode()), signature])


def alg_none(_settings: Settings) -> str:
    return jwt.encode(claims(), key="", algorithm="none")


def wrong_key(_settings: Settings) -> str:
    return jwt.encode(claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA")


def hmac_with_public_key(settings: Settings) -> str:
    """The algorithm-confusion attack: HS256 keyed with the (public) verification key."""
    now = int(datetime.now(UTC).timestamp())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"sub": str(USER), "iat": now, "exp": now + 3600}).encode())
    mac = hmac.new(public_key_pem(settings), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{b64(mac.digest())}"


def expired(settings: Settings) -> str:
    return signed(settings, timedelta(seconds=-5))


def without_expiry(settings: Settings) -> str:
    key = serialization.load_pem_private_key(private_key_pem(settings), password=None)
    return jwt.encode({"sub": str(USER), "iat": datetime.now(UTC)}, key, algorithm="EdDSA")  # type: ignore[arg-type]


def without_session(settings: Settings) -> str:
    """A token no sign-out could end: refused."""
    key = serialization.load_pem_private_key(private_key_pem(settings), password=None)
    return jwt.encode(claims(), key, algorithm="EdDSA")  # type: ignore[arg-type]


def not_a_session_id(settings: Settings) -> str:
    key = serialization.load_pem_private_key(private_key_pem(settings), password=None)
    return jwt.encode(claims(sid="everything"), key, algorithm="EdDSA")  # type: ignore[arg-type]


def not_a_user_id(settings: Settings) -> str:
    key = serialization.load_pem_private_key(private_key_pem(settings), password=None)
    return jwt.encode(claims_with_session(sub="admin"), key, algorithm="EdDSA")  # type: ignore[arg-type]


BAD_TOKENS: list[Callable[[Settings], str]] = [
    expired,
    tampered,
    alg_none,
    wrong_key,
    hmac_with_public_key,
    without_expiry,
    without_session,
    not_a_session_id,
    not_a_user_id,
    lambda _settings: "not.a.jwt",
]


async def create(
    api: TicketsApi, headers: dict[str, str], cookies: dict[str, str] | None = None
) -> Any:
    api.client.cookies.clear()
    if cookies:
        api.client.cookies.update(cookies)
    return await api.client.post("/api/tickets", json={"title": "T", "price": 1}, headers=headers)


async def test_a_good_token_opens_the_route_by_header_or_cookie(api: TicketsApi) -> None:
    token = signed(api.settings)
    by_header = await create(api, {"Authorization": f"Bearer {token}"})
    assert by_header.status_code == 201 and by_header.json()["userId"] == str(USER)
    by_cookie = await create(api, {}, {SESSION_COOKIE: token})
    assert by_cookie.status_code == 201 and by_cookie.json()["userId"] == str(USER)


@pytest.mark.parametrize("make_token", BAD_TOKENS)
async def test_a_bad_token_is_401(api: TicketsApi, make_token: Callable[[Settings], str]) -> None:
    token = make_token(api.settings)
    for response in (
        await create(api, {"Authorization": f"Bearer {token}"}),
        await create(api, {}, {SESSION_COOKIE: token}),
    ):
        assert response.status_code == 401
        assert response.json() == error("Not authorized")


async def test_no_token_is_401(api: TicketsApi) -> None:
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic dTpw"}):
        response = await create(api, headers)
        assert response.status_code == 401
        assert response.json() == error("Not authorized")


@pytest.mark.parametrize("make_token", BAD_TOKENS)
def test_verifier_refuses_bad_tokens(tmp_path: Any, make_token: Callable[[Settings], str]) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    verifier = TokenVerifier(public_key_pem(settings))
    assert verifier.verify(signed(settings)).user_id == USER
    with pytest.raises(InvalidToken):
        verifier.verify(make_token(settings))


def test_the_api_and_the_web_shop_name_the_session_cookie_alike() -> None:
    assert session_cookie_name("development") == SESSION_COOKIE
    assert session_cookie_name("production") == HOST_SESSION_COOKIE
    for environment in ("development", "production"):
        web = WebSettings.model_construct(environment=environment)
        assert web.session_cookie == session_cookie_name(environment)


def pem_pair() -> tuple[bytes, bytes]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def test_a_token_names_its_key_its_issuer_and_its_audience() -> None:
    private, public = pem_pair()
    token = TokenSigner(private, timedelta(hours=1), issuer="shop-prod").sign(USER, "u@x.io")
    header = jwt.get_unverified_header(token)
    body = jwt.decode(token, options={"verify_signature": False})
    assert header["kid"] and header["alg"] == "EdDSA"
    assert (body["iss"], body["aud"]) == ("shop-prod", "ticketing")
    assert TokenVerifier(public, issuer="shop-prod").verify(token).user_id == USER


@pytest.mark.parametrize(
    "verifier_options", [{"issuer": "shop-staging"}, {"audience": "another-api"}]
)
def test_another_deployments_token_is_refused_even_with_the_same_key(
    verifier_options: dict[str, str],
) -> None:
    private, public = pem_pair()
    token = TokenSigner(private, timedelta(hours=1)).sign(USER, "u@x.io")
    with pytest.raises(InvalidToken):
        TokenVerifier(public, **verifier_options).verify(token)


def test_a_key_rotates_with_both_keys_accepted_for_a_while() -> None:
    old_private, old_public = pem_pair()
    new_private, new_public = pem_pair()
    old_token = TokenSigner(old_private, timedelta(hours=1)).sign(USER, "u@x.io")
    new_token = TokenSigner(new_private, timedelta(hours=1)).sign(USER, "u@x.io")
    # 1. Every service holds both public keys (JWT_PUBLIC_KEY, one PEM block after another).
    both = TokenVerifier(old_public + new_public)
    assert both.verify(old_token).user_id == both.verify(new_token).user_id == USER
    # 2. Once the old key's tokens have expired, it goes: its tokens with it.
    only_new = TokenVerifier(new_public)
    assert only_new.verify(new_token).user_id == USER
    with pytest.raises(InvalidToken):
        only_new.verify(old_token)


def test_a_token_of_the_release_before_without_kid_iss_or_aud_is_still_accepted() -> None:
    private, public = pem_pair()
    key = serialization.load_pem_private_key(private, password=None)
    token = jwt.encode(claims_with_session(), key, algorithm="EdDSA")  # type: ignore[arg-type]
    assert TokenVerifier(public).verify(token).user_id == USER

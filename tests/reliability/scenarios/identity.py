"""Identity attacks from outside, each kind counted: a token reused after its session was
signed out (here, everywhere, or by a password change), an admin claim that is forged or
no longer true, and a cookie-signed request sent from another site. Every one must be
refused, in the error shape, by every service it reaches."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from services.common.identity.tokens import SESSION_COOKIE, Role, private_key_pem
from tests.reliability.market import Market, User
from tests.reliability.scenarios.tally import Tally
from tests.reliability.stack import HarnessStack
from tests.support.polling import eventually

PASSWORD = "secret-password"
NEW_PASSWORD = "another secret password"
# Unsafe routes of every service, each a cookie or a stale token might be tried on.
PROBES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/tickets", {"title": "x", "price": 1}),
    ("POST", "/api/orders", {"ticketId": "6f1c2b9e-3c1d-4a7e-9a55-0d8f4b1e2a77"}),
    ("POST", "/api/payments", {"orderId": "6f1c2b9e-3c1d-4a7e-9a55-0d8f4b1e2a77", "token": "x"}),
    ("GET", "/api/orders", None),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_of(user: User) -> str:
    return user.headers["Authorization"].removeprefix("Bearer ")


async def sign_in(market: Market, email: str, password: str = PASSWORD) -> str:
    """A new session of the user; its token."""
    response = await market.signups.post(
        "/api/users/signin", json={"email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    token = response.cookies[SESSION_COOKIE]
    market.signups.cookies.clear()
    return token


async def _refused_everywhere(market: Market, token: str, within: float = 15) -> None:
    """Waits until every service has heard of the revocation (the event lag)."""
    deadline = time.monotonic() + within
    for method, path, body in PROBES:
        await eventually(
            partial(market.request, method, path, json=body, headers=bearer(token)),
            lambda response: response.status_code == 401,
            within=deadline - time.monotonic(),
            what=f"the revocation to reach {path}",
        )


async def _revoked_tokens(market: Market) -> dict[str, str]:
    """Tokens of sessions ended each way, once every service knows."""
    signed_out, everywhere, changed = await market.users(3)
    emails = {}
    for user in (everywhere, changed):
        me = await market.request("GET", "/api/users/currentuser", headers=user.headers)
        emails[user.id] = me.json()["currentUser"]["email"]
    second_device = await sign_in(market, emails[everywhere.id])
    stolen = await sign_in(market, emails[changed.id])
    for method, path, body, user in [
        ("POST", "/api/users/signout", None, signed_out),
        ("POST", "/api/users/signout/everywhere", None, everywhere),
        (
            "PUT",
            "/api/users/currentuser/password",
            {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
            changed,
        ),
    ]:
        response = await market.request(method, path, json=body, headers=user.headers)
        assert response.status_code == 200, response.text
    revoked = {
        "signed out": token_of(signed_out),
        "signed out everywhere, this device": token_of(everywhere),
        "signed out everywhere, another device": second_device,
        "another session after a password change": stolen,
    }
    for token in revoked.values():
        await _refused_everywhere(market, token)
    return revoked


def _signed(stack: HarnessStack, claims: dict[str, Any]) -> str:
    """Signed with the stack's own key: the worst case of a forged claim."""
    key: Any = serialization.load_pem_private_key(private_key_pem(stack.settings), password=None)
    return jwt.encode(claims, key, algorithm="EdDSA")


async def _forged_admins(market: Market, stack: HarnessStack, victim: User, kinds: Tally) -> None:
    user, former = await market.users(2)
    claims = jwt.decode(token_of(user), options={"verify_signature": False})
    now = int(time.time())
    me = await market.request("GET", "/api/users/currentuser", headers=former.headers)
    former_email = me.json()["currentUser"]["email"]
    await stack.set_role(former_email, Role.ADMIN)
    former_token = await sign_in(market, former_email)
    await stack.set_role(former_email, Role.USER)
    attempts: list[tuple[str, str, set[int]]] = [
        ("a plain user", token_of(user), {403}),
        ("an admin claim by the real key", _signed(stack, claims | {"role": "admin"}), {403}),
        ("an unknown role", _signed(stack, claims | {"role": "root"}), {401}),
        (
            "an admin claim with alg none",
            jwt.encode(claims | {"role": "admin", "exp": now + 600}, "", algorithm="none"),
            {401},
        ),
        (
            "an admin claim under HS256",
            jwt.encode(claims | {"role": "admin"}, "x" * 32, algorithm="HS256"),
            {401},
        ),
        ("an admin whose role was revoked", former_token, {403}),
    ]
    for what, token, statuses in attempts:
        response = await market.request(
            "POST", f"/api/users/{victim.id}/ban", headers=bearer(token)
        )
        kinds.expect("forged admin", response, statuses, what)
    # Nobody was banned: the victim still gets in.
    still = await market.request("GET", "/api/orders", headers=victim.headers)
    kinds.judge("forged admin", still.status_code == 200, f"victim banned ({still.status_code})")


async def _cross_origin(market: Market, owner: User, ticket: str, kinds: Tally) -> None:
    cookie = {"Cookie": f"{SESSION_COOKIE}={token_of(owner)}"}
    origins = [
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
    ]
    unsafe: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/tickets", {"title": "x", "price": 1}),
        ("PUT", f"/api/tickets/{ticket}", {"title": "x", "price": 1}),
        ("POST", "/api/orders", {"ticketId": ticket}),
        ("POST", "/api/payments", {"orderId": ticket, "token": "pm_card_visa"}),
        ("POST", "/api/users/signout", None),
        ("POST", "/api/users/signout/everywhere", None),
        (
            "PUT",
            "/api/users/currentuser/password",
            {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        ),
    ]
    for headers in origins:
        for method, path, body in unsafe:
            response = await market.request(method, path, json=body, headers={**cookie, **headers})
            kinds.expect(
                "cross-origin cookie request", response, {403}, f"{method} {path} {headers}"
            )
    # The owner's session survived every attempt on it.
    still = await market.request("GET", "/api/orders", headers=owner.headers)
    kinds.judge(
        "cross-origin cookie request",
        still.status_code == 200,
        f"the owner signed out ({still.status_code})",
    )


async def identity_attacks(
    market: Market, stack: HarnessStack, owner: User, victim: User, ticket: str
) -> dict[str, Any]:
    """{"attempts": {kind: {"tried", "answered_wrongly"}}, "answered_wrongly": [...]}."""
    kinds = Tally()
    for what, token in (await _revoked_tokens(market)).items():
        for method, path, body in PROBES:
            response = await market.request(method, path, json=body, headers=bearer(token))
            kinds.expect("revoked token reuse", response, {401}, f"{what}: {method} {path}")
        # Nor does auth refresh a revoked session into a new token.
        me = await market.request("GET", "/api/users/currentuser", headers=bearer(token))
        refused = me.status_code == 200 and me.json() == {"currentUser": None} and not me.cookies
        kinds.judge("revoked token reuse", refused, f"{what}: currentuser {me.text[:120]}")
    await _forged_admins(market, stack, victim, kinds)
    await _cross_origin(market, owner, ticket, kinds)
    return kinds.report()

"""Hostile input: every route refuses bad tokens, other users and malformed bodies, in
the documented error shape, changing nothing."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import jwt

from services.common.identity.tokens import Role
from tests.reliability.market import Market, User
from tests.reliability.scenarios.abuse import abuse
from tests.reliability.scenarios.defences import defences
from tests.reliability.scenarios.identity import identity_attacks, sign_in
from tests.reliability.stack import ADMIN_EMAIL, HarnessStack
from tests.support.polling import eventually


async def _ban_reaches_every_service(market: Market, banned: User, within: float = 15) -> None:
    probes = [("GET", "/api/orders"), ("POST", "/api/tickets"), ("POST", "/api/payments")]
    deadline = time.monotonic() + within
    for method, path in probes:
        await eventually(
            partial(market.request, method, path, json={}, headers=banned.headers),
            lambda response: response.status_code == 401,
            within=deadline - time.monotonic(),
            what=f"the ban to reach {path}",
        )


def _forge(claims: dict[str, Any], *, key: str = "", algorithm: str = "none") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


async def hostile_input(market: Market, stack: HarnessStack) -> dict[str, Any]:
    """Every route refuses what it must, in the documented shape, changing nothing."""
    owner, other, banned = await market.users(3)
    # An admin by role (`ticketing admin grant`), then signed in again for a token with it.
    await market.sign_up(ADMIN_EMAIL)
    await stack.set_role(ADMIN_EMAIL, Role.ADMIN)
    admin = User(id="", headers={"Authorization": f"Bearer {await sign_in(market, ADMIN_EMAIL)}"})
    ticket = await market.list_ticket(owner)
    order = await market.order(other, ticket)
    assert order.status_code == 201
    order_id = order.json()["id"]
    ban = await market.request("POST", f"/api/users/{banned.id}/ban", headers=admin.headers)
    assert ban.status_code == 200, ban.text
    await _ban_reaches_every_service(market, banned)
    # Revoked tokens, forged admins, cross-origin cookies: refused (signing up and out
    # first, so before the rows are counted).
    identity = await identity_attacks(market, stack, owner, other, ticket)
    before = await stack.row_counts()

    valid = owner.headers["Authorization"].removeprefix("Bearer ")
    header, payload, signature = valid.split(".")
    now = int(time.time())
    tokens = {
        "none": None,
        "garbage": "not-a-token",
        "alg none": _forge({"sub": owner.id, "iat": now, "exp": now + 600}),
        "tampered": f"{header}.{payload[:-2]}AA.{signature}",
        "wrong key": _forge(
            {"sub": owner.id, "iat": now, "exp": now + 600}, key="x" * 32, algorithm="HS256"
        ),
        "expired": stack.expired_token(owner.id),
        "banned": banned.headers["Authorization"].removeprefix("Bearer "),
    }
    protected = [
        ("POST", "/api/tickets", {"title": "x", "price": 1}),
        ("PUT", f"/api/tickets/{ticket}", {"title": "x", "price": 1}),
        ("POST", "/api/orders", {"ticketId": ticket}),
        ("GET", "/api/orders", None),
        ("GET", f"/api/orders/{order_id}", None),
        ("DELETE", f"/api/orders/{order_id}", None),
        ("POST", "/api/payments", {"orderId": order_id, "token": "pm_card_visa"}),
        ("POST", f"/api/users/{owner.id}/ban", None),
    ]
    tried = sum(kind["tried"] for kind in identity["attempts"].values())
    failures = list(identity["answered_wrongly"])

    def expect(response: Any, statuses: set[int], what: str) -> None:
        nonlocal tried
        tried += 1
        body = response.json() if response.content else None
        shaped = (
            isinstance(body, dict)
            and isinstance(body.get("errors"), list)
            and all(isinstance(entry.get("message"), str) for entry in body["errors"])
        )
        if response.status_code not in statuses or not shaped:
            failures.append(f"{what}: {response.status_code} {response.text[:120]}")

    for name, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for method, path, body in protected:
            response = await market.request(method, path, json=body, headers=headers)
            expect(response, {401}, f"{name} token {method} {path}")
    # Signed in, but not allowed: the ticket is the owner's, the order the other's.
    for actor, method, path, body in [
        (other, "PUT", f"/api/tickets/{ticket}", {"title": "x", "price": 1}),
        (owner, "GET", f"/api/orders/{order_id}", None),
        (owner, "DELETE", f"/api/orders/{order_id}", None),
        (owner, "POST", "/api/payments", {"orderId": order_id, "token": "pm_card_visa"}),
        (owner, "POST", f"/api/users/{other.id}/ban", None),
    ]:
        response = await market.request(method, path, json=body, headers=actor.headers)
        expect(response, {403}, f"another user's {method} {path}")
    # Malformed and oversized bodies.
    bodies: list[tuple[str, str, Any]] = [
        ("POST", "/api/tickets", b"{not json"),
        ("POST", "/api/tickets", b"[1, 2]"),
        ("POST", "/api/tickets", b'{"title": 5, "price": "cheap"}'),
        ("POST", "/api/tickets", b'{"title": "x", "price": 1e308}'),
        ("POST", "/api/tickets", b'{"title": "x", "price": -1}'),
        ("POST", "/api/tickets", b'{"title": "' + b"x" * 1_000_000 + b'", "price": 1}'),
        ("PUT", f"/api/tickets/{ticket}", b'{"title": null, "price": 1}'),
        ("POST", "/api/orders", b'{"ticketId": [1]}'),
        ("POST", "/api/orders", b"\xff\xfe"),
        ("POST", "/api/payments", b'{"orderId": "nope", "token": 1}'),
        ("POST", "/api/users/signup", b'{"email": "not an email", "password": "x"}'),
        (
            "POST",
            "/api/users/signup",
            b'{"email": "a@b.co", "password": "' + b"p" * 100_000 + b'"}',
        ),
        ("POST", "/api/users/signin", b"null"),
    ]
    for method, path, raw in bodies:
        response = await market.request(
            method, path, content=raw, headers={**owner.headers, "content-type": "application/json"}
        )
        expect(response, {400, 413, 422}, f"malformed {method} {path} ({len(raw)} bytes)")
    after = await stack.row_counts()
    if before != after:
        failures.append(f"rows changed by refused requests: {before} -> {after}")
    # Abuse by kind (it changes rows: a locked account's sign-up, an order refused).
    abused = await abuse(market)
    failures.extend(abused["answered_wrongly"])
    tried += sum(kind["tried"] for kind in abused["attempts"].values())
    # The deployed defences' own: Unicode spellings, hold and recycle, forged forms, 3-D
    # Secure probes.
    defended = (await defences(market, stack)).report()
    failures.extend(defended["answered_wrongly"])
    tried += sum(kind["tried"] for kind in defended["attempts"].values())
    return {
        "inputs_tried": tried,
        "refused_wrongly": failures,
        "attempts_by_kind": {
            **abused["attempts"],
            **identity["attempts"],
            **defended["attempts"],
        },
    }

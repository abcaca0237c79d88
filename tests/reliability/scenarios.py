"""The scenarios: load, expiry, faults and hostile input against one running stack.

Each returns the figures it measured; the harness checks the invariants after each.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import jwt

from tests.reliability.market import Market, User
from tests.reliability.stack import ADMIN_EMAIL, HarnessStack


async def contention(market: Market, *, buyers: int, tickets: int) -> dict[str, Any]:
    """``buyers`` order ``tickets`` tickets at once: exactly one order per ticket wins."""
    seller, *people = await market.users(buyers + 1)
    ticket_ids = list(await asyncio.gather(*(market.list_ticket(seller) for _ in range(tickets))))
    # The orders replica must know every ticket before the rush, or 404s blur the count.
    await asyncio.gather(*(market.order(seller, ticket) for ticket in ticket_ids))

    # Every buyer orders before any winner acts: a winner's cancel frees its ticket, and
    # a buyer still on the way would then rightly win it too.
    orders = await asyncio.gather(
        *(market.order(buyer, ticket_ids[i % tickets]) for i, buyer in enumerate(people))
    )
    statuses = Counter(order.status_code for order in orders)
    assert statuses[201] == tickets, f"{statuses} for {tickets} tickets"
    assert statuses[409] == buyers - tickets, statuses

    async def settle(i: int, buyer: User, order_id: str) -> int | None:
        # Winners of every other ticket pay at once; the others cancel.
        if (i % tickets) % 2:
            cancelled = await market.request(
                "DELETE", f"/api/orders/{order_id}", headers=buyer.headers
            )
            assert cancelled.status_code == 204, cancelled.text
            return None
        return (await market.pay(buyer, order_id)).status_code

    settled = await asyncio.gather(
        *(
            settle(i, people[i], order.json()["id"])
            for i, order in enumerate(orders)
            if order.status_code == 201
        )
    )
    paid = [payment for payment in settled if payment is not None]
    assert paid == [201] * len(paid) and len(paid) == (tickets + 1) // 2, paid
    return {
        "buyers": buyers,
        "tickets": tickets,
        "orders_won": statuses[201],
        "paid": len(paid),
        "cancelled": statuses[201] - len(paid),
    }


async def expiry_at_scale(
    stack: HarnessStack, market: Market, *, reservations: int, window: int
) -> dict[str, Any]:
    """Every reservation releases within the window plus a small slack, and its ticket
    can be bought again."""
    await asyncio.to_thread(stack.set_window, window)
    seller, *buyers = await market.users(reservations + 1)
    ticket_ids = list(
        await asyncio.gather(*(market.list_ticket(seller) for _ in range(reservations)))
    )
    orders = await asyncio.gather(
        *(market.order(buyer, ticket) for buyer, ticket in zip(buyers, ticket_ids, strict=True))
    )
    assert all(order.status_code == 201 for order in orders), [o.text for o in orders]
    expires = [datetime.fromisoformat(order.json()["expiresAt"]) for order in orders]

    # One poller walks the pending tickets in turn: 300 clients polling at once would be
    # a load of their own and slow the very release being measured.
    pending = dict(zip(ticket_ids, expires, strict=True))
    slack: list[float] = []
    deadline = time.monotonic() + window + 120
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} tickets never released"
        for ticket_id, expires_at in list(pending.items()):
            if (await market.ticket(ticket_id))["orderId"] is None:
                slack.append((datetime.now(UTC) - expires_at).total_seconds())
                del pending[ticket_id]
        await asyncio.sleep(0.05)
    slack.sort()
    again = await asyncio.gather(
        *(
            market.order(buyer, ticket)
            for buyer, ticket in zip(buyers[::-1], ticket_ids, strict=True)
        )
    )
    rebought = sum(response.status_code == 201 for response in again)
    # The orders replica may lag the release by milliseconds: retry the stragglers.
    for buyer, ticket, response in zip(buyers[::-1], ticket_ids, again, strict=True):
        if response.status_code == 409:
            await asyncio.sleep(0.2)
            rebought += (await market.order(buyer, ticket)).status_code == 201
    assert rebought == reservations, f"{rebought} of {reservations} bought again"
    return {
        "reservations": reservations,
        "window_seconds": window,
        "release_slack_p50_seconds": round(slack[len(slack) // 2], 3),
        "release_slack_max_seconds": round(slack[-1], 3),
        "bought_again": rebought,
    }


async def purchases_in_flight(market: Market, buyers: list[User], seller: User) -> list[Any]:
    """Purchases started now, to be hit by a fault while they run."""

    async def purchase(buyer: User) -> int:
        ticket = await market.list_ticket(seller)
        order = await market.order(buyer, ticket)
        if order.status_code != 201:
            return order.status_code
        return (await market.pay(buyer, order.json()["id"])).status_code

    return [asyncio.create_task(purchase(buyer)) for buyer in buyers]


async def faults(
    market: Market, stack: HarnessStack, *, purchases: int, outage: float
) -> dict[str, Any]:
    """Each fault strikes while purchases run; they must all end (paid, or refused and
    later undone), which the invariants then check."""
    seller, *buyers = await market.users(purchases * 4 + 1)
    groups = [buyers[i::4] for i in range(4)]
    outcomes: Counter[str] = Counter()
    survived = []

    async def under(fault: str, group: list[User], strike: Any) -> None:
        tasks = await purchases_in_flight(market, group, seller)
        await asyncio.sleep(0.3)
        await strike()
        for status in await asyncio.gather(*tasks, return_exceptions=True):
            outcomes[f"{fault}:{status if isinstance(status, int) else type(status).__name__}"] += 1
        survived.append(fault)

    async def kill_workers() -> None:
        # Every service's worker at once: the sagas' and every activity's.
        for worker in stack.workers:
            assert worker.pid is not None
            os.kill(worker.pid, signal.SIGKILL)
        await asyncio.sleep(1)
        for worker in stack.workers:
            worker.start()

    async def nats_outage() -> None:
        stack.nats.stop()
        await asyncio.sleep(outage)
        stack.nats.start()

    async def restart_api() -> None:
        await asyncio.to_thread(stack.api.stop)
        await asyncio.to_thread(stack.api.start)

    async def database_locked() -> None:
        def hold() -> None:
            connection = sqlite3.connect(stack.data_dir / "orders.db", timeout=30)
            connection.isolation_level = None
            connection.execute("BEGIN EXCLUSIVE")
            time.sleep(min(outage, 5))
            connection.execute("ROLLBACK")
            connection.close()

        await asyncio.to_thread(hold)

    await under("workers SIGKILL", groups[0], kill_workers)
    await under("nats-server down", groups[1], nats_outage)
    await under("API restart", groups[2], restart_api)
    await under("orders database locked", groups[3], database_locked)
    return {
        "faults_survived": survived,
        "purchases": sum(outcomes.values()),
        "outcomes": dict(outcomes),
    }


async def _ban_reaches_every_service(market: Market, banned: User, within: float = 15) -> None:
    probes = [("GET", "/api/orders"), ("POST", "/api/tickets"), ("POST", "/api/payments")]
    deadline = time.monotonic() + within
    for method, path in probes:
        while (
            await market.request(method, path, json={}, headers=banned.headers)
        ).status_code != 401:
            assert time.monotonic() < deadline, f"the ban never reached {path}"
            await asyncio.sleep(0.05)


def _forge(claims: dict[str, Any], *, key: str = "", algorithm: str = "none") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


async def hostile_input(market: Market, stack: HarnessStack) -> dict[str, Any]:
    """Every route refuses what it must, in the documented shape, changing nothing."""
    owner, other, banned = await market.users(3)
    admin = await market.sign_up(ADMIN_EMAIL)
    ticket = await market.list_ticket(owner)
    order = await market.order(other, ticket)
    assert order.status_code == 201
    order_id = order.json()["id"]
    ban = await market.request("POST", f"/api/users/{banned.id}/ban", headers=admin.headers)
    assert ban.status_code == 200, ban.text
    await _ban_reaches_every_service(market, banned)
    before = stack.row_counts()

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
    tried = 0
    failures = []

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
    after = stack.row_counts()
    if before != after:
        failures.append(f"rows changed by refused requests: {before} -> {after}")
    return {"inputs_tried": tried, "refused_wrongly": failures}

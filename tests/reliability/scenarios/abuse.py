"""Abuse from outside, each kind of attempt counted: wrong passwords then every way round
an account's lock, bodies past the limit, a flood of waiting requests, and a price
changed under the buyer. Each must be answered as the limits say, in the error shape."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

from tests.reliability.market import Market
from tests.reliability.scenarios.tally import Tally

PASSWORD = "secret-password"


async def _throttle_bypass(market: Market, tally: Tally) -> None:
    email = f"locked-{uuid4().hex[:8]}@example.com"
    await market.sign_up(email)
    for _ in range(5):
        await market.request(
            "POST", "/api/users/signin", json={"email": email, "password": "wrong password"}
        )
    # The lock holds for the account however the attempt is dressed up.
    for what, body, headers in [
        ("the right password", {"email": email, "password": PASSWORD}, {}),
        ("the email upper-cased", {"email": email.upper(), "password": PASSWORD}, {}),
        (
            "another forwarded address",
            {"email": email, "password": PASSWORD},
            {"X-Forwarded-For": "203.0.113.7"},
        ),
        ("another wrong password", {"email": email, "password": "still wrong"}, {}),
    ]:
        response = await market.request("POST", "/api/users/signin", json=body, headers=headers)
        tally.expect("throttle bypass", response, {429}, what, retry_after=True)


async def _oversized_bodies(market: Market, tally: Tally, headers: dict[str, str]) -> None:
    big = b'{"title": "' + b"x" * 200_000 + b'", "price": 1}'
    for path in ("/api/tickets", "/api/orders", "/api/payments", "/api/users/signin"):
        response = await market.request(
            "POST", path, content=big, headers={**headers, "content-type": "application/json"}
        )
        tally.expect("oversized body", response, {413}, f"POST {path}")


async def _wait_flood(
    market: Market, tally: Tally, buyer_headers: dict[str, str], order_id: str
) -> None:
    url = f"/api/orders/{order_id}"
    etag = (await market.request("GET", url, headers=buyer_headers)).headers["etag"]
    follow = {**buyer_headers, "If-None-Match": etag, "Prefer": "wait=4"}
    flood = [asyncio.ensure_future(market.request("GET", url, headers=follow)) for _ in range(20)]
    answers = await asyncio.gather(*flood)
    held = [answer for answer in answers if answer.status_code == 304]
    refused = [answer for answer in answers if answer.status_code != 304]
    # A few are held (the per-user bound); every other one is told to come back.
    tally.judge("wait flood", 0 < len(held) <= 5, f"{len(held)} of 20 waits were held")
    for answer in refused:
        tally.expect("wait flood", answer, {503}, "a wait past the bound", retry_after=True)
    star = await market.request(
        "GET", url, headers={**buyer_headers, "If-None-Match": "*", "Prefer": "wait=4"}
    )
    tally.judge(
        "wait flood", star.status_code == 304, f"If-None-Match * answered {star.status_code}"
    )


async def _price_changed(market: Market, tally: Tally) -> None:
    seller, buyer = await market.users(2)
    ticket = await market.list_ticket(seller, price=30)
    seen_before_an_edit = 25
    response = await market.order(buyer, ticket, price=seen_before_an_edit)
    tally.expect(
        "price changed under the buyer",
        response,
        {409},
        "an order at a price the ticket no longer has",
        check=lambda body: body["errors"][0]["message"] == "Ticket price changed",
    )
    released = (await market.ticket(ticket))["orderId"] is None
    tally.judge("price changed under the buyer", released, "the ticket stayed held")


async def abuse(market: Market) -> dict[str, Any]:
    tally = Tally()
    seller, buyer = await market.users(2)
    ticket = await market.list_ticket(seller)
    order = await market.order(buyer, ticket)
    assert order.status_code == 201, order.text
    await _throttle_bypass(market, tally)
    await _oversized_bodies(market, tally, buyer.headers)
    await _wait_flood(market, tally, buyer.headers, order.json()["id"])
    await _price_changed(market, tally)
    return tally.report()

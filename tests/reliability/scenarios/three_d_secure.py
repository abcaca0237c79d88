"""Cards whose bank asks the buyer to confirm (3-D Secure), in every way a buyer can go:
confirmed, failed then another card, confirmed then cancelled at once (racing Stripe's
webhook), or never confirmed. Each order ends complete or cancelled, and the invariants
then check that no order keeps a charge it should not."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.reliability.market import Market, User
from tests.support.cards import NEEDS_3DS, authenticate
from tests.support.polling import eventually

WAYS = ("confirmed", "failed_then_other_card", "confirmed_then_cancelled", "never_confirmed")


async def three_d_secure(market: Market, *, purchases: int, settle_within: float) -> dict[str, Any]:
    seller, *buyers = await market.users(purchases + 1)
    ticket_ids = list(await asyncio.gather(*(market.list_ticket(seller) for _ in range(purchases))))

    async def buy(i: int, buyer: User, ticket_id: str) -> tuple[str, str]:
        way = WAYS[i % len(WAYS)]
        ordered = await market.order(buyer, ticket_id)
        assert ordered.status_code == 201, ordered.text
        order_id = ordered.json()["id"]
        action = await market.pay(buyer, order_id, card=NEEDS_3DS)
        assert action.status_code == 202, action.text
        intent, secret = action.json()["paymentIntentId"], action.json()["clientSecret"]
        if way != "never_confirmed":
            failed = way == "failed_then_other_card"
            await authenticate(market.stripe, intent, secret, success=not failed)
        if way == "failed_then_other_card":
            paid = await market.pay(buyer, order_id)
            assert paid.status_code == 201, paid.text
        if way == "confirmed_then_cancelled":
            cancelled = await market.cancel(buyer, order_id)
            # Stripe's webhook may have completed the order first: then it stays paid.
            assert cancelled.status_code in (204, 409), cancelled.text

        async def ended() -> dict[str, Any] | None:
            shown = await market.request("GET", f"/api/orders/{order_id}", headers=buyer.headers)
            order: dict[str, Any] = shown.json()
            return order if order["status"] in ("complete", "cancelled") else None

        order = await eventually(ended, within=settle_within, what=f"order {order_id} to end")
        expected = {
            "confirmed": ("complete",),
            "failed_then_other_card": ("complete",),
            "confirmed_then_cancelled": ("complete", "cancelled"),
            "never_confirmed": ("cancelled",),
        }[way]
        assert order["status"] in expected, (way, order)
        if order["status"] == "cancelled" and way == "confirmed_then_cancelled":
            assert order["refunded"], order
        return way, order["status"] + (" refunded" if order.get("refunded") else "")

    outcomes = await asyncio.gather(
        *(
            buy(i, buyer, ticket_id)
            for i, (buyer, ticket_id) in enumerate(zip(buyers, ticket_ids, strict=True))
        )
    )
    return {
        "purchases": purchases,
        "outcomes": {
            f"{way}: {ending}": count for (way, ending), count in sorted(Counter(outcomes).items())
        },
    }

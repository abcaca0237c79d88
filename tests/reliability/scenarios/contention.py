"""A rush of buyers on a few tickets: exactly one order per ticket wins."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.reliability.market import Market, User


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
            cancelled = await market.cancel(buyer, order_id)
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

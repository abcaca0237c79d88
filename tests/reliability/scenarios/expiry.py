"""Hundreds of reservations expiring at once: each releases its ticket in time."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from tests.reliability.market import Market
from tests.reliability.stack import HarnessStack


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
    # The orders replica may lag the release by milliseconds: retry the stragglers.
    answers: Counter[int] = Counter()
    for buyer, ticket, response in zip(buyers[::-1], ticket_ids, again, strict=True):
        if response.status_code == 409:
            await asyncio.sleep(0.2)
            response = await market.order(buyer, ticket)
        answers[response.status_code] += 1
    rebought = answers[201]
    assert rebought == reservations, f"{rebought} of {reservations} bought again: {answers}"
    return {
        "reservations": reservations,
        "window_seconds": window,
        "release_slack_p50_seconds": round(slack[len(slack) // 2], 3),
        "release_slack_max_seconds": round(slack[-1], 3),
        "bought_again": rebought,
    }

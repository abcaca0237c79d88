"""What the end-to-end tests share: a user signed up, a ticket listed, an order placed,
over HTTP on a running stack."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.polling import eventually

# The system is eventually consistent: how long a step may take to show.
SETTLE_SECONDS = 20


async def list_ticket(seller: httpx.AsyncClient, price: float = 25.5) -> dict[str, Any]:
    created = await seller.post("/api/tickets", json={"title": "Concert", "price": price})
    assert created.status_code == 201, created.text
    ticket: dict[str, Any] = created.json()
    return ticket


async def order_ticket(
    buyer: httpx.AsyncClient, ticket_id: str, *, lag_statuses: tuple[int, ...] = (404,)
) -> dict[str, Any]:
    async def placed() -> httpx.Response | None:
        # The orders service learns of the ticket through events: until then, the lag.
        response = await buyer.post("/api/orders", json={"ticketId": ticket_id})
        return None if response.status_code in lag_statuses else response

    response = await eventually(placed, within=SETTLE_SECONDS, what="the orders replica")
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order

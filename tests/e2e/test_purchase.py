"""End to end over HTTP on the real embedded stack (`ticketing up`), with a short window:
sign up, sell, buy, pay, see the order complete and the ticket sold; buy and let the
window pass, see the ticket for sale again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support.cards import card_token, payment_method
from tests.support.polling import eventually
from tests.support.stack import RunningStack

WINDOW_SECONDS = 4
# The system is eventually consistent: how long a step may take to show.
SETTLE_SECONDS = 20


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = RunningStack(
        Path(tmp_path_factory.mktemp("e2e")) / "var",
        ORDER_EXPIRATION_SECONDS=str(WINDOW_SECONDS),
    )
    stack.start()
    yield stack
    code, _children = stack.stop()
    assert code == 0


@pytest.fixture
async def user_factory(
    running: RunningStack,
) -> AsyncIterator[Callable[[], Awaitable[httpx.AsyncClient]]]:
    clients: list[httpx.AsyncClient] = []

    async def signed_up() -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=running.url("API_PORT"), timeout=30)
        clients.append(client)
        email = f"{uuid4().hex[:10]}@example.com"
        response = await client.post(
            "/api/users/signup", json={"email": email, "password": "secret-password"}
        )
        assert response.status_code == 201, response.text
        return client

    yield signed_up
    for client in clients:
        await client.aclose()


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


# Stripe.js's PaymentMethod, and the card token the course's client (Stripe Checkout) posts.
@pytest.mark.parametrize("make_card", [payment_method, card_token], ids=["pm", "tok"])
async def test_buy_pay_and_the_order_completes(
    running: RunningStack,
    user_factory: Callable[[], Awaitable[httpx.AsyncClient]],
    make_card: Callable[[str], Awaitable[str]],
) -> None:
    seller, buyer = await user_factory(), await user_factory()
    ticket = await list_ticket(seller)
    order = await order_ticket(buyer, ticket["id"])
    assert order["status"] == "awaiting:payment"
    assert order["expiresAt"]

    locked = (await seller.get(f"/api/tickets/{ticket['id']}")).json()
    assert locked["orderId"] == order["id"]
    edit = await seller.put(f"/api/tickets/{ticket['id']}", json={"title": "x", "price": 1})
    assert edit.status_code == 409

    async def paid() -> httpx.Response | None:
        response = await buyer.post(
            "/api/payments",
            json={
                "orderId": order["id"],
                "token": await make_card(running.url("LOCALSTRIPE_PORT")),
            },
        )
        return None if response.status_code == 404 else response  # the payments replica's lag

    payment = await eventually(paid, within=SETTLE_SECONDS, what="the payments replica")
    assert payment.status_code == 201, payment.text
    assert payment.json()["id"]

    async def completed() -> bool:
        response = await buyer.get(f"/api/orders/{order['id']}")
        return bool(response.json()["status"] == "complete")

    await eventually(completed, within=SETTLE_SECONDS, what="the order to complete")
    listed = (await buyer.get("/api/tickets", params={"limit": 200})).json()
    assert ticket["id"] not in {listed_ticket["id"] for listed_ticket in listed}
    again = await buyer.delete(f"/api/orders/{order['id']}")
    assert again.status_code == 409


async def test_an_unpaid_order_expires_and_the_ticket_is_for_sale_again(
    running: RunningStack, user_factory: Callable[[], Awaitable[httpx.AsyncClient]]
) -> None:
    seller, buyer = await user_factory(), await user_factory()
    ticket = await list_ticket(seller)
    order = await order_ticket(buyer, ticket["id"])

    async def cancelled() -> bool:
        response = await buyer.get(f"/api/orders/{order['id']}")
        return bool(response.json()["status"] == "cancelled")

    await eventually(cancelled, within=WINDOW_SECONDS + 15, what="the order to expire")
    expired = (await buyer.get(f"/api/orders/{order['id']}")).json()
    assert expired["cancelReason"] == "expired"

    async def for_sale_again() -> bool:
        shown = (await buyer.get(f"/api/tickets/{ticket['id']}")).json()
        return shown["orderId"] is None

    await eventually(for_sale_again, within=SETTLE_SECONDS, what="the ticket to be released")
    late = await buyer.post(
        "/api/payments",
        json={
            "orderId": order["id"],
            "token": await payment_method(running.url("LOCALSTRIPE_PORT")),
        },
    )
    assert late.status_code == 409
    second_buyer = await user_factory()
    second = await order_ticket(second_buyer, ticket["id"], lag_statuses=(404, 409))
    assert second["status"] == "awaiting:payment"

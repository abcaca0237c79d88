"""End to end over HTTP on the real embedded stack (`ticketing up`), with a short window:
sign up, sell, buy, pay, see the order complete and the ticket sold; buy and let the
window pass, see the ticket for sale again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import SETTLE_SECONDS, list_ticket, order_ticket
from tests.support.cards import card_token, payment_method
from tests.support.polling import eventually
from tests.support.stack import RunningStack

WINDOW_SECONDS = 4


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


# Stripe.js's PaymentMethod, and the card token the seed project's web client posts (Stripe
# Checkout).
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

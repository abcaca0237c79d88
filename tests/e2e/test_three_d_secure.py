"""3-D Secure end to end on the real embedded stack (`ticketing up`): localstripe sends
its signed webhooks to the payments service, as `ticketing up` registers them. A card
that needs authentication answers 202; the buyer authenticates (localstripe's stand-in
of Stripe.js's step); the order completes on Stripe's word, or on the saga's own look
when that word is lost; a success for an order no longer awaiting payment is refunded."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.localstripe import WEBHOOK_EVENTS, WEBHOOK_ID
from tests.e2e.support import SETTLE_SECONDS, list_ticket, order_ticket
from tests.support.cards import NEEDS_3DS, authenticate, localstripe, payment_method
from tests.support.polling import eventually
from tests.support.stack import RunningStack

WINDOW_SECONDS = 6
GRACE_SECONDS = 3
WEBHOOK_SECRET = "whsec_test_only_end_to_end"

Users = Callable[[], Awaitable[httpx.AsyncClient]]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = RunningStack(
        Path(tmp_path_factory.mktemp("e2e-3ds")) / "var",
        ORDER_EXPIRATION_SECONDS=str(WINDOW_SECONDS),
        PAYMENT_AUTHENTICATION_GRACE_SECONDS=str(GRACE_SECONDS),
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        # Two sign-ups a test, from one address.
        SIGNUPS_PER_ADDRESS="100/hour",
    )
    stack.start()
    yield stack
    code, _children = stack.stop()
    assert code == 0


@pytest.fixture
async def stripe(running: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    async with localstripe(running.url("LOCALSTRIPE_PORT")) as client:
        yield client


@contextlib.asynccontextmanager
async def webhooks_lost(running: RunningStack, stripe: httpx.AsyncClient) -> AsyncIterator[None]:
    """Stripe's webhooks go nowhere meanwhile (localstripe sends each once)."""

    async def send_to(url: str) -> None:
        registered = await stripe.post(
            f"/_config/webhooks/{WEBHOOK_ID}",
            json={"url": url, "secret": WEBHOOK_SECRET, "events": list(WEBHOOK_EVENTS)},
        )
        assert registered.status_code == 200, registered.text

    await send_to("http://127.0.0.1:9/nowhere")
    try:
        yield
    finally:
        await send_to(f"{running.url('API_PORT')}/api/payments/webhook")


async def ordered(users: Users) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    seller, buyer = await users(), await users()
    ticket = await list_ticket(seller)
    return buyer, await order_ticket(buyer, ticket["id"])


async def pay(buyer: httpx.AsyncClient, order: dict[str, Any], card: str) -> httpx.Response:
    async def answered() -> httpx.Response | None:
        response = await buyer.post("/api/payments", json={"orderId": order["id"], "token": card})
        return None if response.status_code == 404 else response  # the payments replica's lag

    return await eventually(answered, within=SETTLE_SECONDS, what="the payments replica")


async def needs_authentication(
    running: RunningStack, buyer: httpx.AsyncClient, order: dict[str, Any]
) -> dict[str, Any]:
    card = await payment_method(running.url("LOCALSTRIPE_PORT"), NEEDS_3DS)
    response = await pay(buyer, order, card)
    assert response.status_code == 202, response.text
    action: dict[str, Any] = response.json()
    assert action["status"] == "requires_action"
    assert action["paymentIntentId"].startswith("pi_")
    assert action["clientSecret"].startswith(action["paymentIntentId"])
    return action


async def order_becomes(
    buyer: httpx.AsyncClient, order: dict[str, Any], status: str, within: float
) -> dict[str, Any]:
    async def shown() -> dict[str, Any] | None:
        current: dict[str, Any] = (await buyer.get(f"/api/orders/{order['id']}")).json()
        return current if current["status"] == status else None

    found: dict[str, Any] = await eventually(shown, within=within, what=f"the order {status}")
    return found


async def intent_status(stripe: httpx.AsyncClient, intent_id: str) -> str:
    status: str = (await stripe.get(f"/v1/payment_intents/{intent_id}")).json()["status"]
    return status


async def test_an_authenticated_card_completes_the_order_on_stripes_webhook(
    running: RunningStack, user_factory: Users, stripe: httpx.AsyncClient
) -> None:
    buyer, order = await ordered(user_factory)
    action = await needs_authentication(running, buyer, order)
    assert (await buyer.get(f"/api/orders/{order['id']}")).json()["status"] == "awaiting:payment"

    await authenticate(stripe, action["paymentIntentId"], action["clientSecret"])

    # Well inside the window: the webhook, not the saga's look at its end, completed it.
    await order_becomes(buyer, order, "complete", within=WINDOW_SECONDS - 1)
    assert await intent_status(stripe, action["paymentIntentId"]) == "succeeded"


async def test_a_failed_authentication_leaves_the_order_to_another_card(
    running: RunningStack, user_factory: Users, stripe: httpx.AsyncClient
) -> None:
    buyer, order = await ordered(user_factory)
    action = await needs_authentication(running, buyer, order)
    await authenticate(stripe, action["paymentIntentId"], action["clientSecret"], success=False)

    paid = await pay(buyer, order, "pm_card_visa")

    assert paid.status_code == 201, paid.text
    await order_becomes(buyer, order, "complete", within=SETTLE_SECONDS)


async def test_a_lost_webhook_is_settled_by_the_sagas_own_look(
    running: RunningStack, user_factory: Users, stripe: httpx.AsyncClient
) -> None:
    buyer, order = await ordered(user_factory)
    action = await needs_authentication(running, buyer, order)
    async with webhooks_lost(running, stripe):
        await authenticate(stripe, action["paymentIntentId"], action["clientSecret"])
        completed = await order_becomes(
            buyer, order, "complete", within=WINDOW_SECONDS + GRACE_SECONDS + SETTLE_SECONDS
        )
    assert completed["refunded"] is False


async def test_an_unfinished_authentication_is_cancelled_when_the_order_expires(
    running: RunningStack, user_factory: Users, stripe: httpx.AsyncClient
) -> None:
    buyer, order = await ordered(user_factory)
    action = await needs_authentication(running, buyer, order)

    expired = await order_becomes(
        buyer, order, "cancelled", within=WINDOW_SECONDS + GRACE_SECONDS + SETTLE_SECONDS
    )

    assert (expired["cancelReason"], expired["refunded"]) == ("expired", False)
    assert await intent_status(stripe, action["paymentIntentId"]) == "canceled"


async def test_a_success_for_an_order_no_longer_awaiting_payment_is_refunded(
    running: RunningStack, user_factory: Users, stripe: httpx.AsyncClient
) -> None:
    buyer, order = await ordered(user_factory)
    action = await needs_authentication(running, buyer, order)
    async with webhooks_lost(running, stripe):
        # The buyer authenticates, then cancels before Stripe's word reached the saga.
        await authenticate(stripe, action["paymentIntentId"], action["clientSecret"])
        cancelled = await buyer.delete(f"/api/orders/{order['id']}")
        assert cancelled.status_code == 204, cancelled.text

    shown = await order_becomes(buyer, order, "cancelled", within=SETTLE_SECONDS)
    assert shown["refunded"] is True
    refunds = (
        await stripe.get("/v1/refunds", params={"payment_intent": action["paymentIntentId"]})
    ).json()["data"]
    assert [refund["amount"] for refund in refunds] == [2550]


async def test_a_forged_webhook_is_refused_and_changes_nothing(
    running: RunningStack, user_factory: Users
) -> None:
    buyer, order = await ordered(user_factory)
    forged = await buyer.post(
        "/api/payments/webhook",
        content=b'{"id": "evt_forged", "type": "payment_intent.succeeded"}',
        headers={"stripe-signature": "t=1700000000,v1=00", "content-type": "application/json"},
    )
    assert forged.status_code == 400
    assert (await buyer.get(f"/api/orders/{order['id']}")).json()["status"] == "awaiting:payment"

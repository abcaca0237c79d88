"""The purchase saga with a card that needs the buyer's authentication (3-D Secure), on
the time-skipping test server: the charge answers that it waits, Stripe's word (the
payment_event signal) or the saga's own look at the window's end settles it."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from tests.support.polling import eventually
from tests.workflows.support import THREE_DS_TOKEN, Purchases, update_error_type
from workflows.contracts import FailureType
from workflows.models import (
    ChargeOutcome,
    PaymentAnswer,
    PaymentEvent,
    PaymentRequest,
    PurchaseState,
)
from workflows.purchase import PurchaseWorkflow
from workflows.steps import Activity

GOOD_TOKEN = "pm_card_visa"
Handle = WorkflowHandle[PurchaseWorkflow, PurchaseState]


def request(order_id: UUID, token: str) -> PaymentRequest:
    return PaymentRequest(order_id=order_id, buyer_id=uuid4(), token=token)


async def reserved(
    purchases: Purchases, *, window_seconds: int = 15 * 60, authentication_grace_seconds: int = 0
) -> tuple[Handle, UUID]:
    handle = await purchases.start(
        window_seconds=window_seconds, authentication_grace_seconds=authentication_grace_seconds
    )
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = purchases.shop.ticket_holder
    assert order_id is not None
    return handle, order_id


async def pay(handle: Handle, order_id: UUID, token: str) -> PaymentAnswer:
    return await handle.execute_update(PurchaseWorkflow.pay, request(order_id, token))


async def stripe_says(handle: Handle, event_type: str = "payment_intent.succeeded") -> None:
    await handle.signal(
        PurchaseWorkflow.payment_event,
        PaymentEvent(payment_intent_id="pi_1", event_type=event_type),
    )


async def authenticating(handle: Handle) -> bool:
    return (await handle.query(PurchaseWorkflow.state)).authenticating


async def test_the_charge_waits_for_the_buyer_then_stripes_word_completes_it(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases)
    receipt = await pay(handle, order_id, THREE_DS_TOKEN)
    assert receipt.status is ChargeOutcome.REQUIRES_ACTION
    assert receipt.client_secret == "pi_1_secret"
    state = await handle.query(PurchaseWorkflow.state)
    assert (state.status, state.authenticating, state.charged) == ("awaiting:payment", True, False)

    purchases.shop.authenticated(order_id)
    await stripe_says(handle)
    final = await handle.result()

    assert (final.status, final.charged, final.authenticating) == ("complete", True, False)
    assert purchases.shop.orders[order_id] == "complete"
    assert [subject for subject, _ in purchases.shop.events][-3:] == [
        "charge.created",
        "ticket.updated",
        "order.completed",
    ]


async def test_a_failed_authentication_is_a_decline_and_another_card_pays(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases)
    await pay(handle, order_id, THREE_DS_TOKEN)
    purchases.shop.authenticated(order_id, "requires_payment_method")
    await stripe_says(handle, "payment_intent.payment_failed")

    async def declined() -> bool:
        return not await authenticating(handle)

    await eventually(declined, within=10, what="the failed authentication to settle")
    state = await handle.query(PurchaseWorkflow.state)
    assert (state.status, state.charged) == ("awaiting:payment", False)

    receipt = await pay(handle, order_id, GOOD_TOKEN)
    assert receipt.status is ChargeOutcome.SUCCEEDED
    final = await handle.result()
    assert (final.status, final.payment_attempts) == ("complete", 2)
    assert purchases.shop.charges == {order_id: GOOD_TOKEN}


async def test_another_card_while_one_authenticates_cancels_the_first(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases)
    await pay(handle, order_id, THREE_DS_TOKEN)
    receipt = await pay(handle, order_id, GOOD_TOKEN)
    assert receipt.status is ChargeOutcome.SUCCEEDED
    assert (await handle.result()).status == "complete"
    # The first PaymentIntent was cancelled: it can take no money any more.
    assert order_id not in purchases.shop.intents
    assert purchases.shop.charges == {order_id: GOOD_TOKEN}


async def test_without_a_webhook_the_saga_asks_stripe_when_the_window_ends(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases, window_seconds=60, authentication_grace_seconds=30)
    await pay(handle, order_id, THREE_DS_TOKEN)
    # The buyer authenticates; Stripe's webhook never arrives.
    purchases.shop.authenticated(order_id)

    final = await handle.result()
    assert (final.status, final.charged) == ("complete", True)
    assert Activity.SETTLE_AUTHENTICATION in purchases.shop.calls


async def test_an_unfinished_authentication_is_cancelled_and_the_order_expires(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases, window_seconds=60, authentication_grace_seconds=30)
    await pay(handle, order_id, THREE_DS_TOKEN)

    final = await handle.result()
    assert (final.status, final.charged, final.ticket_reserved) == ("cancelled", False, False)
    assert order_id not in purchases.shop.intents
    assert purchases.shop.charges == {}
    assert ("order.expired", order_id) in purchases.shop.events


async def test_an_authentication_begun_in_the_window_may_finish_in_the_grace(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases, window_seconds=2, authentication_grace_seconds=600)
    await pay(handle, order_id, THREE_DS_TOKEN)
    # In real time: skipping time would wait for any work an earlier test left behind.
    await asyncio.sleep(3)
    state = await handle.query(PurchaseWorkflow.state)
    assert (state.status, state.authenticating) == ("awaiting:payment", True)
    # The window is over for new cards...
    with pytest.raises(WorkflowUpdateFailedError) as late:
        await pay(handle, order_id, GOOD_TOKEN)
    assert update_error_type(late.value)[0] == FailureType.NOT_AWAITING_PAYMENT

    # ...not for the authentication under way.
    purchases.shop.authenticated(order_id)
    await stripe_says(handle)
    final = await handle.result()
    assert (final.status, final.charged) == ("complete", True)


async def test_an_order_cancelled_while_its_card_authenticated_is_refunded(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases)
    await pay(handle, order_id, THREE_DS_TOKEN)
    # The buyer authenticated, and cancels before Stripe's webhook reached us.
    purchases.shop.authenticated(order_id)
    cancelled = await handle.execute_update(PurchaseWorkflow.cancel)

    assert (cancelled.status, cancelled.refunded) == ("cancelled", True)
    assert purchases.shop.refunds == [order_id]
    assert purchases.shop.cancelled_refunded == {order_id: True}
    assert purchases.shop.ticket_status == "available"


async def test_stripes_word_without_an_authentication_changes_nothing(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases)
    await stripe_says(handle)
    await stripe_says(handle)
    await pay(handle, order_id, GOOD_TOKEN)
    final = await handle.result()
    assert (final.status, final.payment_attempts) == ("complete", 1)
    assert Activity.SETTLE_AUTHENTICATION not in purchases.shop.calls


async def test_stripes_word_heard_before_a_charge_makes_no_settle_after_it(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases)
    await stripe_says(handle)  # of nothing under way: stale once a charge starts
    receipt = await pay(handle, order_id, THREE_DS_TOKEN)
    assert receipt.status is ChargeOutcome.REQUIRES_ACTION
    state = await handle.query(PurchaseWorkflow.state)
    assert (state.authenticating, state.stripe_moved) == (True, False)
    await handle.execute_update(PurchaseWorkflow.cancel)
    # By the end, anything the stale word set off has run: nothing did.
    assert Activity.SETTLE_AUTHENTICATION not in purchases.shop.calls

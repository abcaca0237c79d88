"""The saga's edges on the time-skipping test server: one payment interaction at a time,
compensations that keep failing, and an operator cancelling the workflow mid-step."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import CancelledError

from tests.support.polling import eventually
from tests.workflows.support import THREE_DS_TOKEN, Purchases, update_error_type
from workflows.contracts import FailureType
from workflows.models import (
    Canceller,
    ChargeOutcome,
    PaymentAnswer,
    PaymentEvent,
    PaymentRequest,
    PaymentStep,
    PurchaseState,
)
from workflows.purchase import PurchaseWorkflow
from workflows.steps import Activity

GOOD_TOKEN = "pm_card_visa"
Handle = WorkflowHandle[PurchaseWorkflow, PurchaseState]


async def reserved(purchases: Purchases) -> tuple[Handle, UUID]:
    handle = await purchases.start()
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = purchases.shop.ticket_holder
    assert order_id is not None
    return handle, order_id


def pay(handle: Handle, order_id: UUID, token: str = GOOD_TOKEN) -> asyncio.Task[PaymentAnswer]:
    request = PaymentRequest(order_id=order_id, buyer_id=uuid4(), token=token)
    return asyncio.create_task(handle.execute_update(PurchaseWorkflow.pay, request))


async def state(handle: Handle) -> PurchaseState:
    return await handle.query(PurchaseWorkflow.state)


# --- one payment interaction at a time ------------------------------------------------


async def test_stripes_word_on_a_first_card_waits_for_a_second_cards_charge(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases)
    first = await pay(handle, order_id, THREE_DS_TOKEN)
    assert first.status is ChargeOutcome.REQUIRES_ACTION
    gate = purchases.shop.gate(Activity.CHARGE)
    second = pay(handle, order_id)
    await purchases.called(Activity.CHARGE, times=2)

    # The first card's authentication fails while the second card is being charged.
    purchases.shop.authenticated(order_id, "requires_payment_method")
    await handle.signal(
        PurchaseWorkflow.payment_event,
        PaymentEvent(payment_intent_id="pi_1", event_type="payment_intent.payment_failed"),
    )
    now = await state(handle)
    assert (now.phase, now.paying) == ("awaiting_payment", PaymentStep.CHARGE)
    # Nothing treats the charge as over: not another payment...
    with pytest.raises(WorkflowUpdateFailedError) as busy:
        await pay(handle, order_id)
    assert update_error_type(busy.value) == (
        FailureType.NOT_AWAITING_PAYMENT,
        "A payment is already in progress",
    )
    # ...nor a settle beside it.
    assert Activity.SETTLE_AUTHENTICATION not in purchases.shop.calls

    gate.set()
    assert (await second).status is ChargeOutcome.SUCCEEDED
    final = await handle.result()
    assert (final.status, final.charged, final.refunded) == ("complete", True, False)
    assert purchases.shop.most_paying_at_once == 1
    assert purchases.shop.charges == {order_id: GOOD_TOKEN}
    # The charge settled the first card itself: the webhook needed no look of its own.
    assert Activity.SETTLE_AUTHENTICATION not in purchases.shop.calls


async def test_two_payments_at_once_charge_once(purchases: Purchases) -> None:
    handle, order_id = await reserved(purchases)
    gate = purchases.shop.gate(Activity.CHARGE)
    payments = [pay(handle, order_id), pay(handle, order_id)]
    await purchases.called(Activity.CHARGE)

    async def one_answered() -> bool:
        return any(payment.done() for payment in payments)

    await eventually(one_answered, within=10, what="the second payment to be refused")
    refused = next(payment for payment in payments if payment.done())
    with pytest.raises(WorkflowUpdateFailedError) as busy:
        await refused
    assert update_error_type(busy.value) == (
        FailureType.NOT_AWAITING_PAYMENT,
        "A payment is already in progress",
    )
    gate.set()
    charged = next(payment for payment in payments if payment is not refused)
    assert (await charged).status is ChargeOutcome.SUCCEEDED
    assert (await handle.result()).status == "complete"
    assert purchases.shop.calls.count(Activity.CHARGE) == 1


# --- compensations --------------------------------------------------------------------


async def test_a_compensation_failing_for_an_hour_finishes_and_the_history_stays_small(
    purchases: Purchases,
) -> None:
    purchases.shop.down_for[Activity.CANCEL_ORDER] = timedelta(hours=1)
    handle = await purchases.start(window_seconds=60)
    await handle.execute_update(PurchaseWorkflow.wait_reserved)

    final = await handle.result()
    assert (final.status, final.ticket_reserved) == ("cancelled", False)
    assert purchases.shop.calls.count(Activity.CANCEL_ORDER) > 100
    assert list(purchases.shop.orders.values()) == ["cancelled"]
    history = await handle.fetch_history()
    assert len(history.events) < 60
    # An ordinary activity (visible, pausable in the Web UI), not a local one.
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert Activity.CANCEL_ORDER in scheduled
    # Searchable while it lasted: OrderStatus="cancelling".
    upserted = [
        event.upsert_workflow_search_attributes_event_attributes.search_attributes
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    assert any(
        b'"cancelling"' in sa.indexed_fields["OrderStatus"].data
        for sa in upserted
        if "OrderStatus" in sa.indexed_fields
    )


async def test_a_refund_slower_than_the_old_ten_second_timeout_finishes_at_once(
    purchases: Purchases,
) -> None:
    """Stripe answering in 15 s: every refund attempt used to hit its 10 s timeout and be
    retried for as long as Stripe stayed slow. Its timeout now covers Stripe's worst."""
    purchases.shop.refuse_mark_sold = True
    purchases.shop.slow[Activity.REFUND] = 15
    handle, order_id = await reserved(purchases)
    await pay(handle, order_id)
    # (With the old timeout this never ends: each attempt times out and is retried.)
    final = await asyncio.wait_for(handle.result(), timeout=40)
    assert (final.status, final.refunded) == ("cancelled", True)
    assert purchases.shop.calls.count(Activity.REFUND) == 1


async def test_a_charge_answered_in_a_minute_is_taken_once_and_the_order_completes(
    purchases: Purchases,
) -> None:
    """Stripe answering in 60 s, near one call's worst (the gateway's tries and their
    backoff): the charge's timeout and heartbeat timeout cover it, so the attempt is
    neither timed out nor tried again, and the buyer's payment completes the order."""
    purchases.shop.slow[Activity.CHARGE] = 60
    handle, order_id = await reserved(purchases)
    answer = await asyncio.wait_for(pay(handle, order_id), timeout=120)
    assert answer.status is ChargeOutcome.SUCCEEDED
    final = await asyncio.wait_for(handle.result(), timeout=60)
    assert (final.status, final.refunded) == ("complete", False)
    assert purchases.shop.calls.count(Activity.CHARGE) == 1


# --- an operator cancels the workflow --------------------------------------------------


async def test_an_operator_cancel_during_the_reserve_releases_what_it_locked(
    purchases: Purchases,
) -> None:
    gate = purchases.shop.gate(Activity.RESERVE_TICKET)
    handle = await purchases.start()
    await purchases.called(Activity.RESERVE_TICKET)
    await handle.cancel()
    gate.set()  # the reserve commits after the cancel

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    assert purchases.shop.ticket_holder is None and purchases.shop.ticket_status == "available"
    assert list(purchases.shop.orders.values()) == ["cancelled"]


async def test_an_operator_cancel_during_a_charge_lets_the_charge_decide(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases)
    gate = purchases.shop.gate(Activity.CHARGE)
    payment = pay(handle, order_id)
    await purchases.called(Activity.CHARGE)
    await handle.cancel()
    gate.set()

    # The buyer is told what happened to their card, and the paid order completes.
    assert (await payment).status is ChargeOutcome.SUCCEEDED
    final = await handle.result()
    assert (final.status, final.refunded) == ("complete", False)
    assert final.cancel_requested is Canceller.OPERATOR
    assert purchases.shop.refunds == [] and purchases.shop.ticket_status == "sold"


async def test_an_operator_cancel_during_completion_completes_the_paid_order(
    purchases: Purchases,
) -> None:
    handle, order_id = await reserved(purchases)
    gate = purchases.shop.gate(Activity.MARK_TICKET_SOLD)
    await pay(handle, order_id)
    await purchases.called(Activity.MARK_TICKET_SOLD)
    await handle.cancel()
    gate.set()

    final = await handle.result()
    assert (final.status, final.refunded, final.cancel_requested) == (
        "complete",
        False,
        Canceller.OPERATOR,
    )
    assert purchases.shop.orders[order_id] == "complete"
    assert purchases.shop.ticket_status == "sold" and purchases.shop.refunds == []
    assert Activity.RELEASE_TICKET not in purchases.shop.calls
    # And says so, where the Web UI shows the workflow's current details.
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "cancel requested after payment" in metadata.current_details

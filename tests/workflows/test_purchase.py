"""The purchase saga on the time-skipping test server: every path, from the outside."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import CancelledError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from tests.support.polling import eventually
from tests.workflows.support import (
    DECLINE_MESSAGE,
    DECLINED_TOKEN,
    DEFAULT_WINDOW_SECONDS,
    Purchases,
    update_error_type,
)
from workflows.contracts import ORDER_STATUS, CancelReason, FailureType
from workflows.models import PaymentAnswer, PaymentRequest, PurchaseState
from workflows.purchase import PurchaseWorkflow
from workflows.steps import Activity

GOOD_TOKEN = "pm_card_visa"


def request(order_id: object, token: str = GOOD_TOKEN) -> PaymentRequest:
    return PaymentRequest.model_validate(
        {"order_id": order_id, "buyer_id": uuid4(), "token": token}
    )


async def test_paid_order_completes_and_sells_the_ticket(purchases: Purchases) -> None:
    handle = await purchases.start()
    reserved = await handle.execute_update(PurchaseWorkflow.wait_reserved)
    assert reserved.status == "awaiting:payment"
    order_id = purchases.shop.ticket_holder
    assert order_id is not None

    receipt = await handle.execute_update(PurchaseWorkflow.pay, request(order_id))
    assert isinstance(receipt, PaymentAnswer)

    final = await handle.result()
    assert (final.status, final.charged, final.refunded) == ("complete", True, False)
    assert purchases.shop.ticket_status == "sold"
    assert purchases.shop.orders[order_id] == "complete"
    assert [subject for subject, _ in purchases.shop.events] == [
        "ticket.updated",
        "order.created",
        "charge.created",
        "ticket.updated",
        "order.completed",
    ]
    described = await handle.describe()
    assert described.typed_search_attributes.get(ORDER_STATUS) == "complete"
    # Closed once paid: a second payment cannot reach a charge.
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await handle.execute_update(PurchaseWorkflow.pay, request(order_id))
    assert list(purchases.shop.charges) == [order_id]


async def test_unpaid_order_expires_at_the_default_window(
    purchases: Purchases, temporal_env: WorkflowEnvironment
) -> None:
    handle = await purchases.start()
    reserved = await handle.execute_update(PurchaseWorkflow.wait_reserved)
    started = await temporal_env.get_current_time()
    assert reserved.deadline is not None
    window = reserved.deadline - started
    assert (
        timedelta(seconds=DEFAULT_WINDOW_SECONDS - 5)
        < window
        <= timedelta(seconds=DEFAULT_WINDOW_SECONDS)
    )
    described = await handle.describe()
    assert described.typed_search_attributes.get(ORDER_STATUS) == "awaiting:payment"

    final = await handle.result()  # the test server skips the 15 minutes
    assert await temporal_env.get_current_time() >= reserved.deadline
    assert (final.status, final.ticket_reserved, final.charged) == ("cancelled", False, False)
    order_id = (await handle.describe()).id.removeprefix("order-")
    assert purchases.shop.ticket_holder is None and purchases.shop.ticket_status == "available"
    assert ("order.expired", reserved_order(purchases)) in purchases.shop.events
    assert purchases.shop.orders[reserved_order(purchases)] == "cancelled"
    assert str(reserved_order(purchases)) == order_id
    # Nothing was charged, so the payments service was never involved.
    assert "refund" not in purchases.shop.calls


def reserved_order(purchases: Purchases) -> UUID:
    return next(order for subject, order in purchases.shop.events if subject == "order.created")


async def test_buyer_cancels_and_the_ticket_is_released(purchases: Purchases) -> None:
    handle = await purchases.start()
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = reserved_order(purchases)

    state = await handle.execute_update(PurchaseWorkflow.cancel)
    assert (state.status, state.ticket_reserved) == ("cancelled", False)
    assert purchases.shop.ticket_holder is None
    assert ("order.cancelled", order_id) in purchases.shop.events
    assert ("order.expired", order_id) not in purchases.shop.events
    assert (await handle.result()).status == "cancelled"


async def test_declined_card_then_a_good_one(purchases: Purchases) -> None:
    handle = await purchases.start()
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = reserved_order(purchases)

    with pytest.raises(WorkflowUpdateFailedError) as declined:
        await handle.execute_update(PurchaseWorkflow.pay, request(order_id, DECLINED_TOKEN))
    assert update_error_type(declined.value) == (FailureType.CARD_DECLINED, DECLINE_MESSAGE)
    state = await handle.query(PurchaseWorkflow.state)
    assert (state.status, state.payment_attempts) == ("awaiting:payment", 1)

    await handle.execute_update(PurchaseWorkflow.pay, request(order_id))
    final = await handle.result()
    assert (final.status, final.payment_attempts, final.charged) == ("complete", 2, True)


async def test_declined_until_the_window_ends(purchases: Purchases) -> None:
    handle = await purchases.start()
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = reserved_order(purchases)
    for _ in range(2):
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(PurchaseWorkflow.pay, request(order_id, DECLINED_TOKEN))

    final = await handle.result()
    assert (final.status, final.payment_attempts, final.charged) == ("cancelled", 2, False)
    assert ("order.expired", order_id) in purchases.shop.events
    assert purchases.shop.ticket_holder is None
    # A charge was attempted, so the refund ran, and found nothing to give back.
    assert "refund" in purchases.shop.calls and purchases.shop.refunds == []


async def test_ticket_already_taken(purchases: Purchases) -> None:
    other_order = uuid4()
    purchases.shop.ticket_holder, purchases.shop.ticket_status = other_order, "reserved"
    handle = await purchases.start()

    with pytest.raises(WorkflowUpdateFailedError) as taken:
        await handle.execute_update(PurchaseWorkflow.wait_reserved)
    assert update_error_type(taken.value) == (
        FailureType.TICKET_UNAVAILABLE,
        "Ticket is already reserved",
    )
    final = await handle.result()
    assert final.status == "cancelled"
    # The other order keeps the ticket; this order was never announced.
    assert purchases.shop.ticket_holder == other_order
    assert purchases.shop.events == []
    assert list(purchases.shop.orders.values()) == ["cancelled"]


async def test_payment_after_the_window_is_refused(purchases: Purchases) -> None:
    gate = purchases.shop.gate("release_ticket")
    handle = await purchases.start(window_seconds=60)
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = reserved_order(purchases)
    result = asyncio.create_task(handle.result())  # lets the test server skip to the end

    # The window has ended and the saga is undoing the order (held in the release).
    async def releasing() -> bool:
        return "release_ticket" in purchases.shop.calls

    await eventually(releasing, within=10, pause=0.02, what="the release to start")
    with pytest.raises(WorkflowUpdateFailedError) as late:
        await handle.execute_update(PurchaseWorkflow.pay, request(order_id))
    assert update_error_type(late.value)[0] == FailureType.NOT_AWAITING_PAYMENT
    gate.set()
    assert (await result).status == "cancelled"
    # Once the saga is over, a payment cannot reach it at all.
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await handle.execute_update(PurchaseWorkflow.pay, request(order_id))
    assert purchases.shop.charges == {}


async def test_a_refusal_to_complete_a_paid_order_refunds_it_and_says_why(
    purchases: Purchases,
) -> None:
    purchases.shop.refuse_mark_sold = True
    handle = await purchases.start()
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = reserved_order(purchases)

    await handle.execute_update(PurchaseWorkflow.pay, request(order_id))
    final = await handle.result()
    assert (final.status, final.charged, final.refunded) == ("cancelled", True, True)
    assert purchases.shop.refunds == [order_id]
    assert purchases.shop.ticket_holder is None
    assert ("order.cancelled", order_id) in purchases.shop.events
    assert purchases.shop.cancelled_reasons[order_id] == CancelReason.COMPLETION_REFUSED
    # Undone last-first: the money back, then the ticket, then the order.
    undo = [
        call
        for call in purchases.shop.calls
        if call in ("refund", "release_ticket", "cancel_order")
    ]
    assert undo == ["refund", "release_ticket", "cancel_order"]


async def test_a_paid_order_outlives_an_outage_of_the_tickets_service(
    purchases: Purchases, temporal_env: WorkflowEnvironment
) -> None:
    """Past payment the saga only goes forward: five minutes of a tickets service that
    refuses connections delay the sale, and refund nothing."""
    purchases.shop.down_for[Activity.MARK_TICKET_SOLD] = timedelta(minutes=5)
    handle = await purchases.start()
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = reserved_order(purchases)
    paid_at = await temporal_env.get_current_time()

    await handle.execute_update(PurchaseWorkflow.pay, request(order_id))
    final = await handle.result()
    assert (final.status, final.charged, final.refunded) == ("complete", True, False)
    assert await temporal_env.get_current_time() - paid_at >= timedelta(minutes=5)
    assert purchases.shop.calls.count("mark_ticket_sold") > 8  # more than the old 8 tries
    assert purchases.shop.refunds == [] and "refund" not in purchases.shop.calls
    assert (purchases.shop.ticket_status, purchases.shop.orders[order_id]) == ("sold", "complete")


async def test_cancelling_the_workflow_still_compensates(purchases: Purchases) -> None:
    handle = await purchases.start()
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = reserved_order(purchases)

    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    assert purchases.shop.ticket_holder is None
    assert purchases.shop.orders[order_id] == "cancelled"
    state: PurchaseState = await handle.query(PurchaseWorkflow.state)
    assert state.status == "cancelled"


async def test_the_lock_fixes_the_price_the_order_costs_and_the_charge_takes(
    purchases: Purchases,
) -> None:
    # The orders replica still had 25.50 when the order was placed; the ticket was 30.00.
    purchases.shop.ticket_price_cents = 3000
    handle = await purchases.start(price_cents=2550)
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = purchases.shop.ticket_holder
    assert order_id is not None
    assert purchases.shop.order_price_cents[order_id] == 3000
    await handle.execute_update(PurchaseWorkflow.pay, request(order_id))
    assert (await handle.result()).status == "complete"
    assert purchases.shop.charged_cents[order_id] == 3000


async def test_a_price_changed_under_the_buyer_lets_the_ticket_go(purchases: Purchases) -> None:
    purchases.shop.ticket_price_cents = 3000
    handle = await purchases.start(price_cents=2550, expected_price_cents=2550)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.wait_reserved)
    assert update_error_type(refused.value) == (FailureType.PRICE_CHANGED, "Ticket price changed")
    final = await handle.result()
    assert (final.status, final.ticket_reserved, final.charged) == ("cancelled", False, False)
    assert purchases.shop.ticket_holder is None and purchases.shop.ticket_status == "available"
    # Locked, then let go; never announced, so no order event at all.
    assert [subject for subject, _ in purchases.shop.events] == ["ticket.updated"] * 2
    assert list(purchases.shop.orders.values()) == ["cancelled"]


async def test_the_price_the_buyer_saw_is_the_price_locked(purchases: Purchases) -> None:
    purchases.shop.ticket_price_cents = 3000
    handle = await purchases.start(price_cents=2550, expected_price_cents=3000)
    reserved = await handle.execute_update(PurchaseWorkflow.wait_reserved)
    assert reserved.status == "awaiting:payment"

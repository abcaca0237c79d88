"""Re-records the committed histories of the purchase saga, one per path.

    .venv/bin/python -m tests.replay.record [path ...]

Each path runs on a real Temporal dev server, started the way production starts it: the
orders service's purchase client (Update-with-Start), the payments service's (the pay
Update, with an Idempotency-Key where the path says so; the webhook's signal), the
services' workers on their own queues, against the test doubles of
tests/workflows/support.py (which make outages and refusals happen on cue). A path that
does not end the way it says fails the recording: nothing wrong is written.

Run it when a deliberate change to the saga makes new histories. Keep the old ones under
``before_<change>/`` while purchases begun before the change may still run (replaying
them is what proves the change safe), and delete them when the change's patch goes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from services.orders.errors import PriceChanged, TicketReserved
from services.payments.errors import AttemptInFlight, CardDeclined
from services.payments.purchase_client import tell_payment_event
from tests.support.polling import eventually
from tests.support.temporal import start_dev_env
from tests.workflows.support import (
    CALL_DEADLINE,
    DECLINED_TOKEN,
    THREE_DS_TOKEN,
    Purchases,
    Shop,
    running_purchases,
)
from workflows.models import ChargeOutcome, PaymentEvent
from workflows.purchase import PurchaseWorkflow
from workflows.steps import Activity

HISTORIES = Path(__file__).parent / "histories"
Handle = WorkflowHandle[Any, Any]
COMPLETED, CANCELED = WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CANCELED
# Windows short enough to end in real time on the dev server.
SHORT = {"window_seconds": 2, "authentication_grace_seconds": 2}


async def refused(error: type[Exception], call: Awaitable[Any]) -> None:
    """``call`` must be refused with ``error``: the path is wrong otherwise."""
    try:
        await call
    except error:
        return
    raise AssertionError(f"expected {error.__name__}")


def order_of(handle: Handle) -> UUID:
    return UUID(handle.id.removeprefix("order-"))


async def stripe_says(purchases: Purchases, handle: Handle, event_type: str) -> None:
    event = PaymentEvent(payment_intent_id="pi_1", event_type=event_type)
    assert await tell_payment_event(
        purchases.client, order_of(handle), event, deadline=CALL_DEADLINE
    )


# --- the paths: each drives one purchase, and says how its workflow ends ----------------

Path_ = Callable[[Purchases], Awaitable[tuple[Handle, WorkflowExecutionStatus]]]


async def paid(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order()
    await purchases.pay(handle)
    return handle, COMPLETED


async def paid_twice_with_one_key(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order()
    first, again = await asyncio.gather(
        purchases.pay(handle, key="click-1"), purchases.pay(handle, key="click-1")
    )
    assert first == again
    return handle, COMPLETED


async def expired(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    return await purchases.order(**SHORT), COMPLETED


async def cancelled(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order()
    await handle.execute_update(PurchaseWorkflow.cancel)
    return handle, COMPLETED


async def declined_then_paid(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order()
    await refused(CardDeclined, purchases.pay(handle, DECLINED_TOKEN))
    await purchases.pay(handle)
    return handle, COMPLETED


async def declined_until_expiry(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order(**SHORT)
    await refused(CardDeclined, purchases.pay(handle, DECLINED_TOKEN))
    return handle, COMPLETED


async def ticket_taken(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    purchases.shop.ticket_holder, purchases.shop.ticket_status = UUID(int=1), "reserved"
    await refused(TicketReserved, purchases.order())
    return purchases.started[-1], COMPLETED


async def price_changed(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    purchases.shop.ticket_price_cents = 3000
    await refused(PriceChanged, purchases.order(price_cents=2550, expected_price_cents=2550))
    return purchases.started[-1], COMPLETED


async def refunded(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    """Paid, and the tickets service refuses to sell: a business refusal, refunded."""
    purchases.shop.refuse_mark_sold = True
    handle = await purchases.order()
    await purchases.pay(handle)
    return handle, COMPLETED


async def paid_through_an_outage(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    """Paid while the tickets service is down for a while: it completes, unrefunded."""
    purchases.shop.down_for[Activity.MARK_TICKET_SOLD] = timedelta(seconds=2)
    handle = await purchases.order()
    await purchases.pay(handle)
    return handle, COMPLETED


async def compensation_retried(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    """The orders service is down while the order is cancelled: retried until it is."""
    purchases.shop.down_for[Activity.CANCEL_ORDER] = timedelta(seconds=2)
    handle = await purchases.order()
    await handle.execute_update(PurchaseWorkflow.cancel)
    return handle, COMPLETED


async def workflow_cancelled(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order()
    await handle.cancel()
    return handle, CANCELED


async def workflow_cancelled_during_the_reserve(
    purchases: Purchases,
) -> tuple[Handle, WorkflowExecutionStatus]:
    """An operator cancels while the ticket is being locked: the lock finishes, then is undone."""
    gate = purchases.shop.gate(Activity.RESERVE_TICKET)
    ordering = asyncio.create_task(purchases.order())
    await purchases.called(Activity.RESERVE_TICKET)
    handle = purchases.started[-1]
    await handle.cancel()
    gate.set()
    await ordering
    return handle, CANCELED


async def workflow_cancelled_during_a_charge(
    purchases: Purchases,
) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order()
    gate = purchases.shop.gate(Activity.CHARGE)
    paying = asyncio.create_task(purchases.pay(handle))
    await purchases.called(Activity.CHARGE)
    await handle.cancel()
    gate.set()
    assert (await paying).status is ChargeOutcome.SUCCEEDED
    return handle, COMPLETED


async def workflow_cancelled_during_completion(
    purchases: Purchases,
) -> tuple[Handle, WorkflowExecutionStatus]:
    gate = purchases.shop.gate(Activity.MARK_TICKET_SOLD)
    handle = await purchases.order()
    await purchases.pay(handle)
    await purchases.called(Activity.MARK_TICKET_SOLD)
    await handle.cancel()
    gate.set()
    return handle, COMPLETED


async def three_d_secure_paid(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order()
    await purchases.pay(handle, THREE_DS_TOKEN)
    purchases.shop.authenticated(order_of(handle))
    await stripe_says(purchases, handle, "payment_intent.succeeded")
    return handle, COMPLETED


async def three_d_secure_failed_then_paid(
    purchases: Purchases,
) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order()
    await purchases.pay(handle, THREE_DS_TOKEN)
    purchases.shop.authenticated(order_of(handle), "requires_payment_method")
    await stripe_says(purchases, handle, "payment_intent.payment_failed")

    async def declined() -> bool:
        return not (await handle.query(PurchaseWorkflow.state)).authenticating

    await eventually(declined, within=10, what="the failed authentication to settle")
    await purchases.pay(handle)
    return handle, COMPLETED


async def three_d_secure_webhook_during_another_charge(
    purchases: Purchases,
) -> tuple[Handle, WorkflowExecutionStatus]:
    """Stripe's word on a first card arrives while a second card is charged."""
    handle = await purchases.order()
    await purchases.pay(handle, THREE_DS_TOKEN)
    gate = purchases.shop.gate(Activity.CHARGE)
    paying = asyncio.create_task(purchases.pay(handle))
    await purchases.called(Activity.CHARGE, times=2)
    purchases.shop.authenticated(order_of(handle), "requires_payment_method")
    await stripe_says(purchases, handle, "payment_intent.payment_failed")
    # The second card's charge holds the payment: a third is told to try again shortly.
    await refused(AttemptInFlight, purchases.pay(handle))
    gate.set()
    assert (await paying).status is ChargeOutcome.SUCCEEDED
    return handle, COMPLETED


async def three_d_secure_settled_at_window_end(
    purchases: Purchases,
) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order(**SHORT)
    await purchases.pay(handle, THREE_DS_TOKEN)
    purchases.shop.authenticated(order_of(handle))
    return handle, COMPLETED


async def three_d_secure_abandoned(purchases: Purchases) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order(**SHORT)
    await purchases.pay(handle, THREE_DS_TOKEN)
    return handle, COMPLETED


async def three_d_secure_cancelled_refunded(
    purchases: Purchases,
) -> tuple[Handle, WorkflowExecutionStatus]:
    handle = await purchases.order()
    await purchases.pay(handle, THREE_DS_TOKEN)
    purchases.shop.authenticated(order_of(handle))
    await handle.execute_update(PurchaseWorkflow.cancel)
    return handle, COMPLETED


PATHS: dict[str, Path_] = {
    path.__name__: path
    for path in (
        paid,
        paid_twice_with_one_key,
        expired,
        cancelled,
        declined_then_paid,
        declined_until_expiry,
        ticket_taken,
        price_changed,
        refunded,
        paid_through_an_outage,
        compensation_retried,
        workflow_cancelled,
        workflow_cancelled_during_the_reserve,
        workflow_cancelled_during_a_charge,
        workflow_cancelled_during_completion,
        three_d_secure_paid,
        three_d_secure_failed_then_paid,
        three_d_secure_webhook_during_another_charge,
        three_d_secure_settled_at_window_end,
        three_d_secure_abandoned,
        three_d_secure_cancelled_refunded,
    )
}


def _without_stack_traces(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: "" if key == "stackTrace" else _without_stack_traces(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_without_stack_traces(item) for item in node]
    return node


def scrubbed(history_json: str) -> str:
    """Failures carry the recording machine's stack traces (its file paths): replay needs
    none of them."""
    return json.dumps(_without_stack_traces(json.loads(history_json)), indent=1)


async def ended(handle: Handle) -> WorkflowExecutionStatus:
    async def closed() -> WorkflowExecutionStatus | None:
        status = (await handle.describe()).status
        return None if status == WorkflowExecutionStatus.RUNNING else status

    return await eventually(closed, within=60, what=f"{handle.id} to end")


async def record(names: list[str]) -> None:
    env = await start_dev_env()
    try:
        HISTORIES.mkdir(exist_ok=True)
        for name in names or list(PATHS):
            async with running_purchases(env.client, Shop()) as purchases:
                handle, expected = await PATHS[name](purchases)
                status = await ended(handle)
                assert status == expected, f"{name}: ended {status.name}, not {expected.name}"
                history = await handle.fetch_history()
            (HISTORIES / f"{name}.json").write_text(scrubbed(history.to_json()) + "\n")
            print(f"recorded {name}: {len(history.events)} events")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))

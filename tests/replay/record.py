"""Re-records the committed histories of the purchase purchases, one per path.

    .venv/bin/python -m tests.replay.record [PATH ...]

(every path, or only those named).

Run it when a deliberate change to the saga makes new histories (and keep the old ones
around under another name if running purchases still have them: replaying those is
what proves the change safe). Each path runs on the time-skipping test server against
the test doubles of tests/workflows/support.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from temporalio.client import WorkflowHandle

from services.common.temporal import register_search_attributes
from tests.support.polling import eventually
from tests.support.temporal import start_time_skipping_env
from tests.workflows.support import (
    DECLINED_TOKEN,
    THREE_DS_TOKEN,
    Purchases,
    Shop,
    running_purchases,
)
from workflows.contracts import SEARCH_ATTRIBUTES
from workflows.models import PaymentEvent, PaymentRequest
from workflows.purchase import PurchaseWorkflow

HISTORIES = Path(__file__).parent / "histories"
Handle = WorkflowHandle[Any, Any]


def _pay(handle: Handle, token: str = "pm_card_visa") -> Awaitable[Any]:
    order_id = handle.id.removeprefix("order-")
    request = PaymentRequest.model_validate(
        {"order_id": order_id, "buyer_id": uuid4(), "token": token}
    )
    return handle.execute_update(PurchaseWorkflow.pay, request)


async def _reserved(purchases: Purchases, **start: Any) -> Handle:
    handle = await purchases.start(**start)
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    return handle


async def paid(purchases: Purchases) -> Handle:
    handle = await _reserved(purchases)
    await _pay(handle)
    return handle


async def expired(purchases: Purchases) -> Handle:
    return await _reserved(purchases)


async def cancelled(purchases: Purchases) -> Handle:
    handle = await _reserved(purchases)
    await handle.execute_update(PurchaseWorkflow.cancel)
    return handle


async def declined_then_paid(purchases: Purchases) -> Handle:
    handle = await _reserved(purchases)
    with contextlib.suppress(Exception):
        await _pay(handle, DECLINED_TOKEN)
    await _pay(handle)
    return handle


async def declined_until_expiry(purchases: Purchases) -> Handle:
    handle = await _reserved(purchases)
    with contextlib.suppress(Exception):
        await _pay(handle, DECLINED_TOKEN)
    return handle


async def ticket_taken(purchases: Purchases) -> Handle:
    purchases.shop.ticket_holder, purchases.shop.ticket_status = uuid4(), "reserved"
    handle = await purchases.start()
    with contextlib.suppress(Exception):
        await handle.execute_update(PurchaseWorkflow.wait_reserved)
    return handle


async def price_changed(purchases: Purchases) -> Handle:
    purchases.shop.ticket_price_cents = 3000
    handle = await purchases.start(price_cents=2550, expected_price_cents=2550)
    with contextlib.suppress(Exception):
        await handle.execute_update(PurchaseWorkflow.wait_reserved)
    return handle


async def refunded(purchases: Purchases) -> Handle:
    purchases.shop.refuse_mark_sold = True
    handle = await _reserved(purchases)
    await _pay(handle)
    return handle


async def workflow_cancelled(purchases: Purchases) -> Handle:
    handle = await _reserved(purchases)
    await handle.cancel()
    return handle


def _order_of(handle: Handle) -> Any:
    return UUID(handle.id.removeprefix("order-"))


async def _stripe_says(handle: Handle, event_type: str = "payment_intent.succeeded") -> None:
    event = PaymentEvent(payment_intent_id="pi_1", event_type=event_type)
    await handle.signal(PurchaseWorkflow.payment_event, event)


async def three_d_secure_paid(purchases: Purchases) -> Handle:
    handle = await _reserved(purchases)
    await _pay(handle, THREE_DS_TOKEN)
    purchases.shop.authenticated(_order_of(handle))
    await _stripe_says(handle)
    return handle


async def three_d_secure_failed_then_paid(purchases: Purchases) -> Handle:
    handle = await _reserved(purchases)
    await _pay(handle, THREE_DS_TOKEN)
    purchases.shop.authenticated(_order_of(handle), "requires_payment_method")
    await _stripe_says(handle, "payment_intent.payment_failed")

    async def declined() -> bool:
        return not (await handle.query(PurchaseWorkflow.state)).authenticating

    await eventually(declined, within=10, what="the failed authentication to settle")
    await _pay(handle)
    return handle


async def three_d_secure_settled_at_window_end(purchases: Purchases) -> Handle:
    handle = await _reserved(purchases, window_seconds=60, authentication_grace_seconds=30)
    await _pay(handle, THREE_DS_TOKEN)
    purchases.shop.authenticated(_order_of(handle))
    return handle


async def three_d_secure_abandoned(purchases: Purchases) -> Handle:
    handle = await _reserved(purchases, window_seconds=60, authentication_grace_seconds=30)
    await _pay(handle, THREE_DS_TOKEN)
    return handle


async def three_d_secure_cancelled_refunded(purchases: Purchases) -> Handle:
    handle = await _reserved(purchases)
    await _pay(handle, THREE_DS_TOKEN)
    purchases.shop.authenticated(_order_of(handle))
    await handle.execute_update(PurchaseWorkflow.cancel)
    return handle


PATHS: dict[str, Callable[[Purchases], Awaitable[Handle]]] = {
    path.__name__: path
    for path in (
        paid,
        expired,
        cancelled,
        declined_then_paid,
        declined_until_expiry,
        ticket_taken,
        price_changed,
        refunded,
        workflow_cancelled,
        three_d_secure_paid,
        three_d_secure_failed_then_paid,
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


async def record(names: list[str] | None = None) -> None:
    env = await start_time_skipping_env()
    try:
        await register_search_attributes(env.client, SEARCH_ATTRIBUTES)
        HISTORIES.mkdir(exist_ok=True)
        for name, drive in PATHS.items():
            if names and name not in names:
                continue
            async with running_purchases(env.client, Shop()) as purchases:
                handle = await drive(purchases)
                with contextlib.suppress(Exception):
                    await handle.result()
                history = await handle.fetch_history()
            (HISTORIES / f"{name}.json").write_text(scrubbed(history.to_json()) + "\n")
            print(f"recorded {name}: {len(history.events)} events")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))

"""What must hold after any scenario, checked against the services' own databases, the
event stream, Stripe (localstripe) and Temporal. Each broken rule is one violation.

The system is eventually consistent, so ``converged`` re-checks until every rule holds or
a deadline passes, and reports what still does not hold.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.client import Client

from services.common.settings import SERVICE_NAMES
from tests.reliability.databases import ServiceDatabases
from tests.support.cards import localstripe
from tests.support.jetstream import jetstream, msg_id, stream_messages

HELD = ("awaiting:payment", "complete")
# A purchase's history stays far below Temporal's limits whatever it went through: a
# step retried for hours must not grow it (retries of ordinary activities are not events).
MAX_HISTORY_EVENTS = 1000


def _utc(stored: object) -> datetime | None:
    """A timestamp column: SQLite keeps ISO text, PostgreSQL gives a datetime."""
    if stored is None:
        return None
    moment = stored if isinstance(stored, datetime) else datetime.fromisoformat(str(stored))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class Invariants:
    def __init__(
        self,
        databases: ServiceDatabases,
        *,
        nats_url: str,
        temporal: Client,
        stripe_url: str,
        stream: str,
    ) -> None:
        self.databases = databases
        self.nats_url = nats_url
        self.temporal = temporal
        self.stripe_url = stripe_url
        self.stream = stream

    async def check(self, *, slack: timedelta) -> list[str]:
        violations = await self.locks()
        violations += await self.entry_codes()
        violations += await self.charges()
        violations += await self.replicas()
        violations += await self.outboxes()
        violations += await self.stream_once()
        violations += await self.stripe_charges()
        violations += await self.workflows_within_window(slack)
        violations += await self.refunds_recorded()
        violations += await self.histories_small()
        return violations

    async def converged(self, *, within: float = 60, slack: timedelta) -> list[str]:
        deadline = time.monotonic() + within
        while True:
            violations = await self.check(slack=slack)
            if not violations or time.monotonic() > deadline:
                return violations
            await asyncio.sleep(0.5)

    async def locks(self) -> list[str]:
        """No ticket held or sold by two orders; the lock names the order that holds it."""
        violations = []
        holders = Counter(
            ticket
            for ticket, status in await self.databases.rows(
                "orders", "SELECT ticket_id, status FROM orders"
            )
            if status in HELD
        )
        violations += [f"ticket {t} held by {n} orders" for t, n in holders.items() if n > 1]
        held_orders = {
            str(order): str(ticket)
            for order, ticket in await self.databases.rows(
                "orders",
                "SELECT id, ticket_id FROM orders WHERE status IN ('awaiting:payment', 'complete')",
            )
        }
        for ticket, order in await self.databases.rows(
            "tickets", "SELECT id, order_id FROM tickets WHERE order_id IS NOT NULL"
        ):
            if held_orders.get(str(order)) != str(ticket):
                violations.append(
                    f"ticket {ticket} locked by order {order}, which does not hold it"
                )
        return violations

    async def entry_codes(self) -> list[str]:
        """One valid entry code per ticket, and the right one: a sold ticket's holder is
        the buyer of its complete order; one not sold yet is its seller's. (A row whose
        holder relisted it holds nobody: its seat's new listing does.)"""
        violations = []
        buyers = {
            _uuid(order): _uuid(user)
            for order, user in await self.databases.rows(
                "orders", "SELECT id, user_id FROM orders WHERE status = 'complete'"
            )
        }
        tickets = await self.databases.rows(
            "tickets", "SELECT id, status, user_id, holder_id, order_id, lineage_id FROM tickets"
        )
        listings = Counter(_uuid(lineage) for *_, lineage in tickets if lineage is not None)
        for ticket, status, seller, holder, order, lineage in tickets:
            if status == "sold":
                if holder is None and lineage is not None and listings[_uuid(lineage)] > 1:
                    continue
                buyer = buyers.get(_uuid(order)) if order is not None else None
                if holder is None or _uuid(holder) != buyer:
                    violations.append(
                        f"sold ticket {ticket}: code held by {holder}, its buyer is {buyer}"
                    )
            elif holder is None or _uuid(holder) != _uuid(seller):
                violations.append(
                    f"ticket {ticket} ({status}): code held by {holder}, not its seller"
                )
        return violations

    async def charges(self) -> list[str]:
        """Every completed order has exactly one successful charge; a cancelled one that
        was charged has been refunded."""
        violations = []
        orders = {
            order: status
            for order, status in await self.databases.rows(
                "orders", "SELECT id, status FROM orders"
            )
        }
        payments = {
            str(order): status
            for order, status in await self.databases.rows(
                "payments", "SELECT order_id, status FROM payments"
            )
        }
        succeeded = Counter(
            str(order)
            for (order,) in await self.databases.rows(
                "payments",
                "SELECT p.order_id FROM payment_attempts a JOIN payments p ON a.payment_id = p.id"
                " WHERE a.status = 'succeeded'",
            )
        )
        for order, status in orders.items():
            order = str(order)
            if status == "complete" and (
                payments.get(order) != "succeeded" or succeeded[order] != 1
            ):
                violations.append(
                    f"complete order {order}: payment {payments.get(order)}, "
                    f"{succeeded[order]} successful attempts"
                )
            if status == "cancelled" and payments.get(order) == "succeeded":
                violations.append(f"cancelled order {order} charged and not refunded")
        return violations

    async def replicas(self) -> list[str]:
        """Each replica equals its source of truth."""
        violations = []
        tickets = set(
            await self.databases.rows(
                "tickets", "SELECT id, status, order_id, version FROM tickets"
            )
        )
        replica = set(
            await self.databases.rows("orders", "SELECT id, status, order_id, version FROM tickets")
        )
        violations += [f"orders' replica differs on ticket {row[0]}" for row in tickets ^ replica]
        announced = set(
            await self.databases.rows(
                "orders",
                "SELECT id, status, version FROM orders WHERE expires_at IS NOT NULL",
            )
        )
        copies = set(
            await self.databases.rows("payments", "SELECT id, status, version FROM orders")
        )
        violations += [f"payments' replica differs on order {row[0]}" for row in announced ^ copies]
        return violations

    async def outboxes(self) -> list[str]:
        violations = []
        for service in SERVICE_NAMES:
            ((pending,),) = await self.databases.rows(
                service, "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            )
            if pending:
                violations.append(f"{service}: {pending} outbox rows not published")
        return violations

    async def stream_once(self) -> list[str]:
        """The stream holds every event written to an outbox, each once."""
        written = set()
        for service in SERVICE_NAMES:
            written |= {
                str(row[0]).replace("-", "")
                for row in await self.databases.rows(service, "SELECT event_id FROM outbox")
            }
        async with jetstream(self.nats_url) as js:
            messages = await stream_messages(js, self.stream)
        ids = Counter((msg_id(message) or "").replace("-", "") for message in messages)
        violations = [f"event {event} in the stream {n} times" for event, n in ids.items() if n > 1]
        missing = written - set(ids)
        if missing:
            violations.append(f"{len(missing)} events written but not in the stream")
        return violations

    async def stripe_charges(self) -> list[str]:
        """Stripe's own side: an order keeps at most one successful charge, and a
        cancelled order keeps none (each was refunded).

        Counted per charge attempt (the order and attempt in the intent's metadata), not
        per PaymentIntent: an attempt replayed after a worker died mid-call carries the
        same idempotency key, which Stripe answers with the first intent. localstripe
        ignores the key and makes a second one; counting it would blame the system for
        the stand-in. Two attempts of one order that both took money still count twice.
        """
        async with localstripe(self.stripe_url) as stripe:
            intents = await _list_all(stripe, "/v1/payment_intents")
            refunds = await _list_all(stripe, "/v1/refunds")
        refunded = {refund.get("payment_intent") for refund in refunds}
        charged: dict[tuple[str, str], bool] = {}
        for intent in intents:
            if intent.get("status") != "succeeded":
                continue
            metadata = intent.get("metadata", {})
            attempt = (
                str(metadata.get("order_id", "")).replace("-", ""),
                str(metadata.get("attempt", intent["id"])),
            )
            # The attempt's money was returned if any of its copies was refunded.
            charged[attempt] = charged.get(attempt, True) and intent["id"] not in refunded
        kept = Counter(order for (order, _attempt), kept in charged.items() if kept)
        statuses = {
            str(order).replace("-", ""): status
            for order, status in await self.databases.rows(
                "orders", "SELECT id, status FROM orders"
            )
        }
        violations = [f"order {order} charged {n} times" for order, n in kept.items() if n > 1]
        violations += [
            f"cancelled order {order} keeps a charge on Stripe"
            for order in kept
            if statuses.get(order) == "cancelled"
        ]
        return violations

    async def workflows_within_window(self, slack: timedelta) -> list[str]:
        """No purchase still running past its window (plus slack)."""
        expiries = {
            f"order-{_uuid(order)}": _utc(expires)
            for order, expires in await self.databases.rows(
                "orders", "SELECT id, expires_at FROM orders"
            )
        }
        now = datetime.now(UTC)
        violations = []
        async for workflow in self.temporal.list_workflows('ExecutionStatus="Running"'):
            expires = expiries.get(workflow.id)
            if expires is not None and now > expires + slack:
                violations.append(f"{workflow.id} still running {now - expires} after its window")
        return violations

    async def refunds_recorded(self) -> list[str]:
        """A cancelled order whose charge was refunded says so, and why: the refund was
        the saga undoing for a reason it recorded, never a silent loss of a sale."""
        refunded_payments = {
            str(order)
            for (order,) in await self.databases.rows(
                "payments", "SELECT order_id FROM payments WHERE status = 'refunded'"
            )
        }
        return [
            f"order {order} refunded without recording it (refunded {refunded}, reason {reason})"
            for order, status, refunded, reason in await self.databases.rows(
                "orders", "SELECT id, status, refunded, cancel_reason FROM orders"
            )
            if str(order) in refunded_payments
            and (status != "cancelled" or not refunded or reason is None)
        ]

    async def histories_small(self) -> list[str]:
        return [
            f"{workflow.id} has {workflow.history_length} history events"
            async for workflow in self.temporal.list_workflows('WorkflowType="Purchase"')
            if workflow.history_length > MAX_HISTORY_EVENTS
        ]


async def _list_all(stripe: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    """Every object of a Stripe list, page by page (100 is Stripe's largest page)."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = (await stripe.get(path, params=params)).json()
        items += page.get("data", [])
        if not page.get("has_more") or not items:
            return items
        params["starting_after"] = items[-1]["id"]


def _uuid(hex_or_uuid: object) -> str:
    text = str(hex_or_uuid).replace("-", "")
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

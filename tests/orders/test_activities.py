"""The tickets and orders activities on real databases: a retried activity changes
nothing twice, and the lock is conditional on who holds it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.orders import OrdersActivities
from activities.tickets import TicketsActivities
from services.common.runtime import ServiceRuntime
from services.orders.models import Order
from services.orders.models import Ticket as TicketReplica
from services.orders.service import definition as orders
from services.tickets.models import Ticket
from services.tickets.service import definition as tickets
from tests.orders.support import purchase_settings
from tests.support.apps import service_runtime
from tests.support.jetstream import own_stream
from workflows.contracts import CancelReason, FailureType
from workflows.steps import (
    AwaitingPaymentInput,
    CancelOrderInput,
    OrderInput,
    TicketHold,
    TicketSale,
)

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix


@pytest.fixture
async def runtimes(
    tmp_path: Path, nats_url: str, databases: dict[str, str]
) -> AsyncIterator[tuple[ServiceRuntime, ServiceRuntime]]:
    settings = purchase_settings(tmp_path, nats_url=nats_url, databases=databases)
    async with (
        own_stream(settings.nats_url, settings.events_stream),
        service_runtime(tickets, settings, consume=False) as tickets_runtime,
        service_runtime(orders, settings, consume=False) as orders_runtime,
    ):
        yield tickets_runtime, orders_runtime


async def outbox(runtime: ServiceRuntime) -> list[tuple[str, dict[str, object]]]:
    table = runtime.definition.tables.outbox
    async with runtime.database.read_sessions() as session:
        rows = await session.execute(select(table.c.subject, table.c.payload).order_by(table.c.seq))
    return [(subject, json.loads(payload)) for subject, payload in rows.all()]


async def new_ticket(runtime: ServiceRuntime) -> Ticket:
    async with runtime.unit_of_work() as uow:
        ticket = Ticket(title="Concert", price_cents=2550, user_id=uuid4())
        uow.session.add(ticket)
        await uow.commit()
    return ticket


async def ticket_row(runtime: ServiceRuntime, ticket_id: UUID) -> Ticket:
    async with runtime.database.read_sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    return ticket


async def test_ticket_steps_are_idempotent_and_conditional(
    runtimes: tuple[ServiceRuntime, ServiceRuntime],
) -> None:
    runtime, _ = runtimes
    steps, env = TicketsActivities(runtime), ActivityEnvironment()
    ticket = await new_ticket(runtime)
    mine = TicketHold(ticket_id=ticket.id, order_id=uuid4())
    other = TicketHold(ticket_id=ticket.id, order_id=uuid4())

    await env.run(steps.reserve_ticket, mine)
    await env.run(steps.reserve_ticket, mine)  # a retry
    reserved = await ticket_row(runtime, ticket.id)
    assert (reserved.status, reserved.order_id, reserved.version) == ("reserved", mine.order_id, 2)
    with pytest.raises(ApplicationError) as taken:
        await env.run(steps.reserve_ticket, other)
    assert taken.value.type == FailureType.TICKET_UNAVAILABLE and taken.value.non_retryable

    # A stale release by another order never frees the ticket.
    await env.run(steps.release_ticket, other)
    assert (await ticket_row(runtime, ticket.id)).order_id == mine.order_id

    await env.run(steps.release_ticket, mine)
    await env.run(steps.release_ticket, mine)
    released = await ticket_row(runtime, ticket.id)
    assert (released.status, released.order_id, released.version) == ("available", None, 3)

    await env.run(steps.reserve_ticket, other)
    sale = TicketSale(**other.model_dump(), buyer_id=uuid4())
    await env.run(steps.mark_ticket_sold, sale)
    await env.run(steps.mark_ticket_sold, sale)
    sold = await ticket_row(runtime, ticket.id)
    assert (sold.status, sold.order_id, sold.version) == ("sold", other.order_id, 5)
    # The buyer holds it now, a new generation: the seller's entry code is void.
    assert (sold.holder_id, sold.generation) == (sale.buyer_id, 2)
    with pytest.raises(ApplicationError):
        await env.run(steps.mark_ticket_sold, TicketSale(**mine.model_dump()))

    events = await outbox(runtime)
    assert [(subject, event["version"]) for subject, event in events] == [
        ("ticket.updated", 2),
        ("ticket.updated", 3),
        ("ticket.updated", 4),
        ("ticket.updated", 5),
    ]
    assert [event["status"] for _, event in events] == ["reserved", "available", "reserved", "sold"]


async def new_order(runtime: ServiceRuntime) -> Order:
    async with runtime.unit_of_work() as uow:
        ticket = TicketReplica(
            id=uuid4(),
            title="Concert",
            price_cents=2550,
            user_id=uuid4(),
            status="available",
            version=1,
        )
        uow.session.add(ticket)
        await uow.session.flush()
        order = Order(user_id=uuid4(), ticket_id=ticket.id, price_cents=2550)
        uow.session.add(order)
        await uow.commit()
    return order


async def order_row(runtime: ServiceRuntime, order_id: UUID) -> Order:
    async with runtime.database.read_sessions() as session:
        order = await session.get(Order, order_id)
    assert order is not None
    return order


async def test_order_steps_are_idempotent(
    runtimes: tuple[ServiceRuntime, ServiceRuntime],
) -> None:
    _, runtime = runtimes
    steps, env = OrdersActivities(runtime), ActivityEnvironment()
    paid, expired, taken = [await new_order(runtime) for _ in range(3)]
    expires_at = datetime.now(UTC) + timedelta(minutes=15)

    for order in (paid, expired):
        for _ in range(2):
            await env.run(
                steps.mark_order_awaiting_payment,
                AwaitingPaymentInput(order_id=order.id, expires_at=expires_at),
            )
    for _ in range(2):
        await env.run(steps.complete_order, OrderInput(order_id=paid.id))
        await env.run(
            steps.cancel_order, CancelOrderInput(order_id=expired.id, reason=CancelReason.EXPIRED)
        )
        await env.run(
            steps.cancel_order,
            CancelOrderInput(order_id=taken.id, reason=CancelReason.TICKET_UNAVAILABLE),
        )
    # A late cancel of a completed order changes nothing.
    await env.run(
        steps.cancel_order, CancelOrderInput(order_id=paid.id, reason=CancelReason.EXPIRED)
    )

    assert (await order_row(runtime, paid.id)).status == "complete"
    assert (await order_row(runtime, expired.id)).status == "cancelled"
    assert (await order_row(runtime, taken.id)).status == "cancelled"
    events = [
        (subject, event["order_id"], event["version"]) for subject, event in await outbox(runtime)
    ]
    assert sorted(events) == sorted(
        [
            ("order.created", str(paid.id), 2),
            ("order.created", str(expired.id), 2),
            ("order.completed", str(paid.id), 3),
            ("order.expired", str(expired.id), 3),
        ]
    )

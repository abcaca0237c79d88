"""A ticket for an event that has started cannot be bought: the orders service refuses it
from its replica at once, and the tickets service (the authority) refuses it in the
saga's reserve step when the replica has not heard yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select, update

from services.orders.models import Order
from services.orders.models import Ticket as TicketReplica
from services.tickets.models import Event
from tests.orders.support import Market
from tests.support.polling import eventually
from workflows.contracts import CancelReason, OrderStatus


async def _ticket_for_event(market: Market, starts_at: datetime) -> dict[str, Any]:
    seller = market.user()
    event = await market.tickets.post(
        "/api/events",
        json={"name": "Gig", "venue": "Club", "city": "Leipzig", "startsAt": starts_at.isoformat()},
        headers=seller,
    )
    assert event.status_code == 201, event.text
    created = await market.tickets.post(
        "/api/tickets",
        json={"title": "Gig", "price": 20, "eventId": event.json()["id"]},
        headers=seller,
    )
    assert created.status_code == 201, created.text
    ticket: dict[str, Any] = created.json()
    await market.replica_has(ticket["id"], ticket["version"])
    return ticket


async def test_the_replica_knows_the_event_started(market: Market) -> None:
    starts_at = datetime.now(UTC) + timedelta(seconds=2)
    ticket = await _ticket_for_event(market, starts_at)
    runtime = market.orders_app_state.runtime
    async with runtime.database.read_sessions() as session:
        replica = await session.get(TicketReplica, UUID(ticket["id"]))
    assert replica is not None and replica.starts_at is not None

    async def started() -> bool:
        return datetime.now(UTC) > starts_at

    await eventually(started, within=10)
    refused = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=market.user()
    )
    assert refused.status_code == 409
    assert refused.json() == {"errors": [{"message": "Event has started"}]}
    assert (await market.ticket(ticket["id"]))["status"] == "available"


async def test_the_saga_is_refused_when_the_replica_has_not_heard(market: Market) -> None:
    ticket = await _ticket_for_event(market, datetime.now(UTC) + timedelta(days=1))
    # The event was moved to an earlier time that has passed; the replica has not heard.
    tickets_runtime = market.tickets_app_state.runtime
    async with tickets_runtime.unit_of_work() as uow:
        await uow.session.execute(
            update(Event)
            .where(Event.id == UUID(ticket["eventId"]))
            .values(starts_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        await uow.commit()

    buyer_id = UUID(int=7)
    refused = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=market.user(buyer_id)
    )
    assert refused.status_code == 409
    # Nothing held, and the order cancelled as for a ticket another order took.
    assert (await market.ticket(ticket["id"]))["status"] == "available"
    runtime = market.orders_app_state.runtime

    async def cancelled() -> Order | None:
        async with runtime.database.read_sessions() as session:
            [order] = (await session.scalars(select(Order).where(Order.user_id == buyer_id))).all()
        return order if order.status == OrderStatus.CANCELLED else None

    order = await eventually(cancelled, what="the saga to cancel the order")
    assert order.cancel_reason == CancelReason.TICKET_UNAVAILABLE

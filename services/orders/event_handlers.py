"""The tickets replica, fed by ``ticket.created`` and ``ticket.updated`` in version order.

An event one version ahead of the replica applies; one at or behind it was applied
already (ack, change nothing); one further ahead (or an update before its creation)
waits (NotYetApplicable) until the events before it have been applied.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, select

from services.common.data.unit_of_work import UnitOfWork
from services.common.identity.bans import ban_consumer
from services.common.identity.revocations import revocation_consumer
from services.common.messaging.consumers import Consumer
from services.common.messaging.events import TicketCreated, TicketUpdated
from services.common.messaging.replica import is_next, move_to_version
from services.orders.models import Ticket, tables

_tickets = cast(Table, Ticket.__table__)


def _replicated(event: TicketCreated | TicketUpdated) -> dict[str, Any]:
    return {
        "title": event.title,
        "price_cents": event.price_cents,
        "user_id": event.user_id,
        "status": event.status,
        "order_id": event.order_id,
        "starts_at": None if event.event is None else event.event.starts_at,
    }


async def apply_ticket(event: TicketCreated | TicketUpdated, uow: UnitOfWork) -> None:
    if isinstance(event, TicketUpdated):
        await move_to_version(uow, _tickets, event.ticket_id, event.version, _replicated(event))
        return
    current = await uow.session.scalar(
        select(_tickets.c.version).where(_tickets.c.id == event.ticket_id)
    )
    if is_next(current, event.version, creates=True, entity=f"ticket {event.ticket_id}"):
        uow.session.add(Ticket(id=event.ticket_id, version=event.version, **_replicated(event)))


tickets_consumer = Consumer(
    durable="orders-tickets",
    handlers={TicketCreated: apply_ticket, TicketUpdated: apply_ticket},
)

consumers = [
    tickets_consumer,
    ban_consumer("orders", tables),
    revocation_consumer("orders", tables),
]

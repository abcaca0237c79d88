"""The tickets replica, fed by ``ticket.created`` and ``ticket.updated`` in version order.

An event one version ahead of the replica applies; one at or behind it was applied
already (ack, change nothing); one further ahead (or an update before its creation)
waits (NotYetApplicable) until the events before it have been applied.
"""

from __future__ import annotations

from services.common.bans import ban_consumer
from services.common.events import TicketCreated, TicketUpdated
from services.common.listener import Consumer
from services.common.replica import is_next
from services.common.unit_of_work import UnitOfWork
from services.orders.models import Ticket, tables


def _copy(ticket: Ticket, event: TicketCreated | TicketUpdated) -> None:
    ticket.title = event.title
    ticket.price_cents = event.price_cents
    ticket.user_id = event.user_id
    ticket.status = event.status
    ticket.order_id = event.order_id
    ticket.version = event.version


async def apply_ticket(event: TicketCreated | TicketUpdated, uow: UnitOfWork) -> None:
    ticket = await uow.session.get(Ticket, event.ticket_id)
    creates = isinstance(event, TicketCreated)
    entity = f"ticket {event.ticket_id}"
    current = None if ticket is None else ticket.version
    if not is_next(current, event.version, creates=creates, entity=entity):
        return
    if ticket is None:
        ticket = Ticket(id=event.ticket_id)
        uow.session.add(ticket)
    _copy(ticket, event)


tickets_consumer = Consumer(
    durable="orders-tickets",
    handlers={TicketCreated: apply_ticket, TicketUpdated: apply_ticket},
)

consumers = [tickets_consumer, ban_consumer("orders", tables)]

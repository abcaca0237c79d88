"""What the tickets service learns from other services' events: bans, revoked sessions,
and how long a reservation lasts (the holding order's payment window, from
``order.created``)."""

from __future__ import annotations

from services.common.data.unit_of_work import UnitOfWork
from services.common.identity.bans import ban_consumer
from services.common.identity.revocations import revocation_consumer
from services.common.messaging.consumers import Consumer
from services.common.messaging.events import OrderCreated
from services.tickets import operations
from services.tickets.models import tables


async def on_order_created(event: OrderCreated, uow: UnitOfWork) -> None:
    await operations.note_reservation_deadline(
        uow, event.ticket_id, event.order_id, event.expires_at
    )


reservations_consumer = Consumer(
    durable="tickets-reservations", handlers={OrderCreated: on_order_created}
)

consumers = [
    ban_consumer("tickets", tables),
    revocation_consumer("tickets", tables),
    reservations_consumer,
]

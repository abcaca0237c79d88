"""The orders service's tickets replica applies ticket events in version order."""

from __future__ import annotations

from uuid import uuid4

import nats

from services.common.messaging.events import TicketCreated, TicketStatus, TicketUpdated, encode
from services.orders.models import Ticket
from tests.orders.support import Market
from tests.support.polling import eventually


async def test_out_of_order_ticket_events_are_applied_in_order(market: Market) -> None:
    ticket_id, seller, order_id = uuid4(), uuid4(), uuid4()
    common = {"ticket_id": ticket_id, "user_id": seller}
    events = [
        TicketCreated(version=1, title="v1", price_cents=1000, **common),
        TicketUpdated(
            version=2,
            title="v2",
            price_cents=2000,
            status=TicketStatus.AVAILABLE,
            order_id=None,
            **common,
        ),
        TicketUpdated(
            version=3,
            title="v2",
            price_cents=2000,
            status=TicketStatus.RESERVED,
            order_id=order_id,
            **common,
        ),
    ]
    connection = await nats.connect(market.settings.nats_url)
    try:
        js = connection.jetstream()
        # Newest first, and one twice: the replica must still end at v3, applied once.
        for event in [events[2], events[1], events[2], events[0]]:
            await js.publish(
                event.subject.value,
                encode(event),
                stream=market.settings.events_stream,
                headers={"Nats-Msg-Id": f"{event.event_id}-{uuid4()}"},
            )
    finally:
        await connection.close()

    runtime = market.orders_app_state.runtime

    async def at_v3() -> Ticket | None:
        async with runtime.database.read_sessions() as session:
            ticket = await session.get(Ticket, ticket_id)
        return ticket if ticket is not None and ticket.version == 3 else None

    ticket: Ticket = await eventually(at_v3)
    assert (ticket.title, ticket.price_cents, ticket.status) == ("v2", 2000, "reserved")
    assert ticket.order_id == order_id and ticket.user_id == seller

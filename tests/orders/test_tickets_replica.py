"""The orders service's tickets replica applies ticket events in version order."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from services.common.messaging.events import TicketCreated, TicketStatus, TicketUpdated
from services.orders.models import Ticket
from tests.orders.support import Market
from tests.support.jetstream import jetstream, publish_event
from tests.support.polling import eventually

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix


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
    runtime = market.orders_app_state.runtime
    # The services create the stream once their bus connects, in the background: publishing
    # before that finds no stream (NoStreamResponseError). The orders bus ready means the
    # stream is there.
    await asyncio.wait_for(runtime.bus.jetstream(), 10)
    async with jetstream(market.settings.nats_url) as js:
        # Newest first, and one twice: the replica must still end at v3, applied once.
        for event in [events[2], events[1], events[2], events[0]]:
            await publish_event(
                js, market.settings.events_stream, event, msg_id=f"{event.event_id}-{uuid4()}"
            )

    async def at_v3() -> Ticket | None:
        async with runtime.database.read_sessions() as session:
            ticket = await session.get(Ticket, ticket_id)
        return ticket if ticket is not None and ticket.version == 3 else None

    ticket: Ticket = await eventually(at_v3)
    assert (ticket.title, ticket.price_cents, ticket.status) == ("v2", 2000, "reserved")
    assert ticket.order_id == order_id and ticket.user_id == seller

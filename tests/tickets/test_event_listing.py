"""The search's page is serialised from plain rows, not from EventOut models: its JSON must
be, byte for byte, what EventOut gives for the same events."""

from __future__ import annotations

from uuid import UUID

import pytest
from pydantic import TypeAdapter
from sqlalchemy import func, select

from services.common.messaging.events import TicketStatus
from services.tickets.event_schemas import EventOut
from services.tickets.models import Event, Ticket
from tests.tickets.support import TicketsApi, create_event

pytestmark = pytest.mark.database_matrix


async def test_the_page_is_what_event_out_gives(api: TicketsApi) -> None:
    # Offsets east, west and none (UTC's "Z"), times with and without fractions of a
    # second, an end and a description or none, prices with cents, an event with nothing
    # for sale (no lowest price).
    created = [
        await create_event(
            api,
            name="Ólafur Arnalds",
            startsAt="2099-03-14T20:00:00.250000+05:30",
            endsAt="2099-03-14T23:30:00+05:30",
            description="Seated",
        ),
        await create_event(api, name="Derby", startsAt="2099-05-02T15:30:00Z"),
        await create_event(api, name="Matinée", startsAt="2099-06-01T11:00:00-03:00"),
    ]
    for price, listed in ((19.99, created[0]), (250, created[0]), (45.5, created[1])):
        await api.create(price=price, eventId=listed["id"])

    response = await api.client.get("/api/events", params={"limit": 100})
    assert response.status_code == 200, response.text

    expected = []
    async with api.runtime.database.read_sessions() as session:
        for item in created:
            event = await session.get(Event, UUID(item["id"]))
            assert event is not None
            for_sale, lowest = (
                await session.execute(
                    select(func.count(), func.min(Ticket.price_cents)).where(
                        Ticket.event_id == event.id, Ticket.status == TicketStatus.AVAILABLE
                    )
                )
            ).one()
            expected.append(EventOut.with_sales(event, for_sale, lowest))
    assert response.content == TypeAdapter(list[EventOut]).dump_json(expected, by_alias=True)

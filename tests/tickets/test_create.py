"""POST /api/tickets: a signed-in user lists a ticket; the change is announced once."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select

from services.common.messaging.events import TicketCreated, TicketStatus
from services.tickets.models import Ticket
from tests.events.ticket_writes import load_ticket
from tests.support.jetstream import decoded, msg_id, stream_messages
from tests.support.polling import eventually
from tests.tickets.support import TicketsApi, error, error_fields


@pytest.mark.database_matrix
async def test_create_answers_201_and_publishes_ticket_created(
    api: TicketsApi, js: JetStreamContext
) -> None:
    seller = uuid4()
    response = await api.client.post(
        "/api/tickets", json={"title": "  Concert  ", "price": 20.5}, headers=api.auth(seller)
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        *("id", "title", "price", "userId", "version", "orderId", "status"),
        *("eventId", "event", "section", "row", "seat"),
    }
    # Without an event, as the course's client lists it: no date given.
    assert (body["eventId"], body["event"], body["section"], body["seat"]) == (None,) * 4
    assert body["status"] == "available"
    assert body["title"] == "Concert"
    assert body["price"] == 20.5  # major units on the API...
    assert body["userId"] == str(seller)
    assert body["version"] == 1
    assert body["orderId"] is None
    ticket = await load_ticket(api.runtime.database, UUID(body["id"]))
    assert isinstance(ticket, Ticket)
    assert ticket.price_cents == 2050  # ...integer cents inside
    assert ticket.status == TicketStatus.AVAILABLE

    stream = api.settings.events_stream
    await eventually(lambda: stream_messages(js, stream), what="ticket.created on the stream")
    [message] = await stream_messages(js, stream)
    event = decoded(message)
    assert isinstance(event, TicketCreated)
    assert msg_id(message) == str(event.event_id)
    assert (event.ticket_id, event.version, event.title) == (ticket.id, 1, "Concert")
    assert (event.price_cents, event.user_id, event.order_id) == (2050, seller, None)


@pytest.mark.database_matrix
@pytest.mark.parametrize(
    ("price", "shown", "cents"),
    [
        (0.5, 0.5, 50),
        (19.99, 19.99, 1999),
        ("7.10", 7.1, 710),
        (999_999.99, 999_999.99, 99_999_999),
    ],
)
async def test_price_keeps_its_cents(api: TicketsApi, price: Any, shown: float, cents: int) -> None:
    body = await api.create(price=price)
    assert body["price"] == shown
    ticket = await load_ticket(api.runtime.database, UUID(body["id"]))
    assert ticket is not None and ticket.price_cents == cents


async def test_create_requires_a_signed_in_user(api: TicketsApi) -> None:
    response = await api.client.post("/api/tickets", json={"title": "T", "price": 10})
    assert response.status_code == 401
    assert response.json() == error("Not authorized")


@pytest.mark.parametrize(
    ("body", "fields", "message"),
    [
        ({"price": 10}, ["title"], "title is required"),
        ({"title": "", "price": 10}, ["title"], "Title must not be blank"),
        ({"title": "   ", "price": 10}, ["title"], "Title must not be blank"),
        ({"title": "x" * 201, "price": 10}, ["title"], None),
        ({"title": 42, "price": 10}, ["title"], None),
        ({"title": "T"}, ["price"], "price is required"),
        ({"title": "T", "price": 0}, ["price"], None),
        ({"title": "T", "price": -5}, ["price"], None),
        ({"title": "T", "price": 1.234}, ["price"], "Price must have at most 2 decimal places"),
        ({"title": "T", "price": 1_000_000.01}, ["price"], None),
        # What Stripe can charge, refused at listing rather than found out as a decline.
        (
            {"title": "T", "price": 0.49},
            ["price"],
            "Price must be at least 0.50 (the least a card can be charged)",
        ),
        (
            {"title": "T", "price": 1_000_000},
            ["price"],
            "Price must be at most 999,999.99 (the most a card can be charged)",
        ),
        # Invisible and bidirectional control characters: a listing shows what it says.
        *(
            (
                {"title": title, "price": 10},
                ["title"],
                "Title must not contain invisible or control characters",
            )
            for title in ("\u200b", "Concert \u202etekcit", "A\u2066B", "line\nbreak", "\ufeffT")
        ),
        ({"title": "T", "price": "abc"}, ["price"], None),
        ({"title": "T", "price": "NaN"}, ["price"], None),
        ({"title": "T", "price": "Infinity"}, ["price"], None),
        ({"title": "", "price": -1}, ["title", "price"], None),
        ({}, ["title", "price"], None),
    ],
)
async def test_create_validates_every_field(
    api: TicketsApi, body: dict[str, Any], fields: list[str], message: str | None
) -> None:
    response = await api.client.post("/api/tickets", json=body, headers=api.auth(uuid4()))
    assert response.status_code == 400
    assert sorted(map(str, error_fields(response))) == sorted(fields)  # one entry per field
    if message is not None:
        assert response.json() == error(message, fields[0])
    # Nothing half-written: no ticket, no event.
    async with api.runtime.database.read_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert await api.runtime.relay.publish_pending() == 0


async def test_create_rejects_a_body_that_is_not_an_object(api: TicketsApi) -> None:
    response = await api.client.post("/api/tickets", json=["T", 10], headers=api.auth(uuid4()))
    assert response.status_code == 400
    assert response.json()["errors"]

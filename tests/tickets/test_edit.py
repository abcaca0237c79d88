"""PUT /api/tickets/{id}: only the owner edits, never a reserved ticket; the edit is announced."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from nats.js import JetStreamContext

from services.common.messaging.events import TicketUpdated
from tests.events.ticket_writes import load_ticket, outbox_rows, reserve_ticket, sell_ticket
from tests.support.jetstream import decoded, msg_id, stream_messages
from tests.support.polling import eventually
from tests.tickets.support import TicketsApi, error, error_fields


@pytest.mark.database_matrix
async def test_owner_edits_and_ticket_updated_carries_the_next_version(
    api: TicketsApi, js: JetStreamContext
) -> None:
    owner = uuid4()
    ticket = await api.create(owner, title="Before", price=10)
    response = await api.client.put(
        f"/api/tickets/{ticket['id']}",
        json={"title": "After", "price": 12.34},
        headers=api.auth(owner),
    )
    assert response.status_code == 200
    assert response.json() == {**ticket, "title": "After", "price": 12.34, "version": 2}

    stream = api.settings.events_stream
    messages = await eventually(
        lambda: stream_messages(js, stream), lambda found: len(found) == 2, what="two events"
    )
    assert [message.subject for message in messages] == ["ticket.created", "ticket.updated"]
    event = decoded(messages[1])
    assert isinstance(event, TicketUpdated)
    assert msg_id(messages[1]) == str(event.event_id)
    assert (event.ticket_id, event.version, event.title) == (UUID(ticket["id"]), 2, "After")
    assert (event.price_cents, event.user_id, event.order_id) == (1234, owner, None)


async def test_edit_requires_a_signed_in_user(api: TicketsApi) -> None:
    ticket = await api.create()
    response = await api.client.put(f"/api/tickets/{ticket['id']}", json={"title": "X", "price": 1})
    assert response.status_code == 401
    assert response.json() == error("Not authorized")


@pytest.mark.parametrize("ticket_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid"])
async def test_edit_missing_or_malformed_is_404(api: TicketsApi, ticket_id: str) -> None:
    response = await api.client.put(
        f"/api/tickets/{ticket_id}", json={"title": "X", "price": 1}, headers=api.auth(uuid4())
    )
    assert response.status_code == 404
    assert response.json() == error("Ticket not found")


async def test_edit_by_someone_else_is_403(api: TicketsApi) -> None:
    ticket = await api.create(title="Mine", price=10)
    response = await api.client.put(
        f"/api/tickets/{ticket['id']}",
        json={"title": "Theirs", "price": 1},
        headers=api.auth(uuid4()),
    )
    assert response.status_code == 403
    assert response.json() == error("You do not own this ticket")
    shown = (await api.client.get(f"/api/tickets/{ticket['id']}")).json()
    assert shown == {**ticket, "reservedUntil": None, "eventPassed": False}


@pytest.mark.database_matrix
async def test_edit_of_a_reserved_ticket_is_409(api: TicketsApi) -> None:
    owner = uuid4()
    ticket = await api.create(owner, title="Locked", price=10)
    await reserve_ticket(api.runtime.unit_of_work, UUID(ticket["id"]))
    response = await api.client.put(
        f"/api/tickets/{ticket['id']}",
        json={"title": "Changed", "price": 1},
        headers=api.auth(owner),
    )
    assert response.status_code == 409
    assert response.json() == error("Cannot edit a reserved ticket")
    stored = await load_ticket(api.runtime.database, UUID(ticket["id"]))
    assert stored is not None and (stored.title, stored.price_cents) == ("Locked", 1000)


@pytest.mark.database_matrix
async def test_edit_of_a_sold_ticket_says_it_is_sold(api: TicketsApi) -> None:
    owner = uuid4()
    ticket = await api.create(owner, title="Gone", price=10)
    await sell_ticket(api.runtime.unit_of_work, UUID(ticket["id"]))
    response = await api.client.put(
        f"/api/tickets/{ticket['id']}",
        json={"title": "Changed", "price": 1},
        headers=api.auth(owner),
    )
    assert response.status_code == 409
    assert response.json() == error("Cannot edit a sold ticket")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"title": "", "price": 10}, ["title"]),
        ({"title": "T", "price": 0}, ["price"]),
        ({"title": "T", "price": 0.001}, ["price"]),
        ({"title": "T", "price": 2_000_000}, ["price"]),
        ({}, ["title", "price"]),
    ],
)
async def test_invalid_edit_is_400_and_changes_nothing(
    api: TicketsApi, body: dict[str, object], fields: list[str]
) -> None:
    owner = uuid4()
    ticket = await api.create(owner, title="Keep", price=10)
    response = await api.client.put(
        f"/api/tickets/{ticket['id']}", json=body, headers=api.auth(owner)
    )
    assert response.status_code == 400
    assert sorted(map(str, error_fields(response))) == sorted(fields)
    shown = (await api.client.get(f"/api/tickets/{ticket['id']}")).json()
    assert shown == {**ticket, "reservedUntil": None, "eventPassed": False}
    assert len(await outbox_rows(api.runtime.database)) == 1  # only ticket.created

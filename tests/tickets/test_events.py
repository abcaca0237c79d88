"""/api/events: create, list (upcoming, with tickets for sale and the lowest price), show
(its tickets cheapest first), edit (creator or admin, while nothing is sold); tickets that
name their event; and a started event that sells nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from nats.js import JetStreamContext
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.tickets import TicketsActivities
from services.common.identity.tokens import Role, TokenSigner, private_key_pem
from services.common.messaging.events import TicketCreated, TicketUpdated
from services.tickets import operations
from services.tickets.event_errors import EventStarted
from tests.events.ticket_writes import reserve_ticket, sell_ticket
from tests.support.jetstream import decoded, stream_messages
from tests.support.polling import eventually
from tests.tickets.support import (
    TicketsApi,
    create_event,
    error,
    error_fields,
    event_body,
    start_event,
)
from workflows.contracts import FailureType
from workflows.steps import TicketHold


def admin(api: TicketsApi) -> dict[str, str]:
    signer = TokenSigner(private_key_pem(api.settings), timedelta(hours=1))
    return {"Authorization": f"Bearer {signer.sign(uuid4(), 'admin@test.dev', role=Role.ADMIN)}"}


@pytest.mark.database_matrix
async def test_create_answers_the_event_in_its_local_time(api: TicketsApi) -> None:
    creator = uuid4()
    body = event_body(
        name="  Nils Frahm ",
        startsAt="2099-03-14T20:00:00+01:00",
        endsAt="2099-03-14T22:30:00+01:00",
        description="Piano.",
    )
    response = await api.client.post("/api/events", json=body, headers=api.auth(creator))
    assert response.status_code == 201, response.text
    event = response.json()
    assert event == {
        "id": event["id"],
        "name": "Nils Frahm",
        "venue": "Funkhaus",
        "city": "Berlin",
        "startsAt": "2099-03-14T20:00:00+01:00",
        "endsAt": "2099-03-14T22:30:00+01:00",
        "description": "Piano.",
        "userId": str(creator),
        "version": 1,
        "ticketsForSale": 0,
        "lowestPrice": None,
    }
    shown = await api.client.get(f"/api/events/{event['id']}")
    assert shown.json() == {**event, "tickets": []}


async def test_create_requires_a_signed_in_user(api: TicketsApi) -> None:
    response = await api.client.post("/api/events", json=event_body())
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "  "}, "name", "Must not be blank"),
        ({"name": "x" * 201}, "name", None),
        ({"venue": None}, "venue", None),
        ({"city": ""}, "city", "Must not be blank"),
        ({"startsAt": "2099-03-14T20:00:00"}, "startsAt", None),  # no offset
        ({"startsAt": "next friday"}, "startsAt", None),
        ({"startsAt": "2001-03-14T20:00:00+01:00"}, "startsAt", "Event must start in the future"),
        (
            {"startsAt": "2099-03-14T20:00:00+01:00", "endsAt": "2099-03-14T19:00:00+01:00"},
            "endsAt",
            "Event must end after it starts",
        ),
        ({"description": "x" * 2001}, "description", None),
    ],
)
async def test_create_validates_each_field(
    api: TicketsApi, overrides: dict[str, Any], field: str, message: str | None
) -> None:
    response = await api.client.post(
        "/api/events", json=event_body(**overrides), headers=api.auth(uuid4())
    )
    assert response.status_code == 400
    assert error_fields(response) == [field]
    if message is not None:
        assert response.json() == error(message, field)
    listed = await api.client.get("/api/events")
    assert listed.json() == []


@pytest.mark.database_matrix
async def test_list_shows_upcoming_events_soonest_first_with_what_is_for_sale(
    api: TicketsApi,
) -> None:
    later = await create_event(api, name="Later", startsAt="2099-06-01T20:00:00+02:00")
    sooner = await create_event(api, name="Sooner", startsAt="2099-05-01T20:00:00+02:00")
    started = await create_event(api, name="Started")
    for price in (30, 12.5, 40):
        await api.create(eventId=sooner["id"], price=price)
    reserved = await api.create(eventId=sooner["id"], price=5)
    sold = await api.create(eventId=sooner["id"], price=6)
    await reserve_ticket(api.runtime.unit_of_work, UUID(reserved["id"]))
    await sell_ticket(api.runtime.unit_of_work, UUID(sold["id"]))
    await api.create(eventId=started["id"], price=1)
    await start_event(api, started["id"])

    listed = (await api.client.get("/api/events")).json()
    assert [event["name"] for event in listed] == ["Sooner", "Later"]
    assert (listed[0]["ticketsForSale"], listed[0]["lowestPrice"]) == (3, 12.5)
    assert (listed[1]["ticketsForSale"], listed[1]["lowestPrice"]) == (0, None)
    assert listed[1]["id"] == later["id"]


async def test_show_lists_its_tickets_for_sale_cheapest_first(api: TicketsApi) -> None:
    event = await create_event(api)
    dear = await api.create(eventId=event["id"], price=80, section="A", row="3", seat="12")
    cheap = await api.create(eventId=event["id"], price=25, section="Stalls", row="K", seat="7")
    taken = await api.create(eventId=event["id"], price=10)
    await reserve_ticket(api.runtime.unit_of_work, UUID(taken["id"]))

    shown = (await api.client.get(f"/api/events/{event['id']}")).json()
    assert [ticket["id"] for ticket in shown["tickets"]] == [cheap["id"], dear["id"]]
    assert (shown["ticketsForSale"], shown["lowestPrice"]) == (2, 25)
    first = shown["tickets"][0]
    assert (first["section"], first["row"], first["seat"]) == ("Stalls", "K", "7")
    assert first["event"] == {
        key: event[key] for key in ("id", "name", "venue", "city", "startsAt", "endsAt")
    }


@pytest.mark.parametrize("event_id", ["not-an-id", "00000000-0000-4000-8000-000000000000"])
async def test_show_unknown_event_is_404(api: TicketsApi, event_id: str) -> None:
    response = await api.client.get(f"/api/events/{event_id}")
    assert response.status_code == 404
    assert response.json() == error("Event not found")


async def test_a_ticket_names_its_event_and_travels_with_its_date(
    api: TicketsApi, js: JetStreamContext
) -> None:
    event = await create_event(api, startsAt="2099-03-14T20:00:00+01:00")
    ticket = await api.create(eventId=event["id"], section="Balcony", row="B", seat="4")
    assert ticket["eventId"] == event["id"]
    assert ticket["event"]["name"] == "Nils Frahm"
    assert ticket["event"]["startsAt"] == "2099-03-14T20:00:00+01:00"
    assert (ticket["section"], ticket["row"], ticket["seat"]) == ("Balcony", "B", "4")
    shown = (await api.client.get(f"/api/tickets/{ticket['id']}")).json()
    assert shown == {**ticket, "reservedUntil": None, "eventPassed": False}
    [mine] = (
        await api.client.get("/api/tickets/mine", headers=api.auth(UUID(ticket["userId"])))
    ).json()
    assert mine["event"] == ticket["event"]

    stream = api.settings.events_stream
    await eventually(lambda: stream_messages(js, stream), what="ticket.created")
    [message] = await stream_messages(js, stream)
    created = decoded(message)
    assert isinstance(created, TicketCreated) and created.event is not None
    assert created.event.id == UUID(event["id"])
    assert created.event.starts_at == datetime(2099, 3, 14, 19, tzinfo=UTC)


async def test_listing_refuses_an_unknown_or_started_event(api: TicketsApi) -> None:
    unknown = await api.client.post(
        "/api/tickets",
        json={"title": "T", "price": 10, "eventId": str(uuid4())},
        headers=api.auth(uuid4()),
    )
    assert unknown.status_code == 400
    assert unknown.json() == error("No such event", "eventId")

    event = await create_event(api)
    await start_event(api, event["id"])
    started = await api.client.post(
        "/api/tickets",
        json={"title": "T", "price": 10, "eventId": event["id"]},
        headers=api.auth(uuid4()),
    )
    assert started.status_code == 400
    assert started.json() == error("Event has already started", "eventId")


async def test_edit_keeps_the_event_unless_told_and_refuses_a_started_one(
    api: TicketsApi,
) -> None:
    seller = uuid4()
    event = await create_event(api)
    ticket = await api.create(seller, eventId=event["id"], seat="9")
    # The course's client edits title and price only: the event and seat stay.
    edited = await api.client.put(
        f"/api/tickets/{ticket['id']}", json={"title": "New", "price": 11}, headers=api.auth(seller)
    )
    assert edited.status_code == 200
    assert (edited.json()["eventId"], edited.json()["seat"]) == (event["id"], "9")

    await start_event(api, event["id"])
    refused = await api.client.put(
        f"/api/tickets/{ticket['id']}", json={"title": "X", "price": 11}, headers=api.auth(seller)
    )
    assert refused.status_code == 400
    assert refused.json() == error("Event has already started", "eventId")


@pytest.mark.database_matrix
async def test_started_events_sell_nothing(api: TicketsApi) -> None:
    event = await create_event(api)
    ticket = await api.create(eventId=event["id"])
    undated = await api.create(title="No date")
    await start_event(api, event["id"])

    listed = (await api.client.get("/api/tickets")).json()
    assert [item["id"] for item in listed] == [undated["id"]]
    shown = (await api.client.get(f"/api/events/{event['id']}")).json()
    assert shown["tickets"] == []
    mine = await api.client.get("/api/tickets/mine", headers=api.auth(UUID(ticket["userId"])))
    assert mine.json()[0]["eventPassed"] is True

    async with api.runtime.unit_of_work() as uow:
        with pytest.raises(EventStarted):
            await operations.reserve(uow, UUID(ticket["id"]), uuid4())
    # The saga's reserve step: a business refusal, like a ticket another order holds.
    steps = TicketsActivities(api.runtime)
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(
            steps.reserve_ticket, TicketHold(ticket_id=UUID(ticket["id"]), order_id=uuid4())
        )
    assert refused.value.type == FailureType.TICKET_UNAVAILABLE
    assert refused.value.non_retryable and refused.value.message == "Event has started"
    assert (await api.client.get(f"/api/tickets/{ticket['id']}")).json()["status"] == "available"


@pytest.mark.database_matrix
async def test_edit_by_creator_or_admin_reannounces_its_tickets(
    api: TicketsApi, js: JetStreamContext
) -> None:
    creator = uuid4()
    event = await create_event(api, creator)
    ticket = await api.create(eventId=event["id"])
    moved = event_body(name="Nils Frahm (moved)", startsAt="2099-04-01T21:00:00+02:00")

    stranger = await api.client.put(
        f"/api/events/{event['id']}", json=moved, headers=api.auth(uuid4())
    )
    assert stranger.status_code == 403
    edited = await api.client.put(
        f"/api/events/{event['id']}", json=moved, headers=api.auth(creator)
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["startsAt"], edited.json()["ticketsForSale"]) == (
        "2099-04-01T21:00:00+02:00",
        1,
    )
    by_admin = await api.client.put(
        f"/api/events/{event['id']}", json={**moved, "venue": "Kraftwerk"}, headers=admin(api)
    )
    assert by_admin.status_code == 200 and by_admin.json()["venue"] == "Kraftwerk"

    shown = (await api.client.get(f"/api/tickets/{ticket['id']}")).json()
    assert (shown["version"], shown["event"]["venue"]) == (3, "Kraftwerk")
    stream = api.settings.events_stream

    async def updates() -> list[TicketUpdated] | None:
        found = [decoded(message) for message in await stream_messages(js, stream)]
        changes = [event for event in found if isinstance(event, TicketUpdated)]
        return changes if len(changes) == 2 else None

    first, second = await eventually(updates, what="two ticket.updated")
    assert first.event is not None and first.event.starts_at == datetime(2099, 4, 1, 19, tzinfo=UTC)
    assert second.event is not None and second.event.venue == "Kraftwerk"
    assert (first.version, second.version) == (2, 3)


async def test_edit_refused_once_a_ticket_is_sold_or_the_event_started(api: TicketsApi) -> None:
    creator = uuid4()
    event = await create_event(api, creator)
    sold = await api.create(eventId=event["id"])
    await sell_ticket(api.runtime.unit_of_work, UUID(sold["id"]))
    refused = await api.client.put(
        f"/api/events/{event['id']}", json=event_body(), headers=api.auth(creator)
    )
    assert refused.status_code == 409
    assert refused.json() == error("Cannot edit an event with sold tickets")

    other = await create_event(api, creator)
    await start_event(api, other["id"])
    started = await api.client.put(
        f"/api/events/{other['id']}", json=event_body(), headers=api.auth(creator)
    )
    assert started.status_code == 409
    assert started.json() == error("Cannot edit an event that has started")
    unknown = await api.client.put(
        f"/api/events/{uuid4()}", json=event_body(), headers=api.auth(creator)
    )
    assert unknown.status_code == 404


async def test_events_in_the_openapi_document(api: TicketsApi) -> None:
    document = (await api.client.get("/api/tickets/openapi.json")).json()
    assert {"/api/events", "/api/events/{event_id}"} <= set(document["paths"])
    listing = document["paths"]["/api/events"]["get"]
    assert {"q", "city", "from", "to", "minPrice", "maxPrice", "sort", "cursor"} <= {
        parameter["name"] for parameter in listing["parameters"]
    }

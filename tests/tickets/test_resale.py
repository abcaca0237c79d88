"""The holder sells the ticket on: a new listing of the same seat at the holder's price
(capped by RESALE_PRICE_CAP_PERCENT when set), showing the face value; the holder's old
code is void; the chain of holders is kept, for admins to see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import httpx
import pytest

from services.common.identity.tokens import Role
from services.common.settings import Settings
from services.tickets.service import definition as tickets
from tests.support.apps import app_client
from tests.tickets.holders import check, code_of, sell, token_of
from tests.tickets.support import TicketsApi, create_event, error, start_event


async def resell(api: TicketsApi, ticket_id: object, holder: UUID, price: object) -> httpx.Response:
    return await api.client.post(
        f"/api/tickets/{ticket_id}/resale", json={"price": price}, headers=api.auth(holder)
    )


async def bought(api: TicketsApi, price: int = 40) -> tuple[UUID, UUID, UUID]:
    seller, buyer = uuid4(), uuid4()
    ticket_id = UUID((await api.create(seller, title="Final", price=price))["id"])
    await sell(api, ticket_id, buyer)
    return seller, buyer, ticket_id


@pytest.mark.database_matrix
async def test_the_buyer_relists_and_a_third_user_buys_it(api: TicketsApi) -> None:
    seller, buyer, ticket_id = await bought(api)
    old_code = (await code_of(api, ticket_id, buyer))["code"]

    response = await resell(api, ticket_id, buyer, 55)
    assert response.status_code == 201, response.text
    listing = response.json()
    assert (listing["title"], listing["price"], listing["userId"], listing["status"]) == (
        "Final",
        55,
        str(buyer),
        "available",
    )
    new_id = UUID(listing["id"])
    assert new_id != ticket_id
    assert str(new_id) in [item["id"] for item in (await api.client.get("/api/tickets")).json()]
    held = (await api.client.get("/api/tickets/held", headers=api.auth(buyer))).json()
    assert held == []
    shown = await api.client.get(f"/api/tickets/{new_id}/entry-code", headers=api.auth(buyer))
    assert shown.status_code == 200
    # The code of the row they bought is void; the listing's is theirs until it sells.
    assert (await check(api, old_code)).json()["status"] == "void"

    third = uuid4()
    await sell(api, new_id, third)
    third_code = (await code_of(api, new_id, third))["code"]
    assert (await check(api, third_code)).json()["status"] == "valid"
    [mine] = (await api.client.get("/api/tickets/held", headers=api.auth(third))).json()
    assert (mine["id"], mine["faceValue"], mine["price"]) == (str(new_id), 40, 55)

    chain = await api.client.get(
        f"/api/tickets/{new_id}/holders", headers=token_of(api, role=Role.ADMIN)
    )
    assert chain.status_code == 200, chain.text
    assert [(link["holderId"], link["price"]) for link in chain.json()] == [
        (str(seller), None),
        (str(buyer), 40),
        (str(third), 55),
    ]
    not_admin = await api.client.get(f"/api/tickets/{new_id}/holders", headers=api.auth(third))
    assert not_admin.status_code == 403


async def test_only_the_holder_of_a_bought_ticket_relists_it(api: TicketsApi) -> None:
    seller, buyer, ticket_id = await bought(api)
    stranger = await resell(api, ticket_id, seller, 10)
    assert stranger.status_code == 403
    assert stranger.json() == error("You do not hold this ticket")

    assert (await resell(api, ticket_id, buyer, 10)).status_code == 201
    twice = await resell(api, ticket_id, buyer, 10)
    assert twice.status_code == 403

    listed = await api.create(seller)
    own_listing = await resell(api, listed["id"], seller, 10)
    assert own_listing.status_code == 409
    assert own_listing.json() == error("This ticket is already for sale")
    bad = await resell(api, uuid4(), buyer, -1)
    assert bad.status_code == 400


async def test_a_used_ticket_is_not_relisted(api: TicketsApi) -> None:
    _, buyer, ticket_id = await bought(api)
    code = (await code_of(api, ticket_id, buyer))["code"]
    assert (await check(api, code, "check-in")).status_code == 200
    used = await resell(api, ticket_id, buyer, 10)
    assert used.status_code == 409
    assert used.json() == error("This ticket was already used")


@pytest.fixture
async def capped(settings: Settings) -> AsyncIterator[TicketsApi]:
    """The tickets app with resale capped at 10% over what the holder paid."""
    async with app_client(
        tickets, settings.model_copy(update={"resale_price_cap_percent": 10})
    ) as (client, app):
        yield TicketsApi(client, app, app.state.runtime.settings)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_cap_refuses_a_price_beyond_it_with_a_field_message(
    capped: TicketsApi,
) -> None:
    _, buyer, ticket_id = await bought(capped, price=40)
    beyond = await resell(capped, ticket_id, buyer, "44.01")
    assert beyond.status_code == 400
    assert beyond.json() == error("Price may be at most 44 (what you paid plus 10%)", "price")
    at_cap = await resell(capped, ticket_id, buyer, 44)
    assert at_cap.status_code == 201, at_cap.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_without_a_cap_any_price_goes(api: TicketsApi) -> None:
    _, buyer, ticket_id = await bought(api, price=40)
    assert (await resell(api, ticket_id, buyer, 4000)).status_code == 201


async def test_the_relisting_is_the_same_seat_and_the_gate_names_it(api: TicketsApi) -> None:
    event = await create_event(api)
    seller, buyer = uuid4(), uuid4()
    ticket = await api.create(
        seller, eventId=event["id"], price=30, section="Stalls", row="K", seat="7"
    )
    await sell(api, UUID(ticket["id"]), buyer)
    code = (await code_of(api, ticket["id"], buyer))["code"]
    valid = (await check(api, code)).json()
    assert (valid["status"], valid["eventName"], valid["venue"]) == (
        "valid",
        "Nils Frahm",
        "Funkhaus",
    )
    assert (valid["section"], valid["row"], valid["seat"]) == ("Stalls", "K", "7")

    listing = (await resell(api, ticket["id"], buyer, 35)).json()
    assert (listing["eventId"], listing["section"], listing["row"], listing["seat"]) == (
        event["id"],
        "Stalls",
        "K",
        "7",
    )


async def test_a_ticket_whose_event_has_started_is_not_relisted(api: TicketsApi) -> None:
    event = await create_event(api)
    _, buyer = uuid4(), uuid4()
    ticket = await api.create(eventId=event["id"], price=30)
    await sell(api, UUID(ticket["id"]), buyer)
    await start_event(api, event["id"])
    late = await resell(api, ticket["id"], buyer, 30)
    assert late.status_code == 400, late.text
    assert late.json()["errors"][0]["message"] == "Event has already started"

"""GET /api/tickets (for sale only, paginated) and GET /api/tickets/{id}."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.common.messaging.events import OrderCreated
from services.tickets.event_handlers import on_order_created
from tests.events.ticket_writes import reserve_ticket, sell_ticket
from tests.tickets.support import TicketsApi, error
from workflows.contracts import OrderStatus


@pytest.mark.database_matrix
async def test_list_shows_only_tickets_for_sale_newest_first(api: TicketsApi) -> None:
    old = await api.create(title="Old", price=10)
    reserved = await api.create(title="Reserved", price=11)
    sold = await api.create(title="Sold", price=12)
    new = await api.create(title="New", price=13.5)
    await reserve_ticket(api.runtime.unit_of_work, UUID(reserved["id"]))
    await sell_ticket(api.runtime.unit_of_work, UUID(sold["id"]))

    response = await api.client.get("/api/tickets")  # no sign-in needed
    assert response.status_code == 200
    assert response.json() == [new, old]
    assert "link" not in response.headers


@pytest.mark.database_matrix
async def test_list_paginates_with_a_link_to_the_next_page(api: TicketsApi) -> None:
    created = [await api.create(title=f"T{n}") for n in range(5)]
    newest_first = list(reversed(created))

    first = await api.client.get("/api/tickets", params={"limit": 2})
    assert first.json() == newest_first[:2]
    assert first.headers["link"] == '</api/tickets?limit=2&offset=2>; rel="next"'
    second = await api.client.get("/api/tickets?limit=2&offset=2")
    assert second.json() == newest_first[2:4]
    assert second.headers["link"] == '</api/tickets?limit=2&offset=4>; rel="next"'
    last = await api.client.get("/api/tickets?limit=2&offset=4")
    assert last.json() == newest_first[4:]
    assert "link" not in last.headers
    beyond = await api.client.get("/api/tickets?offset=50")
    assert beyond.status_code == 200 and beyond.json() == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
        ("offset=46698570733000934779707719680", "offset"),
    ],
)
async def test_list_rejects_bad_paging(api: TicketsApi, query: str, field: str) -> None:
    response = await api.client.get(f"/api/tickets?{query}")
    assert response.status_code == 400
    [entry] = response.json()["errors"]
    assert entry["field"] == field


async def test_show_answers_any_ticket_even_reserved(api: TicketsApi) -> None:
    ticket = await api.create(title="Show me", price=42)
    order_id = uuid4()
    await reserve_ticket(api.runtime.unit_of_work, UUID(ticket["id"]), order_id)
    response = await api.client.get(f"/api/tickets/{ticket['id']}")
    assert response.status_code == 200
    assert response.json() == {
        **ticket,
        "version": 2,
        "orderId": str(order_id),
        "status": "reserved",
        # Set once the orders service announces the order's window (order.created).
        "reservedUntil": None,
        "eventPassed": False,
    }


@pytest.mark.parametrize("ticket_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "123"])
async def test_show_missing_or_malformed_is_404(api: TicketsApi, ticket_id: str) -> None:
    response = await api.client.get(f"/api/tickets/{ticket_id}")
    assert response.status_code == 404
    assert response.json() == error("Ticket not found")


@pytest.mark.database_matrix
async def test_mine_lists_the_callers_tickets_in_every_status_with_a_reservations_end(
    api: TicketsApi,
) -> None:
    seller = uuid4()
    for_sale = await api.create(seller, title="For sale")
    held = await api.create(seller, title="Held")
    sold = await api.create(seller, title="Sold")
    await api.create(uuid4(), title="Someone else's")
    order_id = await reserve_ticket(api.runtime.unit_of_work, UUID(held["id"]))
    await sell_ticket(api.runtime.unit_of_work, UUID(sold["id"]))
    # The holding order's window, as the orders service announces it.
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=15)
    async with api.runtime.unit_of_work() as uow:
        await on_order_created(
            OrderCreated(
                version=1,
                order_id=order_id,
                user_id=uuid4(),
                ticket_id=UUID(held["id"]),
                price_cents=1000,
                status=OrderStatus.AWAITING_PAYMENT,
                expires_at=until,
            ),
            uow,
        )
        await uow.commit()

    response = await api.client.get("/api/tickets/mine", headers=api.auth(seller))
    assert response.status_code == 200
    mine = {ticket["title"]: ticket for ticket in response.json()}
    assert set(mine) == {"For sale", "Held", "Sold"}
    assert [mine[title]["status"] for title in ("For sale", "Held", "Sold")] == [
        "available",
        "reserved",
        "sold",
    ]
    assert datetime.fromisoformat(mine["Held"]["reservedUntil"]) == until
    assert mine["For sale"]["reservedUntil"] is None and mine["Sold"]["reservedUntil"] is None
    assert mine["For sale"]["id"] == for_sale["id"]
    assert (await api.client.get("/api/tickets/mine")).status_code == 401
    # Anyone may see until when a ticket is held: when it may be for sale again.
    shown = (await api.client.get(f"/api/tickets/{held['id']}")).json()
    assert datetime.fromisoformat(shown["reservedUntil"]) == until
    shown = (await api.client.get(f"/api/tickets/{for_sale['id']}")).json()
    assert shown["reservedUntil"] is None


async def test_mine_comes_a_page_at_a_time_and_whole_to_a_client_that_asks_no_page(
    api: TicketsApi,
) -> None:
    seller = uuid4()
    created = [await api.create(seller, title=f"T{n}") for n in range(3)]
    newest_first = [ticket["id"] for ticket in reversed(created)]
    whole = await api.client.get("/api/tickets/mine", headers=api.auth(seller))
    assert [ticket["id"] for ticket in whole.json()] == newest_first
    assert "link" not in whole.headers
    first = await api.client.get("/api/tickets/mine", params={"limit": 2}, headers=api.auth(seller))
    assert [ticket["id"] for ticket in first.json()] == newest_first[:2]
    assert first.headers["link"] == '</api/tickets/mine?limit=2&offset=2>; rel="next"'
    rest = await api.client.get("/api/tickets/mine?limit=2&offset=2", headers=api.auth(seller))
    assert [ticket["id"] for ticket in rest.json()] == newest_first[2:]
    assert "link" not in rest.headers
    too_many = await api.client.get("/api/tickets/mine?limit=201", headers=api.auth(seller))
    assert too_many.status_code == 400

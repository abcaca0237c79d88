"""A PUT racing the reservation's conditional UPDATE never overwrites the reservation.

The reservation takes the row first and commits while the PUT is between reading the
ticket (still for sale) and writing it. On PostgreSQL the PUT's UPDATE waits on the row
lock, then finds another version: the optimistic check answers 409. On SQLite writers
queue (BEGIN IMMEDIATE), so the PUT reads the reserved ticket: 409 as well.
"""

from __future__ import annotations

import asyncio
from typing import cast
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Table, text, update

from services.common.data.db import is_sqlite
from services.common.messaging.events import TicketStatus
from services.tickets.models import Ticket
from tests.events.ticket_writes import load_ticket, outbox_rows
from tests.support.polling import eventually
from tests.tickets.support import TicketsApi, error

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix

tickets = cast(Table, Ticket.__table__)


async def sessions_waiting_on_a_lock(api: TicketsApi) -> int:
    async with api.runtime.database.read_sessions() as session:
        count = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
    return int(count or 0)


async def test_put_racing_a_reservation_is_409_and_the_reservation_stands(
    api: TicketsApi,
) -> None:
    owner, order_id = uuid4(), uuid4()
    ticket = await api.create(owner, title="Race", price=10)
    ticket_id = UUID(ticket["id"])
    database = api.runtime.database

    async with database.write_engine.connect() as reservation:
        await reservation.begin()
        reserved = await reservation.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id, tickets.c.order_id.is_(None))
            .values(
                order_id=order_id,
                status=TicketStatus.RESERVED.value,
                version=tickets.c.version + 1,
            )
        )
        assert reserved.rowcount == 1
        put = asyncio.create_task(
            api.client.put(
                f"/api/tickets/{ticket_id}",
                json={"title": "Overwritten", "price": 1},
                headers=api.auth(owner),
            )
        )
        if is_sqlite(database.url):
            await asyncio.sleep(0.2)  # the PUT queues behind the writer; nothing to observe
        else:
            await eventually(
                lambda: sessions_waiting_on_a_lock(api), what="the PUT to wait on the row lock"
            )
        assert not put.done()
        await reservation.commit()

    response = await asyncio.wait_for(put, 30)
    assert response.status_code == 409
    assert response.json() == error("Cannot edit a reserved ticket")
    stored = await load_ticket(database, ticket_id)
    assert stored is not None
    assert (stored.order_id, stored.status, stored.version) == (
        order_id,
        TicketStatus.RESERVED,
        2,
    )
    assert (stored.title, stored.price_cents) == ("Race", 1000)
    # The PUT raised no event: replicas never hear of an edit over the reservation.
    assert [row.subject for row in await outbox_rows(database)] == ["ticket.created"]

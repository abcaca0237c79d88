"""Changing tickets through the tickets service's own operations, one unit of work each;
and reading what they left behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select

from services.common.data.db import Database
from services.common.data.unit_of_work import UnitOfWork
from services.tickets import operations
from services.tickets.models import Ticket, tables

NewUnitOfWork = Callable[[], UnitOfWork]


async def create_ticket(
    new_uow: NewUnitOfWork,
    *,
    title: str = "Concert",
    price_cents: int = 2000,
    user_id: UUID | None = None,
) -> Ticket:
    async with new_uow() as uow:
        ticket = await operations.list_ticket(uow, user_id or uuid4(), title, price_cents)
        await uow.commit()
    return ticket


async def edit_ticket(
    new_uow: NewUnitOfWork,
    ticket_id: UUID,
    *,
    title: str | None = None,
    price_cents: int | None = None,
) -> Ticket:
    """The seller's edit; what is not given stays as it is."""
    async with new_uow() as uow:
        current = await uow.session.get_one(Ticket, ticket_id)
        ticket = await operations.edit_ticket(
            uow,
            ticket_id,
            current.user_id,
            current.title if title is None else title,
            current.price_cents if price_cents is None else price_cents,
        )
        await uow.commit()
    return ticket


async def reserve_ticket(
    new_uow: NewUnitOfWork, ticket_id: UUID, order_id: UUID | None = None
) -> UUID:
    """Lock the ticket for an order, as the saga's reserve step does; the order's id."""
    order_id = order_id or uuid4()
    async with new_uow() as uow:
        assert await operations.reserve(uow, ticket_id, order_id) is operations.Outcome.CHANGED
        await uow.commit()
    return order_id


async def sell_ticket(new_uow: NewUnitOfWork, ticket_id: UUID) -> None:
    """Reserve then sell the ticket, as a paid purchase does."""
    order_id = await reserve_ticket(new_uow, ticket_id)
    async with new_uow() as uow:
        assert await operations.mark_sold(uow, ticket_id, order_id) is operations.Outcome.CHANGED
        await uow.commit()


async def load_ticket(database: Database, ticket_id: UUID) -> Ticket | None:
    async with database.read_sessions() as session:
        return await session.get(Ticket, ticket_id)


async def all_tickets(database: Database) -> list[Ticket]:
    async with database.read_sessions() as session:
        return list(await session.scalars(select(Ticket)))


async def outbox_rows(database: Database) -> list[Any]:
    outbox = tables.outbox
    async with database.read_sessions() as session:
        return list((await session.execute(select(outbox).order_by(outbox.c.seq))).all())


async def all_published(database: Database) -> bool:
    rows = await outbox_rows(database)
    return all(row.published_at is not None for row in rows)

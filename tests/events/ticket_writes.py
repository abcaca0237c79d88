"""Changing tickets the way the service does: one unit of work, the change and its event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select

from services.common.data.db import Database
from services.common.data.unit_of_work import UnitOfWork
from services.common.messaging.events import TicketStatus
from services.tickets.events import ticket_created, ticket_updated
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
        ticket = Ticket(title=title, price_cents=price_cents, user_id=user_id or uuid4())
        uow.session.add(ticket)
        await uow.session.flush()
        uow.publish(ticket_created(ticket))
        await uow.commit()
    return ticket


async def edit_ticket(new_uow: NewUnitOfWork, ticket_id: UUID, **changes: Any) -> Ticket:
    async with new_uow() as uow:
        ticket = await uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        for name, value in changes.items():
            setattr(ticket, name, value)
        await uow.session.flush()
        uow.publish(ticket_updated(ticket))
        await uow.commit()
    return ticket


async def reserve_ticket(
    new_uow: NewUnitOfWork, ticket_id: UUID, order_id: UUID | None = None
) -> Ticket:
    """Lock the ticket for an order, as the saga's reserve step does."""
    return await edit_ticket(
        new_uow, ticket_id, order_id=order_id or uuid4(), status=TicketStatus.RESERVED
    )


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

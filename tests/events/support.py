"""A test-only replica of tickets, kept by a consumer that follows the replicas' rules.

The rules every replica applies (services/common/messaging/replica.py): an event whose version the
replica already has is ignored (idempotent); an event more than one version ahead is
not applied yet (``NotYetApplicable``: nak with delay, retried after the gap fills).
Each real application is logged, so a test sees exactly what was applied and in what order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from sqlalchemy import Column, Integer, String, Table, Uuid, insert, select, update

from services.common.data.db import Database, new_metadata
from services.common.data.tables import common_tables
from services.common.data.unit_of_work import UnitOfWork
from services.common.messaging.consumers import Consumer, NotYetApplicable
from services.common.messaging.events import TicketCreated, TicketUpdated
from services.common.service import ServiceDefinition

metadata = new_metadata()
tables = common_tables(metadata)

ticket_replica = Table(
    "ticket_replica",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("version", Integer, nullable=False),
)

applied_events = Table(
    "applied_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
)


async def apply_ticket(event: TicketCreated | TicketUpdated, uow: UnitOfWork) -> None:
    session = uow.session
    known = await session.scalar(
        select(ticket_replica.c.version).where(ticket_replica.c.id == event.ticket_id)
    )
    if event.version <= (known or 0):
        return
    if event.version > (known or 0) + 1:
        raise NotYetApplicable(f"ticket {event.ticket_id} v{event.version} after v{known}")
    values = {"title": event.title, "price_cents": event.price_cents, "version": event.version}
    if known is None:
        await session.execute(insert(ticket_replica).values(id=event.ticket_id, **values))
    else:
        await session.execute(
            update(ticket_replica).where(ticket_replica.c.id == event.ticket_id).values(**values)
        )
    await session.execute(
        insert(applied_events).values(ticket_id=event.ticket_id, version=event.version)
    )


def replica_definition(durable: str) -> ServiceDefinition:
    """A service holding only the replica (named "orders": its database setting is free)."""
    return ServiceDefinition(
        name="orders",
        metadata=metadata,
        tables=tables,
        migrations=Path("no-migrations"),  # tables are made by create_replica_tables
        consumers=[Consumer(durable, {TicketCreated: apply_ticket, TicketUpdated: apply_ticket})],
    )


async def create_replica_tables(url: str) -> None:
    database = Database.connect(url)
    try:
        async with database.write_engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    finally:
        await database.dispose()


@dataclass(frozen=True)
class ReplicaRow:
    id: UUID
    title: str
    price_cents: int
    version: int


async def replica_rows(database: Database) -> dict[UUID, ReplicaRow]:
    async with database.read_sessions() as session:
        rows = (await session.execute(select(ticket_replica))).all()
    return {row.id: ReplicaRow(row.id, row.title, row.price_cents, row.version) for row in rows}


async def applied_log(database: Database) -> list[tuple[UUID, int]]:
    async with database.read_sessions() as session:
        rows = (
            await session.execute(
                select(applied_events.c.ticket_id, applied_events.c.version).order_by(
                    applied_events.c.seq
                )
            )
        ).all()
    return [(row.ticket_id, row.version) for row in rows]

"""Merging duplicate events from the command line (`ticketing events merge`).

Runs against the tickets database directly, in one unit of work that it commits; the
``ticket.updated`` of each moved ticket waits in the outbox until the tickets service's
relay sends it.
"""

from __future__ import annotations

from uuid import UUID

from services.common.data.db import Database
from services.common.data.unit_of_work import UnitOfWork
from services.common.settings import Settings
from services.tickets.event_operations import merge_events
from services.tickets.models import tables


async def merge(settings: Settings, keep_id: UUID, duplicate_id: UUID) -> int:
    """How many tickets moved; NotFound if either event is missing."""
    database = Database.connect(
        settings.database_url_for("tickets"), sqlite_driver=settings.sqlite_driver
    )
    try:
        async with UnitOfWork(database.write_sessions, tables.outbox) as uow:
            moved = await merge_events(uow, keep_id, duplicate_id)
            await uow.commit()
    finally:
        await database.dispose()
    return moved

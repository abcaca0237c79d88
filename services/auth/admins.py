"""Granting and revoking the admin role from the command line (`ticketing admin`).

Runs against the auth database directly, in one unit of work that it commits; the
``user.updated`` it raises waits in the outbox until the auth service's relay sends it.
"""

from __future__ import annotations

from services.auth import operations
from services.auth.models import tables
from services.common.data.db import Database
from services.common.data.unit_of_work import UnitOfWork
from services.common.identity.tokens import Role
from services.common.settings import Settings


async def set_role(settings: Settings, email: str, role: Role) -> None:
    """UserNotFound if no user has this address."""
    database = Database.connect(
        settings.database_url_for("auth"), sqlite_driver=settings.sqlite_driver
    )
    try:
        async with UnitOfWork(database.write_sessions, tables.outbox) as uow:
            await operations.set_role(uow, email, role)
            await uow.commit()
    finally:
        await database.dispose()

"""The ban list every service keeps, fed by ``user.banned``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update

from services.common.data.tables import CommonTables
from services.common.data.unit_of_work import UnitOfWork
from services.common.identity.refusals import refusals_of
from services.common.messaging.consumers import Consumer
from services.common.messaging.events import UserBanned


async def record_ban(
    tables: CommonTables, uow: UnitOfWork, user_id: UUID, banned_until: datetime
) -> None:
    """Idempotent: a ban applied twice keeps the later expiry."""
    banned_users = tables.banned_users
    current = await uow.session.scalar(
        select(banned_users.c.banned_until).where(banned_users.c.user_id == user_id)
    )
    if current is None:
        await uow.session.execute(
            banned_users.insert().values(user_id=user_id, banned_until=banned_until)
        )
    else:
        await uow.session.execute(
            update(banned_users)
            .where(banned_users.c.user_id == user_id, banned_users.c.banned_until < banned_until)
            .values(banned_until=banned_until)
        )
    refusals = refusals_of(uow.session.get_bind())
    uow.on_commit(lambda: refusals.ban(user_id, banned_until))


def ban_consumer(service: str, tables: CommonTables) -> Consumer:
    async def on_user_banned(event: UserBanned, uow: UnitOfWork) -> None:
        await record_ban(tables, uow, event.user_id, event.banned_until)

    return Consumer(durable=f"{service}-bans", handlers={UserBanned: on_user_banned})

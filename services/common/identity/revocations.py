"""The list of revoked sessions every service keeps, fed by ``user.sessions_revoked``.

Like the ban list: every service checks it on each signed-in request (see
``services.common.http.current_user``), so a signed-out session is refused everywhere
within the event lag. An entry is kept only until every token of its session has expired.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import delete, select, update

from services.common.data.tables import CommonTables
from services.common.data.unit_of_work import UnitOfWork
from services.common.identity.refusals import refusals_of
from services.common.messaging.consumers import Consumer
from services.common.messaging.events import UserSessionsRevoked


async def record_revocation(
    tables: CommonTables, uow: UnitOfWork, session_ids: Iterable[UUID], revoked_until: datetime
) -> None:
    """Idempotent: a revocation applied twice keeps the later expiry. Entries whose
    tokens have all expired are forgotten on the way."""
    revoked = tables.revoked_sessions
    wanted = set(session_ids)
    await uow.session.execute(delete(revoked).where(revoked.c.revoked_until < datetime.now(UTC)))
    if not wanted:
        return
    refusals = refusals_of(uow.session.get_bind())
    uow.on_commit(lambda: refusals.revoke(wanted, revoked_until))
    known = set(
        await uow.session.scalars(
            select(revoked.c.session_id).where(revoked.c.session_id.in_(wanted))
        )
    )
    if known:
        await uow.session.execute(
            update(revoked)
            .where(revoked.c.session_id.in_(known), revoked.c.revoked_until < revoked_until)
            .values(revoked_until=revoked_until)
        )
    fresh = wanted - known
    if fresh:
        await uow.session.execute(
            revoked.insert(),
            [{"session_id": session_id, "revoked_until": revoked_until} for session_id in fresh],
        )


def revocation_consumer(service: str, tables: CommonTables) -> Consumer:
    async def on_sessions_revoked(event: UserSessionsRevoked, uow: UnitOfWork) -> None:
        await record_revocation(tables, uow, event.session_ids, event.revoked_until)

    return Consumer(
        durable=f"{service}-revocations", handlers={UserSessionsRevoked: on_sessions_revoked}
    )

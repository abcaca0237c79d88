"""The ban list and the revoked sessions, held in memory: what every signed-in request
checks, answered without a query.

The service's database stays the record (``bans``, ``revocations``); this is a copy of
the entries in force, kept current from three sides, so that a request reads only memory:

- every change this process commits (a consumer applying ``user.banned`` or
  ``user.sessions_revoked``; the auth service's own sign-out, ban or password change),
  the moment it commits;
- every such event on the bus, heard on a plain subscription (as the change hints hear
  theirs), so every replica of a service learns it within the event lag, though only one
  replica's consumer records it;
- the database itself, read again every ``RELOAD_SECONDS``: what a process missed while
  cut off from the bus, or a change made by another process in its own transaction.

Entries only ever grow (a ban or revocation applied twice keeps the later expiry) and
run out by themselves, so merging in whatever is heard, in any order, is always right.
Until the first read of the database, the check asks the database as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from uuid import UUID
from weakref import WeakKeyDictionary

from nats.aio.msg import Msg
from sqlalchemy import Connection, Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.data.tables import CommonTables
from services.common.messaging.bus import Bus
from services.common.messaging.events import Subject, UserBanned, UserSessionsRevoked, decode

log = logging.getLogger(__name__)

RELOAD_SECONDS = 5.0


class Refusals:
    def __init__(self) -> None:
        self._banned: dict[UUID, datetime] = {}
        self._revoked: dict[UUID, datetime] = {}
        self.loaded = False

    def refuses(self, user_id: UUID, session_id: UUID, now: datetime) -> bool:
        banned_until = self._banned.get(user_id)
        if banned_until is not None and banned_until > now:
            return True
        revoked_until = self._revoked.get(session_id)
        return revoked_until is not None and revoked_until > now

    def ban(self, user_id: UUID, until: datetime) -> None:
        _keep_later(self._banned, user_id, until)

    def revoke(self, session_ids: Iterable[UUID], until: datetime) -> None:
        for session_id in session_ids:
            _keep_later(self._revoked, session_id, until)

    async def load(self, engine: AsyncEngine, tables: CommonTables) -> None:
        """Merges in the entries in force in the database, and forgets run-out ones."""
        now = datetime.now(UTC)
        banned, revoked = tables.banned_users, tables.revoked_sessions
        async with engine.connect() as connection:
            bans = (
                await connection.execute(
                    select(banned.c.user_id, banned.c.banned_until).where(
                        banned.c.banned_until > now
                    )
                )
            ).all()
            revocations = (
                await connection.execute(
                    select(revoked.c.session_id, revoked.c.revoked_until).where(
                        revoked.c.revoked_until > now
                    )
                )
            ).all()
        for entries in (self._banned, self._revoked):
            for key in [key for key, until in entries.items() if until <= now]:
                del entries[key]
        for user_id, until in bans:
            self.ban(user_id, until)
        for session_id, until in revocations:
            self.revoke([session_id], until)
        self.loaded = True

    async def keep_current(self, engine: AsyncEngine, tables: CommonTables, bus: Bus) -> None:
        """Hears the events and reads the database every ``RELOAD_SECONDS``, until
        cancelled. The first read does not wait for the bus."""
        listening = asyncio.create_task(self._listen(bus), name="refusals-listen")
        try:
            while True:
                try:
                    await self.load(engine, tables)
                except Exception as error:  # the next read tries again
                    log.warning("could not read the ban and revocation lists: %r", error)
                await asyncio.sleep(RELOAD_SECONDS)
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    async def _listen(self, bus: Bus) -> None:
        # nats-py subscribes again by itself after a reconnection.
        client = await bus.client()
        subscriptions = [
            await client.subscribe(subject.value, cb=self._heard)
            for subject in (Subject.USER_BANNED, Subject.USER_SESSIONS_REVOKED)
        ]
        try:
            await asyncio.Event().wait()
        finally:
            for subscription in subscriptions:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()

    async def _heard(self, message: Msg) -> None:
        try:
            event = decode(message.subject, message.data)
        except Exception:  # not ours to judge here: the consumer reports it
            return
        if isinstance(event, UserBanned):
            self.ban(event.user_id, event.banned_until)
        elif isinstance(event, UserSessionsRevoked):
            self.revoke(event.session_ids, event.revoked_until)


def _keep_later(entries: dict[UUID, datetime], key: UUID, until: datetime) -> None:
    until = _aware(until)
    current = entries.get(key)
    if current is None or current < until:
        entries[key] = until


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# One list per database, so that a change committed through any unit of work of this
# process on that database (a consumer's, a route's, a test's) reaches it at once.
_by_database: WeakKeyDictionary[Engine, Refusals] = WeakKeyDictionary()


def refusals_of(bind: Engine | Connection) -> Refusals:
    """The list of the database ``bind`` writes to (a session's synchronous bind)."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    found = _by_database.get(engine)
    if found is None:
        found = _by_database[engine] = Refusals()
    return found

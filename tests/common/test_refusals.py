"""Bans and revoked sessions answered from memory: once loaded, a signed-in request asks
the database nothing about them, and the memory is never behind what refuses: a change
committed in this process refuses at once, one made by another process is read again,
and an event heard on the bus reaches a replica whose consumer did not record it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from nats.js import JetStreamContext
from sqlalchemy import event

from services.common.data.db import Database
from services.common.identity.refusals import Refusals
from services.common.messaging.events import UserBanned, UserSessionsRevoked
from services.tickets.models import tables
from tests.common.test_revocations import create, revoke, token_of
from tests.support.jetstream import publish_event
from tests.support.polling import eventually
from tests.tickets.support import TicketsApi


async def loaded(api: TicketsApi) -> None:
    await eventually(
        lambda: asyncio.sleep(0, api.runtime.refusals.loaded),
        bool,
        what="the ban and revocation lists to be read",
    )


@pytest.mark.database_matrix
async def test_a_signed_in_request_asks_the_database_nothing_about_refusals(
    api: TicketsApi,
) -> None:
    await loaded(api)
    asked: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "revoked_sessions" in statement or "banned_users" in statement:
            asked.append(statement)

    engines = {api.runtime.database.read_engine, api.runtime.database.write_engine}
    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        user, session = uuid4(), uuid4()
        assert (await create(api, token_of(api, user, session))).status_code == 201
        # A revocation committed in this process refuses the very next request.
        await revoke(api, datetime.now(UTC) + timedelta(hours=1), session)
        asked.clear()
        assert (await create(api, token_of(api, user, session))).status_code == 401
        assert (await create(api, token_of(api, user, uuid4()))).status_code == 201
    finally:
        for engine in engines:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert asked == []


@pytest.mark.database_matrix
async def test_a_change_made_by_another_process_is_read_again(api: TicketsApi) -> None:
    await loaded(api)
    user, session = uuid4(), uuid4()
    # Another process's transaction: its own engine on the same database.
    other = Database.connect(api.settings.database_url_for("tickets"))
    try:
        async with other.write_sessions() as writes, writes.begin():
            await writes.execute(
                tables.revoked_sessions.insert().values(
                    session_id=session, revoked_until=datetime.now(UTC) + timedelta(hours=1)
                )
            )
    finally:
        await other.dispose()
    await api.runtime.refusals.load(api.runtime.database.read_engine, tables)
    assert (await create(api, token_of(api, user, session))).status_code == 401


@pytest.mark.database_matrix
async def test_an_event_on_the_bus_reaches_a_replica_that_did_not_record_it(
    api: TicketsApi, js: JetStreamContext
) -> None:
    replica = Refusals()  # another replica's list: it never reads this database
    listening = asyncio.create_task(replica._listen(api.runtime.bus))
    try:
        await asyncio.sleep(0.2)  # subscribed
        now = datetime.now(UTC)
        banned, session = uuid4(), uuid4()
        for heard in (
            UserBanned(version=1, user_id=banned, banned_until=now + timedelta(hours=1)),
            UserSessionsRevoked(
                version=1,
                user_id=uuid4(),
                session_ids=[session],
                revoked_until=now + timedelta(hours=1),
            ),
        ):
            await publish_event(js, api.settings.events_stream, heard)
        await eventually(
            lambda: asyncio.sleep(0, replica.refuses(banned, uuid4(), datetime.now(UTC))),
            bool,
            what="the ban to be heard",
        )
        await eventually(
            lambda: asyncio.sleep(0, replica.refuses(uuid4(), session, datetime.now(UTC))),
            bool,
            what="the revocation to be heard",
        )
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


def test_entries_run_out_and_only_the_later_expiry_counts() -> None:
    refusals = Refusals()
    now = datetime.now(UTC)
    user, session = uuid4(), uuid4()
    refusals.ban(user, now + timedelta(minutes=5))
    refusals.ban(user, now + timedelta(minutes=1))  # an older event, heard late
    refusals.revoke([session], now + timedelta(minutes=5))
    assert refusals.refuses(user, uuid4(), now + timedelta(minutes=4))
    assert refusals.refuses(uuid4(), session, now + timedelta(minutes=4))
    assert not refusals.refuses(user, session, now + timedelta(minutes=6))

"""Publishing: an event committed with its change reaches the stream once, whatever happens.

Each test fails if the guarantee breaks: an event lost while NATS is down, an event
published for a change that rolled back, or a republished event stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from nats.js import JetStreamContext
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from devstack.nats import NatsServer
from services.common.data.db import Database
from services.common.data.migrations import upgrade
from services.common.data.unit_of_work import UnitOfWork
from services.common.messaging.bus import Bus
from services.common.messaging.events import Subject, TicketCreated, TicketUpdated
from services.common.messaging.outbox import OutboxRelay
from services.common.settings import Settings
from services.tickets.events import ticket_created
from services.tickets.models import Ticket, tables
from services.tickets.service import definition
from tests.events.ticket_writes import (
    all_published,
    all_tickets,
    create_ticket,
    edit_ticket,
    outbox_rows,
)
from tests.support.apps import service_runtime
from tests.support.jetstream import decoded, message_count, msg_id, stream_messages
from tests.support.polling import eventually

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix


async def test_event_committed_while_nats_is_down_reaches_the_stream_once(
    settings: Settings, nats_server: NatsServer, js: JetStreamContext
) -> None:
    async with service_runtime(definition, settings) as runtime:
        await asyncio.wait_for(runtime.bus.jetstream(), 10)  # the stream exists
        nats_server.stop()
        try:
            ticket = await create_ticket(runtime.unit_of_work, title="Opera")
            await edit_ticket(runtime.unit_of_work, ticket.id, title="Opera, 2nd night")
            # The relay has tried and failed: both events wait in the outbox.
            await asyncio.sleep(0.3)
            assert [row.published_at for row in await outbox_rows(runtime.database)] == [
                None,
                None,
            ]
        finally:
            nats_server.start()
        await eventually(
            lambda: all_published(runtime.database), within=30, what="outbox published"
        )
        rows = await outbox_rows(runtime.database)
        # Nothing is left to publish once NATS is back.
        assert await runtime.relay.publish_pending() == 0

    messages = await stream_messages(js, settings.events_stream)
    assert [message.subject for message in messages] == ["ticket.created", "ticket.updated"]
    assert [msg_id(message) for message in messages] == [str(row.event_id) for row in rows]
    created, updated = (decoded(message) for message in messages)
    assert isinstance(created, TicketCreated) and isinstance(updated, TicketUpdated)
    assert [created.event_id, updated.event_id] == [row.event_id for row in rows]
    assert (created.ticket_id, created.version, created.title) == (ticket.id, 1, "Opera")
    assert (updated.ticket_id, updated.version, updated.title) == (
        ticket.id,
        2,
        "Opera, 2nd night",
    )


async def test_event_committed_before_nats_was_ever_reachable_is_published(
    settings: Settings, nats_server: NatsServer, js: JetStreamContext
) -> None:
    nats_server.stop()
    try:
        async with service_runtime(definition, settings) as runtime:
            ticket = await create_ticket(runtime.unit_of_work)
            nats_server.start()
            await eventually(
                lambda: all_published(runtime.database), within=30, what="outbox published"
            )
    finally:
        nats_server.start()
    [message] = await stream_messages(js, settings.events_stream)
    event = decoded(message)
    assert isinstance(event, TicketCreated) and event.ticket_id == ticket.id


async def test_a_change_that_rolls_back_publishes_nothing(
    settings: Settings, js: JetStreamContext
) -> None:
    async with service_runtime(definition, settings) as runtime:
        await asyncio.wait_for(runtime.bus.jetstream(), 10)

        # Left without commit.
        async with runtime.unit_of_work() as uow:
            forgotten = Ticket(title="Forgotten", price_cents=100, user_id=uuid4())
            uow.session.add(forgotten)
            await uow.session.flush()
            uow.publish(ticket_created(forgotten))

        # An exception inside the unit of work.
        with pytest.raises(RuntimeError):
            async with runtime.unit_of_work() as uow:
                failed = Ticket(title="Failed", price_cents=100, user_id=uuid4())
                uow.session.add(failed)
                await uow.session.flush()
                uow.publish(ticket_created(failed))
                raise RuntimeError("the change fails after raising its event")

        # The commit itself fails (the same id twice): its events go with it.
        kept = await create_ticket(runtime.unit_of_work, title="Kept")
        with pytest.raises(IntegrityError):
            async with runtime.unit_of_work() as uow:
                uow.session.add(Ticket(id=kept.id, title="Clash", price_cents=1, user_id=uuid4()))
                uow.publish(
                    TicketCreated(
                        version=1, ticket_id=kept.id, title="Clash", price_cents=1, user_id=uuid4()
                    )
                )
                await uow.commit()

        await eventually(lambda: all_published(runtime.database), what="outbox published")
        assert await runtime.relay.publish_pending() == 0
        [row] = await outbox_rows(runtime.database)
        assert [ticket.title for ticket in await all_tickets(runtime.database)] == ["Kept"]

    [message] = await stream_messages(js, settings.events_stream)
    assert msg_id(message) == str(row.event_id)
    event = decoded(message)
    assert isinstance(event, TicketCreated) and event.ticket_id == kept.id


@contextlib.asynccontextmanager
async def relay_without_background(
    settings: Settings,
) -> AsyncIterator[tuple[Database, OutboxRelay]]:
    """The database and a relay that publishes only when the test tells it to."""
    database = Database.connect(settings.database_url_for("tickets"))
    bus = Bus(
        settings.nats_url,
        stream=settings.events_stream,
        duplicate_window=settings.events_duplicate_window_seconds,
        name="outbox-test",
    )
    try:
        await upgrade(database, definition.migrations)
        bus.start()
        await asyncio.wait_for(bus.jetstream(), 10)
        yield database, OutboxRelay(database, tables.outbox, bus, service="tickets")
    finally:
        await bus.close()
        await database.dispose()


async def test_republishing_after_a_crash_before_marking_does_not_duplicate(
    settings: Settings, js: JetStreamContext
) -> None:
    stream = settings.events_stream
    async with relay_without_background(settings) as (database, relay):

        def new_uow() -> UnitOfWork:
            return UnitOfWork(database.write_sessions, tables.outbox)

        ticket = await create_ticket(new_uow)
        assert await relay.publish_pending() == 1
        assert await message_count(js, stream) == 1

        # A crash between publishing and marking: the row looks unpublished again.
        async with database.write_sessions() as session, session.begin():
            await session.execute(update(tables.outbox).values(published_at=None))
        assert await relay.publish_pending() == 1  # it really published again...
        assert await message_count(js, stream) == 1  # ...and the stream dropped the copy
        [row] = await outbox_rows(database)
        assert row.published_at is not None

        # The stream still takes new events: only the copy was dropped.
        await edit_ticket(new_uow, ticket.id, title="Edited")
        assert await relay.publish_pending() == 1

    messages = await stream_messages(js, stream)
    assert [message.subject for message in messages] == [
        Subject.TICKET_CREATED.value,
        Subject.TICKET_UPDATED.value,
    ]


async def test_several_relays_on_one_database_publish_each_event_once_and_in_order(
    settings: Settings, js: JetStreamContext
) -> None:
    """What several replicas of a service do: each process runs a relay on the same
    outbox. Each relay publishes from the oldest row not yet marked, in order, and marks
    only what it published; a row another relay published meanwhile is sent again under
    the same Nats-Msg-Id, which the stream drops. So the stream holds each event once,
    and each ticket's events in version order."""
    async with contextlib.AsyncExitStack() as stack:
        relays = [
            await stack.enter_async_context(relay_without_background(settings)) for _ in range(3)
        ]
        database = relays[0][0]

        def wake_every_relay() -> None:
            for _, relay in relays:
                relay.notify()

        def new_uow() -> UnitOfWork:
            # Every relay is woken by each commit, as each process's own would be by its.
            return UnitOfWork(database.write_sessions, tables.outbox, wake_every_relay)

        running = [asyncio.create_task(relay.run()) for _, relay in relays]
        try:

            async def one_ticket(index: int) -> None:
                ticket = await create_ticket(new_uow, title=f"T{index}")
                for edit in range(4):
                    await edit_ticket(new_uow, ticket.id, title=f"T{index} edit {edit}")

            await asyncio.gather(*(one_ticket(index) for index in range(15)))
            await eventually(lambda: all_published(database), within=30, what="all published")
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        rows = await outbox_rows(database)

    messages = await stream_messages(js, settings.events_stream)
    assert sorted(msg_id(message) or "" for message in messages) == sorted(
        str(row.event_id) for row in rows
    )
    assert len(rows) == 15 * 5
    versions: dict[object, list[int]] = {}
    for message in messages:
        event = decoded(message)
        assert isinstance(event, TicketCreated | TicketUpdated)
        versions.setdefault(event.ticket_id, []).append(event.version)
    assert all(seen == sorted(seen) and len(set(seen)) == 5 for seen in versions.values())


async def test_published_rows_past_their_retention_are_deleted_and_no_other(
    settings: Settings,
) -> None:
    async with relay_without_background(settings) as (database, publishing):
        relay = OutboxRelay(
            database, tables.outbox, publishing._bus, service="tickets", retention=timedelta(days=7)
        )

        def new_uow() -> UnitOfWork:
            return UnitOfWork(database.write_sessions, tables.outbox)

        await create_ticket(new_uow)
        await create_ticket(new_uow)
        assert await relay.publish_pending() == 2
        await create_ticket(new_uow)  # committed, not published yet
        old, recent, waiting = [row.seq for row in await outbox_rows(database)]
        now = datetime.now(UTC)
        # The first one was published eight days ago.
        async with database.write_sessions() as session, session.begin():
            await session.execute(
                update(tables.outbox)
                .where(tables.outbox.c.seq == old)
                .values(published_at=now - timedelta(days=8))
            )
        assert await relay.prune(now) == 1
        assert [row.seq for row in await outbox_rows(database)] == [recent, waiting]
        # Even far in the future, a row not yet published stays.
        assert await relay.prune(now + timedelta(days=365)) == 1
        assert [row.seq for row in await outbox_rows(database)] == [waiting]


async def test_the_stream_keeps_a_bounded_age_and_size(
    settings: Settings, js: JetStreamContext
) -> None:
    bounded = settings.model_copy(
        update={"events_max_age_seconds": 3600.0, "events_max_bytes": 10**6}
    )
    async with service_runtime(definition, bounded, consume=False) as runtime:
        await asyncio.wait_for(runtime.bus.jetstream(), 10)
    config = (await js.stream_info(settings.events_stream)).config
    assert config.max_age == 3600
    assert config.max_bytes == 10**6
    # The defaults: a consumer down for a day finds every event it missed.
    assert Settings.model_fields["events_max_age_seconds"].default >= 24 * 60 * 60

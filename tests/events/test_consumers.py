"""Consuming: durable consumers apply each event once, in version order, and catch up.

The replica here is test-only (tests/events/support.py) but runs on the real consumer
machinery (services.common.messaging.consumers through ServiceRuntime) and the real stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from nats.js.errors import NotFoundError

from services.common.messaging.events import TicketCreated, TicketStatus, TicketUpdated
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from services.tickets.service import definition as tickets_definition
from tests.events.support import (
    ReplicaRow,
    applied_log,
    create_replica_tables,
    replica_definition,
    replica_rows,
)
from tests.events.ticket_writes import all_published, all_tickets, create_ticket, edit_ticket
from tests.support.apps import service_runtime
from tests.support.jetstream import message_count, publish_event, publish_raw
from tests.support.polling import eventually
from tests.support.postgres import PostgresCluster

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix


def new_durable() -> str:
    return f"replica-{uuid4().hex[:8]}"


def replica_settings(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"orders_database_url": url, "migrate_on_start": False})


@contextlib.asynccontextmanager
async def running_replica(
    settings: Settings, database_url: str, durable: str
) -> AsyncIterator[ServiceRuntime]:
    """The test-only replica on its own fresh tables, consuming once the bus is up."""
    await create_replica_tables(database_url)
    async with service_runtime(
        replica_definition(durable), replica_settings(settings, database_url)
    ) as runtime:
        await asyncio.wait_for(runtime.bus.jetstream(), 10)
        yield runtime


def created(ticket_id: UUID, title: str = "v1") -> TicketCreated:
    return TicketCreated(
        version=1, ticket_id=ticket_id, title=title, price_cents=1000, user_id=uuid4()
    )


def updated(ticket_id: UUID, version: int, title: str) -> TicketUpdated:
    return TicketUpdated(
        version=version,
        ticket_id=ticket_id,
        title=title,
        price_cents=1000 + version,
        user_id=uuid4(),
        status=TicketStatus.AVAILABLE,
        order_id=None,
    )


async def settled(js: JetStreamContext, stream: str, durable: str) -> ConsumerInfo | None:
    """The consumer once it has acked (or terminated) every message of the stream."""
    try:
        info = await js.consumer_info(stream, durable)
    except NotFoundError:
        return None
    last = (await js.stream_info(stream)).state.last_seq
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    done = info.num_pending == 0 and info.num_ack_pending == 0 and floor == last
    return info if done else None


async def wait_settled(js: JetStreamContext, stream: str, durable: str) -> ConsumerInfo:
    info = await eventually(
        lambda: settled(js, stream, durable), what=f"consumer {durable} to ack everything"
    )
    assert info is not None
    return info


async def assert_applied_once_in_order(runtime: ServiceRuntime, ticket_id: UUID) -> None:
    """v1, v2 and v3 of the ticket each applied once, in that order; the replica at v3."""
    assert await applied_log(runtime.database) == [
        (ticket_id, 1),
        (ticket_id, 2),
        (ticket_id, 3),
    ]
    assert await replica_rows(runtime.database) == {ticket_id: ReplicaRow(ticket_id, "v3", 1003, 3)}


async def test_same_event_delivered_twice_is_applied_once(
    settings: Settings, database_url: str, js: JetStreamContext
) -> None:
    durable, stream, ticket_id = new_durable(), settings.events_stream, uuid4()
    async with running_replica(settings, database_url, durable) as runtime:
        first, second = created(ticket_id), updated(ticket_id, 2, "v2")
        # Each event twice under different message ids, as a redelivery after a lost
        # ack looks to a consumer: the stream cannot drop these copies.
        for event in (first, first, second, second):
            await publish_event(js, stream, event, msg_id=str(uuid4()))
        assert await message_count(js, stream) == 4
        await wait_settled(js, stream, durable)

        assert await applied_log(runtime.database) == [(ticket_id, 1), (ticket_id, 2)]
        assert await replica_rows(runtime.database) == {
            ticket_id: ReplicaRow(ticket_id, "v2", 1002, 2)
        }


async def test_version_ahead_waits_for_its_predecessor(
    settings: Settings, database_url: str, js: JetStreamContext
) -> None:
    durable, stream, ticket_id = new_durable(), settings.events_stream, uuid4()
    async with running_replica(settings, database_url, durable) as runtime:
        # n+2 reaches the stream before n+1.
        for event in (created(ticket_id), updated(ticket_id, 3, "v3"), updated(ticket_id, 2, "v2")):
            await publish_event(js, stream, event)
        await wait_settled(js, stream, durable)

        await assert_applied_once_in_order(runtime, ticket_id)


async def test_event_waits_for_a_predecessor_held_by_a_consumer_that_died(
    settings: Settings, database_url: str, js: JetStreamContext
) -> None:
    """v2 is fetched by a replica that dies before acking it, so it comes back only when
    its ack_wait runs out; v3, delivered again and again meanwhile, must not be given up."""
    durable, stream, ticket_id = new_durable(), settings.events_stream, uuid4()
    settings = settings.model_copy(update={"consumer_ack_wait_seconds": 4.0})
    async with running_replica(settings, database_url, durable):
        await publish_event(js, stream, created(ticket_id))
        await wait_settled(js, stream, durable)

    await publish_event(js, stream, updated(ticket_id, 2, "v2"))
    dead = await js.pull_subscribe_bind(durable, stream=stream)
    (held,) = await dead.fetch(1, timeout=5)
    assert held.metadata.sequence.stream == 2
    await dead.unsubscribe()  # and never acks: the replica holding v2 is gone
    await publish_event(js, stream, updated(ticket_id, 3, "v3"))

    async with running_replica(settings, database_url, durable) as runtime:
        await wait_settled(js, stream, durable)
        await assert_applied_once_in_order(runtime, ticket_id)


async def test_poison_messages_are_terminated_and_do_not_block_the_next(
    settings: Settings, database_url: str, js: JetStreamContext
) -> None:
    durable, stream, ticket_id = new_durable(), settings.events_stream, uuid4()
    async with running_replica(settings, database_url, durable) as runtime:
        await publish_raw(js, stream, "ticket.created", b"{not json")
        await publish_raw(js, stream, "ticket.updated", b'{"version": 2}')  # fields missing
        await publish_raw(js, stream, "ticket.created", b"\xff\xfe")  # not even text
        await publish_event(js, stream, created(ticket_id, "good"))
        info = await wait_settled(js, stream, durable)

        # Terminated on first delivery, never retried.
        assert info.num_redelivered == 0
        assert info.delivered is not None and info.delivered.stream_seq == 4
        assert await replica_rows(runtime.database) == {
            ticket_id: ReplicaRow(ticket_id, "good", 1000, 1)
        }


@pytest.fixture
def second_database_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Another fresh database on the same engine, for a second service."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'replica.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database_url()


def as_replica(ticket: Any) -> ReplicaRow:
    return ReplicaRow(ticket.id, ticket.title, ticket.price_cents, ticket.version)


async def test_consumer_that_starts_late_replays_the_stream_and_converges(
    settings: Settings, second_database_url: str, js: JetStreamContext
) -> None:
    durable, stream = new_durable(), settings.events_stream
    async with service_runtime(tickets_definition, settings) as tickets:
        new_uow = tickets.unit_of_work
        first = await create_ticket(new_uow, title="A", price_cents=100)
        second = await create_ticket(new_uow, title="B", price_cents=200)
        await create_ticket(new_uow, title="C", price_cents=300)
        await edit_ticket(new_uow, first.id, title="A2", price_cents=150)
        await edit_ticket(new_uow, first.id, title="A3")
        await edit_ticket(new_uow, second.id, price_cents=250)
        await eventually(lambda: all_published(tickets.database), what="outbox published")
        assert await message_count(js, stream) == 6

        # The replica's consumer is created only now.
        async with running_replica(settings, second_database_url, durable) as replica:

            async def converged() -> bool:
                source = {t.id: as_replica(t) for t in await all_tickets(tickets.database)}
                return await replica_rows(replica.database) == source

            await eventually(converged, what="the replica to match the tickets")

            # And it keeps following live events after catching up.
            await edit_ticket(new_uow, second.id, title="B2")
            await eventually(converged, what="the replica to follow a live event")
            await wait_settled(js, stream, durable)
            log = await applied_log(replica.database)

    assert all(count == 1 for count in Counter(log).values()), log
    assert len(log) == 7

"""The orders replica: order events applied once each, in version order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import nats
import pytest

from services.common.clock import as_utc
from services.common.messaging.consumers import NotYetApplicable
from services.common.messaging.events import (
    Event,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderExpired,
    encode,
)
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from services.payments.event_handlers import orders_consumer
from services.payments.models import Order
from tests.payments.support import payments_runtime
from tests.support.polling import eventually
from workflows.contracts import OrderStatus

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[ServiceRuntime]:
    async with payments_runtime(settings) as runtime:
        yield runtime


def created(order_id: UUID, version: int = 1) -> OrderCreated:
    return OrderCreated(
        version=version,
        order_id=order_id,
        user_id=uuid4(),
        ticket_id=uuid4(),
        price_cents=2050,
        status=OrderStatus.AWAITING_PAYMENT,
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
    )


async def apply(runtime: ServiceRuntime, event: Event) -> None:
    async with runtime.unit_of_work() as uow:
        await orders_consumer.handlers[type(event)](event, uow)
        await uow.commit()


async def replica(runtime: ServiceRuntime, order_id: UUID) -> Order | None:
    async with runtime.database.read_sessions() as session:
        return await session.get(Order, order_id)


async def state(runtime: ServiceRuntime, order_id: UUID) -> tuple[str, int] | None:
    order = await replica(runtime, order_id)
    return None if order is None else (order.status, order.version)


async def test_events_in_order_follow_the_order(runtime: ServiceRuntime) -> None:
    order_id = uuid4()
    creation = created(order_id)

    await apply(runtime, creation)
    order = await replica(runtime, order_id)
    assert order is not None
    assert (order.user_id, order.price_cents) == (creation.user_id, 2050)
    assert as_utc(order.expires_at) == creation.expires_at
    assert await state(runtime, order_id) == (OrderStatus.AWAITING_PAYMENT, 1)

    await apply(runtime, OrderCompleted(version=2, order_id=order_id, ticket_id=uuid4()))
    assert await state(runtime, order_id) == (OrderStatus.COMPLETE, 2)


@pytest.mark.parametrize("ending", [OrderCancelled, OrderExpired])
async def test_a_cancelled_or_expired_order_is_cancelled(
    runtime: ServiceRuntime, ending: type[OrderCancelled] | type[OrderExpired]
) -> None:
    order_id = uuid4()
    await apply(runtime, created(order_id))
    await apply(runtime, ending(version=2, order_id=order_id, ticket_id=uuid4()))
    assert await state(runtime, order_id) == (OrderStatus.CANCELLED, 2)


async def test_an_event_ahead_of_the_replica_waits(runtime: ServiceRuntime) -> None:
    order_id = uuid4()
    expired = OrderExpired(version=2, order_id=order_id, ticket_id=uuid4())

    with pytest.raises(NotYetApplicable):  # before the order is known
        await apply(runtime, expired)
    await apply(runtime, created(order_id))
    with pytest.raises(NotYetApplicable):  # a version skipped
        await apply(runtime, OrderCancelled(version=3, order_id=order_id, ticket_id=uuid4()))
    assert await state(runtime, order_id) == (OrderStatus.AWAITING_PAYMENT, 1)

    await apply(runtime, expired)
    assert await state(runtime, order_id) == (OrderStatus.CANCELLED, 2)


async def test_an_event_applied_again_changes_nothing(runtime: ServiceRuntime) -> None:
    order_id = uuid4()
    creation = created(order_id)
    await apply(runtime, creation)
    await apply(runtime, OrderCompleted(version=2, order_id=order_id, ticket_id=uuid4()))

    await apply(runtime, creation)
    await apply(runtime, OrderCompleted(version=2, order_id=order_id, ticket_id=uuid4()))
    await apply(runtime, OrderExpired(version=2, order_id=order_id, ticket_id=uuid4()))

    assert await state(runtime, order_id) == (OrderStatus.COMPLETE, 2)


async def test_the_consumer_converges_from_the_stream_in_any_order(
    runtime: ServiceRuntime, settings: Settings
) -> None:
    order_id = uuid4()
    creation = created(order_id)
    cancelled = OrderCancelled(version=2, order_id=order_id, ticket_id=creation.ticket_id)
    await runtime.bus.jetstream()  # the stream exists once the runtime's bus is up
    connection = await nats.connect(settings.nats_url)
    try:
        js = connection.jetstream()
        # Newest first, and the creation delivered twice (as after a lost ack).
        for event in (cancelled, creation, creation.model_copy(update={"event_id": uuid4()})):
            await js.publish(
                event.subject.value,
                encode(event),
                stream=settings.events_stream,
                headers={"Nats-Msg-Id": str(event.event_id)},
            )
    finally:
        await connection.close()

    async def cancelled_in_replica() -> bool:
        return await state(runtime, order_id) == (OrderStatus.CANCELLED, 2)

    await eventually(cancelled_in_replica, within=5, what="the replica to apply both events")

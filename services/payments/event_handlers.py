"""The orders replica, fed by the order events and applied in version order.

An event one version ahead of the replica applies; one at or behind it was applied
already (ack, change nothing); one further ahead waits (NotYetApplicable) until the
events before it have been applied. ``order.created`` starts the replica at its version.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from services.common.clock import as_utc
from services.common.data.unit_of_work import UnitOfWork
from services.common.identity.bans import ban_consumer
from services.common.identity.revocations import revocation_consumer
from services.common.messaging.consumers import Consumer
from services.common.messaging.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderExpired,
)
from services.common.messaging.replica import move_to_version
from services.payments.models import Order, tables
from workflows.contracts import OrderStatus

_orders = cast(Table, Order.__table__)


async def on_order_created(event: OrderCreated, uow: UnitOfWork) -> None:
    # Only order.created makes a replica row: one that exists has seen this event.
    if await uow.session.get(Order, event.order_id) is not None:
        return
    uow.session.add(
        Order(
            id=event.order_id,
            user_id=event.user_id,
            ticket_id=event.ticket_id,
            price_cents=event.price_cents,
            status=OrderStatus(event.status),
            expires_at=as_utc(event.expires_at),
            version=event.version,
        )
    )


async def _move(uow: UnitOfWork, event: OrderCancelled | OrderExpired | OrderCompleted) -> None:
    completed = isinstance(event, OrderCompleted)
    status = OrderStatus.COMPLETE if completed else OrderStatus.CANCELLED
    await move_to_version(uow, _orders, event.order_id, event.version, {"status": status})


async def on_order_cancelled(event: OrderCancelled, uow: UnitOfWork) -> None:
    await _move(uow, event)


async def on_order_expired(event: OrderExpired, uow: UnitOfWork) -> None:
    await _move(uow, event)


async def on_order_completed(event: OrderCompleted, uow: UnitOfWork) -> None:
    await _move(uow, event)


orders_consumer = Consumer(
    durable="payments-orders",
    handlers={
        OrderCreated: on_order_created,
        OrderCancelled: on_order_cancelled,
        OrderExpired: on_order_expired,
        OrderCompleted: on_order_completed,
    },
)

consumers = [
    orders_consumer,
    ban_consumer("payments", tables),
    revocation_consumer("payments", tables),
]

"""The orders replica, fed by the order events and applied in version order.

An event one version ahead of the replica applies; one at or behind it was applied
already (ack, change nothing); one further ahead waits (NotYetApplicable) until the
events before it have been applied. ``order.created`` starts the replica at its version.
"""

from __future__ import annotations

from services.common.bans import ban_consumer
from services.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderExpired,
    OrderStatus,
)
from services.common.listener import Consumer, NotYetApplicable
from services.common.unit_of_work import UnitOfWork
from services.payments.models import Order, as_utc, tables


async def on_order_created(event: OrderCreated, uow: UnitOfWork) -> None:
    if await uow.session.get(Order, event.order_id) is not None:
        return
    uow.session.add(
        Order(
            id=event.order_id,
            user_id=event.user_id,
            ticket_id=event.ticket_id,
            price_cents=event.price_cents,
            status=event.status,
            expires_at=as_utc(event.expires_at),
            version=event.version,
        )
    )


async def _move(uow: UnitOfWork, event: OrderCancelled | OrderExpired | OrderCompleted) -> None:
    order = await uow.session.get(Order, event.order_id)
    if order is None or event.version > order.version + 1:
        raise NotYetApplicable(f"order {event.order_id} v{event.version}")
    if event.version <= order.version:
        return
    completed = isinstance(event, OrderCompleted)
    order.status = OrderStatus.COMPLETE if completed else OrderStatus.CANCELLED
    order.version = event.version


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

consumers = [orders_consumer, ban_consumer("payments", tables)]

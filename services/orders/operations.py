"""The saga's changes to an order, each with the event it raises.

Every change is idempotent: repeated, it finds the order already moved and changes
nothing. The row's version (``version_id_col``) turns two overlapping tries into one
success and one ``StaleDataError``, which Temporal retries into a no-op.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from services.common.data.unit_of_work import UnitOfWork
from services.orders.events import order_cancelled, order_completed, order_created, order_expired
from services.orders.models import Order
from workflows.order_status import OrderStatus
from workflows.steps import CancelReason


class OrderMissing(Exception):
    pass


class OrderNotPayable(Exception):
    """Completing an order that is no longer awaiting payment."""


async def _order(uow: UnitOfWork, order_id: UUID) -> Order:
    order = await uow.session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise OrderMissing(f"order {order_id} does not exist")
    return order


async def mark_awaiting_payment(uow: UnitOfWork, order_id: UUID, expires_at: datetime) -> None:
    """The ticket is locked: the order awaits payment until ``expires_at`` (order.created)."""
    order = await _order(uow, order_id)
    if order.status != OrderStatus.CREATED:
        return
    order.status = OrderStatus.AWAITING_PAYMENT
    order.expires_at = expires_at
    await uow.session.flush()
    uow.publish(order_created(order))


async def complete(uow: UnitOfWork, order_id: UUID) -> None:
    order = await _order(uow, order_id)
    if order.status == OrderStatus.COMPLETE:
        return
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise OrderNotPayable(f"order {order_id} is {order.status}")
    order.status = OrderStatus.COMPLETE
    await uow.session.flush()
    uow.publish(order_completed(order))


async def cancel(uow: UnitOfWork, order_id: UUID, reason: CancelReason) -> None:
    """Cancel unless already cancelled or complete. An order never announced (its ticket
    was taken first) is cancelled quietly: nobody else knows of it."""
    order = await _order(uow, order_id)
    if order.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETE):
        return
    announced = order.status == OrderStatus.AWAITING_PAYMENT
    order.status = OrderStatus.CANCELLED
    await uow.session.flush()
    if announced:
        expired = reason is CancelReason.EXPIRED
        uow.publish(order_expired(order) if expired else order_cancelled(order))

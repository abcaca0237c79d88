"""The events an order raises, built from its row."""

from __future__ import annotations

from services.common.clock import as_utc
from services.common.messaging.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderExpired,
)
from services.orders.models import Order


def order_created(order: Order) -> OrderCreated:
    assert order.expires_at is not None, "an order is announced once its ticket is locked"
    return OrderCreated(
        version=order.version,
        order_id=order.id,
        user_id=order.user_id,
        ticket_id=order.ticket_id,
        price_cents=order.price_cents,
        status=order.status,
        expires_at=as_utc(order.expires_at),
    )


def order_cancelled(order: Order) -> OrderCancelled:
    return OrderCancelled(version=order.version, order_id=order.id, ticket_id=order.ticket_id)


def order_expired(order: Order) -> OrderExpired:
    return OrderExpired(version=order.version, order_id=order.id, ticket_id=order.ticket_id)


def order_completed(order: Order) -> OrderCompleted:
    return OrderCompleted(version=order.version, order_id=order.id, ticket_id=order.ticket_id)

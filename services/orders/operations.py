"""Every change to an order, each with the event it raises in the caller's unit of work
(which the caller commits). Ordering a ticket, which also starts the purchase saga, is
services/orders/purchasing.py's.

The saga's changes are idempotent: repeated, each finds the order already moved and
changes nothing. The row's version (``version_id_col``) turns two overlapping tries into
one success and one ``StaleDataError``, which Temporal retries into a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.common.clock import as_utc, utc_now
from services.common.data.unit_of_work import UnitOfWork
from services.common.observability.metrics import PURCHASES
from services.orders.errors import (
    EventStarted,
    HeldRecently,
    OrderAlreadyCancelled,
    OrderMissing,
    OrderNotPayable,
    OwnTicket,
    TicketNotFound,
    TicketReserved,
    TicketSold,
    TooManyOpenOrders,
    TooManyUnpaidOrders,
)
from services.orders.events import order_cancelled, order_completed, order_created, order_expired
from services.orders.models import LIVE_STATUSES, OPEN_STATUSES, Order, Ticket
from workflows.contracts import CancelReason, OrderStatus


async def place_order(
    uow: UnitOfWork,
    buyer_id: UUID,
    ticket_id: UUID,
    *,
    max_open_orders: int,
    recycling: RecyclingLimits | None = None,
) -> Order:
    """A new order (``created``) for a ticket someone else sells, at its current price.

    The rush gate: at most one live order per ticket (a unique partial index), so a buyer
    who comes second is refused here, in milliseconds, and starts no saga. The slot is
    freed when the order is cancelled, which the saga does only after releasing the
    ticket: the next buyer can win at once. The tickets service's lock still decides.
    """
    price_cents = await orderable_price(uow.session, buyer_id, ticket_id)
    await _hold_buyer(uow, buyer_id)
    if recycling is not None:
        await recycling.refuse(uow.session, buyer_id, ticket_id)
    open_orders = await uow.session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.user_id == buyer_id, Order.status.in_(OPEN_STATUSES))
    )
    if (open_orders or 0) >= max_open_orders:
        raise TooManyOpenOrders(max_open_orders)
    order = Order(user_id=buyer_id, ticket_id=ticket_id, price_cents=price_cents)
    uow.session.add(order)
    try:
        await uow.session.flush()
    except IntegrityError:
        PURCHASES.labels("refused_at_gate").inc()
        raise TicketReserved() from None
    return order


# An order that held its ticket and ended unpaid: let expire, or cancelled. One the API
# abandoned (it answered 503 "try again") is not counted against its buyer.
_UNPAID = (Order.status == OrderStatus.CANCELLED) & Order.cancel_reason.in_(
    (CancelReason.EXPIRED, CancelReason.CANCELLED)
)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class RecyclingLimits:
    """Against holding a ticket by cancelling (or letting expire) and ordering it again,
    window after window: after an unpaid order of a ticket, its buyer may order it again
    only ``cooldown`` after that order's window would have ended; and a buyer's orders
    that end unpaid are at most ``unpaid_per_day`` in a day."""

    cooldown: timedelta
    unpaid_per_day: int

    async def refuse(self, session: AsyncSession, buyer_id: UUID, ticket_id: UUID) -> None:
        now = utc_now()
        mine = Order.user_id == buyer_id
        last_window_end = await session.scalar(
            select(func.max(Order.expires_at)).where(mine, Order.ticket_id == ticket_id, _UNPAID)
        )
        if last_window_end is not None:
            again_at = as_utc(last_window_end) + self.cooldown
            if again_at > now:
                raise HeldRecently((again_at - now).total_seconds())
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(Order.created_at)).where(
                    mine, _UNPAID, Order.created_at > now - DAY
                )
            )
        ).one()
        if count >= self.unpaid_per_day:
            raise TooManyUnpaidOrders((as_utc(oldest) + DAY - now).total_seconds())


# Built once, as plain columns in one statement: in a rush every losing buyer runs it.
_ORDERABLE = select(
    Ticket.user_id,
    Ticket.price_cents,
    Ticket.starts_at,
    select(Order.status)
    .where(Order.ticket_id == Ticket.id, Order.status.in_(LIVE_STATUSES))
    .limit(1)
    .scalar_subquery()
    .label("live_order_status"),
).where(Ticket.id == bindparam("ticket_id"))


async def orderable_price(
    session: AsyncSession | AsyncConnection, buyer_id: UUID, ticket_id: UUID
) -> int:
    """The ticket's price, unless it is unknown (TicketNotFound), the buyer's own
    (OwnTicket) or held by a live order (TicketReserved, TicketSold). On a read connection
    it refuses a rush's losers without taking the write lock; in the order's own
    transaction the unique index has the last word."""
    row = (await session.execute(_ORDERABLE, {"ticket_id": ticket_id})).one_or_none()
    if row is None:
        raise TicketNotFound()
    if row.user_id == buyer_id:
        raise OwnTicket()
    if row.live_order_status is not None:
        PURCHASES.labels("refused_at_gate").inc()
        sold = row.live_order_status == OrderStatus.COMPLETE
        raise TicketSold() if sold else TicketReserved()
    # The tickets service refuses it too (the saga's reserve step); told here at once.
    if row.starts_at is not None and as_utc(row.starts_at) <= utc_now():
        raise EventStarted()
    price_cents: int = row.price_cents
    return price_cents


async def _hold_buyer(uow: UnitOfWork, buyer_id: UUID) -> None:
    """Two orders of one buyer at once count each other's: on PostgreSQL a lock per buyer
    for the transaction (SQLite's write transactions are serialized already)."""
    if uow.session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(buyer_id.bytes[:8], "big", signed=True)
        await uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def _order(uow: UnitOfWork, order_id: UUID) -> Order:
    order = await uow.session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise OrderMissing(f"order {order_id} does not exist")
    return order


async def mark_awaiting_payment(
    uow: UnitOfWork, order_id: UUID, expires_at: datetime, price_cents: int | None = None
) -> None:
    """The ticket is locked: the order awaits payment until ``expires_at`` (order.created),
    at the price the lock fixed."""
    order = await _order(uow, order_id)
    if order.status == OrderStatus.CANCELLED:
        raise OrderAlreadyCancelled(f"order {order_id} was cancelled before its ticket was locked")
    if order.status != OrderStatus.CREATED:
        return
    order.status = OrderStatus.AWAITING_PAYMENT
    order.expires_at = expires_at
    if price_cents is not None:
        order.price_cents = price_cents
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
    uow.on_commit(PURCHASES.labels("completed").inc)


async def cancel(
    uow: UnitOfWork, order_id: UUID, reason: CancelReason, *, refunded: bool = False
) -> None:
    """Cancel unless already cancelled or complete. An order never announced (its ticket
    was taken first) is cancelled quietly: nobody else knows of it."""
    order = await _order(uow, order_id)
    if order.status == OrderStatus.CANCELLED and refunded:
        order.refunded = True
    if order.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETE):
        return
    order.refunded = refunded
    announced = order.status == OrderStatus.AWAITING_PAYMENT
    order.status = OrderStatus.CANCELLED
    order.cancel_reason = reason
    await uow.session.flush()
    uow.on_commit(PURCHASES.labels(reason.value).inc)
    if announced:
        expired = reason is CancelReason.EXPIRED
        uow.publish(order_expired(order) if expired else order_cancelled(order))

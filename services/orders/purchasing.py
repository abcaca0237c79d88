"""Ordering a ticket and cancelling an order: what coordinates the orders database (each
change in a unit of work of its own, committed here) and the purchase saga (through the
purchase client, each call within its deadline). The routes call these; operations.py's
changes are each handed their unit of work, and never commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.data.unit_of_work import UnitOfWork
from services.common.errors import DomainError
from services.common.observability.metrics import PURCHASES
from services.common.temporal import LazyTemporalClient
from services.orders import purchase_client
from services.orders.errors import OrderAlreadyPaid, TicketReserved
from services.orders.models import Order
from services.orders.operations import RecyclingLimits, cancel, orderable_price, place_order
from workflows.contracts import CancelReason, OrderStatus
from workflows.models import PurchaseInput

log = logging.getLogger(__name__)


class TicketsBeingOrdered:
    """The tickets an order is being placed for in this process, between the read that
    found the ticket free and the commit of the order.

    In an on-sale rush most buyers of a ticket arrive together: all of them read it free
    before the first one's order is committed, and all of them then queue for the
    database's write lock, only for the unique index to refuse every one but the first.
    Held here, the second buyer is refused at once, as a no-op request would be answered.
    Across processes the unique index still decides. A buyer refused while another order
    is being placed is told the truth of that moment; should that order fail (the other
    buyer's own limits), the ticket is free again at once."""

    def __init__(self) -> None:
        self._tickets: set[UUID] = set()

    @contextlib.contextmanager
    def claim(self, ticket_id: UUID) -> Iterator[None]:
        if ticket_id in self._tickets:
            PURCHASES.labels("refused_at_gate").inc()
            raise TicketReserved()
        self._tickets.add(ticket_id)
        try:
            yield
        finally:
            self._tickets.discard(ticket_id)


BEING_ORDERED = TicketsBeingOrdered()


async def order_ticket(
    units_of_work: Callable[[], UnitOfWork],
    read_engine: AsyncEngine,
    temporal: LazyTemporalClient,
    buyer_id: UUID,
    ticket_id: UUID,
    *,
    window_seconds: int,
    max_open_orders: int,
    temporal_deadline: timedelta,
    expected_price_cents: int | None = None,
    authentication_grace_seconds: int = 0,
    recycling: RecyclingLimits | None = None,
) -> Order:
    """Place the order and start its saga; answers once the ticket is locked for it.
    TicketReserved if another order holds the ticket, PriceChanged if the lock found
    another price; TemporalUnavailable past ``temporal_deadline``, and then the order is
    cancelled, not left "created"."""
    # Most of a rush's buyers are told here, on a read that waits for no writer: a Core
    # query on a connection, not an ORM session (a third of a loser's CPU went to it);
    # those who read the ticket free together, at the claim below.
    async with read_engine.connect() as connection:
        await orderable_price(connection, buyer_id, ticket_id)
    with BEING_ORDERED.claim(ticket_id):
        async with units_of_work() as uow:
            order = await place_order(
                uow, buyer_id, ticket_id, max_open_orders=max_open_orders, recycling=recycling
            )
            await uow.commit()
    purchase = PurchaseInput(
        order_id=order.id,
        ticket_id=order.ticket_id,
        buyer_id=order.user_id,
        price_cents=order.price_cents,
        payment_window_seconds=window_seconds,
        expected_price_cents=expected_price_cents,
        authentication_grace_seconds=authentication_grace_seconds,
    )
    try:
        await purchase_client.start_purchase(
            await temporal.get(), purchase, deadline=temporal_deadline
        )
    except DomainError:
        raise  # the saga refused, and cancelled the order itself
    except BaseException:
        # Also on the request's own cancellation (the client went away): nothing may be
        # left half-done.
        await asyncio.shield(_abandon(units_of_work, temporal, order, temporal_deadline))
        raise
    PURCHASES.labels("started").inc()
    return order


async def _abandon(
    units_of_work: Callable[[], UnitOfWork],
    temporal: LazyTemporalClient,
    order: Order,
    deadline: timedelta,
) -> None:
    """The saga's start failed, or its answer was lost or late: the order must neither
    stay "created" nor hold a ticket. The row is cancelled first, as abandoned (its buyer,
    told 503 "try again", is not held to it). The saga may have started all the same, so
    it is cancelled too (Temporal records that without a worker: it then undoes what it
    did, or does nothing if it had not begun); a saga that reaches the cancelled row
    later refuses to go on (OrderCancelled)."""
    try:
        async with units_of_work() as uow:
            await cancel(uow, order.id, CancelReason.ABANDONED)
            await uow.commit()
    finally:
        # Even if the database refused: a saga that started must still be stopped.
        try:
            await purchase_client.abandon_purchase(
                await temporal.get(), order.id, deadline=deadline
            )
        except Exception:
            log.warning("could not cancel the saga of order %s", order.id, exc_info=True)


async def cancel_order(
    read_order: Callable[[], Awaitable[Order | None]],
    temporal: LazyTemporalClient,
    order: Order,
    *,
    temporal_deadline: timedelta,
) -> None:
    """The buyer cancels an order not yet paid: the saga releases the ticket and cancels
    it (OrderAlreadyPaid once paid; nothing to do once cancelled). ``read_order`` reads
    the order again, for a saga that had already finished."""
    if order.status == OrderStatus.COMPLETE:
        raise OrderAlreadyPaid()
    if order.status == OrderStatus.CANCELLED:
        return
    cancelled = await purchase_client.cancel_purchase(
        await temporal.get(), order.id, deadline=temporal_deadline
    )
    if not cancelled:
        # The saga had already finished: its outcome is in the order.
        final = await read_order()
        if final is not None and final.status == OrderStatus.COMPLETE:
            raise OrderAlreadyPaid()

"""Orders whose saga never started, cancelled.

An order is saved ("created") before its saga starts, and a failed or late start is
undone by the request that made it (purchasing.py). A process that stops between the
two (killed, or its machine lost) undoes nothing: the order would stay "created", and
since a live order holds its ticket's place (the one-live-order-per-ticket index),
nobody could order that ticket again. Every API process of the orders service looks for
such orders now and then and cancels each one that Temporal has no saga for. An order
whose saga exists is the saga's to end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.clock import utc_now
from services.common.data.unit_of_work import UnitOfWork
from services.common.temporal import LazyTemporalClient
from services.orders import purchase_client
from services.orders.models import Order
from services.orders.operations import cancel
from workflows.contracts import CancelReason, OrderStatus

log = logging.getLogger(__name__)

# The oldest first, a bounded batch per round.
_CREATED_BEFORE = (
    select(Order.id)
    .where(Order.status == OrderStatus.CREATED, Order.created_at < bindparam("before"))
    .order_by(Order.created_at)
    .limit(100)
)


async def cancel_unstarted_orders(
    units_of_work: Callable[[], UnitOfWork],
    read_engine: AsyncEngine,
    temporal: LazyTemporalClient,
    *,
    older_than: timedelta,
    deadline: timedelta,
) -> list[UUID]:
    """Cancels the orders still "created" ``older_than`` after they were saved whose saga
    Temporal does not know, and answers their ids. ``older_than`` must exceed what a
    request takes to start a saga or undo its order, so that none still under way is
    touched; a saga started after all (Temporal answering very late) finds its order
    cancelled and refuses to go on."""
    async with read_engine.connect() as connection:
        stale = await connection.execute(_CREATED_BEFORE, {"before": utc_now() - older_than})
        order_ids = list(stale.scalars())
    if not order_ids:
        return []
    client = await temporal.get()
    cancelled = []
    for order_id in order_ids:
        if await purchase_client.saga_exists(client, order_id, deadline=deadline):
            continue
        async with units_of_work() as uow:
            await cancel(uow, order_id, CancelReason.ABANDONED)
            await uow.commit()
        log.warning("cancelled order %s: saved, but its saga never started", order_id)
        cancelled.append(order_id)
    return cancelled


async def sweep_unstarted_orders(runtime: Any) -> None:
    """The orders service's background work (ServiceRuntime: typed Any, as declared)."""
    settings = runtime.settings
    deadline = timedelta(seconds=settings.temporal_call_timeout_seconds)
    # Past a start's deadline and its undoing's (the settings refuse less).
    older_than = timedelta(seconds=settings.unstarted_order_age_seconds)
    temporal = LazyTemporalClient(settings)
    while True:
        await asyncio.sleep(settings.unstarted_order_sweep_seconds)
        try:
            await cancel_unstarted_orders(
                runtime.unit_of_work,
                runtime.database.read_engine,
                temporal,
                older_than=older_than,
                deadline=deadline,
            )
        except Exception:
            # Temporal or the database down: the next round tries again.
            log.warning("could not look for orders whose saga never started", exc_info=True)

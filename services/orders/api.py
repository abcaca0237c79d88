"""Routes of /api/orders: order a ticket, list and show your orders, cancel one.

An order's representation carries an ETag: a buyer following a purchase sends it back
with ``Prefer: wait=N`` and is answered once the order changes (services.common.http.conditional).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Response
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.http.conditional import conditional_json, etag_of
from services.common.http.current_user import CurrentUser, CurrentUserDep
from services.common.http.dependencies import (
    ChangeHintsDep,
    ReadEngineDep,
    ReadSessionsDep,
    SettingsDep,
    TemporalDep,
    UnitsOfWorkDep,
)
from services.common.http.ids import id_or_not_found
from services.common.http.pages import Page, PageDep
from services.common.http.throttle import per_user
from services.common.http.waiting import WaitingRequestsDep
from services.common.money import to_cents
from services.common.settings import Settings
from services.orders import operations, purchasing
from services.orders.errors import NotOrderOwner, OrderNotFound
from services.orders.models import Order, Ticket
from services.orders.schemas import OrderIn, OrderOut

router = APIRouter(prefix="/api/orders", tags=["orders"])


# Built once: every order shown, and every look of a waiting request, runs it.
_ORDER_WITH_TICKET = (
    select(Order, Ticket)
    .join(Ticket, Order.ticket_id == Ticket.id)
    .where(Order.id == bindparam("order_id"))
)


async def read_order(
    read_sessions: async_sessionmaker[AsyncSession], order_id: UUID
) -> tuple[Order, Ticket] | None:
    async with read_sessions() as session:
        row = (await session.execute(_ORDER_WITH_TICKET, {"order_id": order_id})).one_or_none()
    return None if row is None else (row[0], row[1])


async def own_order(
    read_sessions: async_sessionmaker[AsyncSession], order_id: UUID, user: CurrentUser
) -> tuple[Order, Ticket]:
    found = await read_order(read_sessions, order_id)
    if found is None:
        raise OrderNotFound()
    if found[0].user_id != user.id:
        raise NotOrderOwner()
    return found


def representation(order: Order, ticket: Ticket) -> bytes:
    """The order as every route answers it: the bytes its ETag is made of."""
    return OrderOut.of(order, ticket).model_dump_json(by_alias=True).encode()


_ETAG = {
    "ETag": {
        "description": "This representation's tag, for If-None-Match.",
        "schema": {"type": "string"},
    }
}


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    responses={201: {"headers": {**_ETAG, "Location": {"schema": {"type": "string"}}}}},
    dependencies=[
        per_user(
            lambda settings: settings.orders_per_buyer,
            "orders-buyer",
            "Too many orders in a short time: try again later",
        )
    ],
)
async def create(
    body: OrderIn,
    user: CurrentUserDep,
    units_of_work: UnitsOfWorkDep,
    read_engine: ReadEngineDep,
    read_sessions: ReadSessionsDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """Order a ticket: answers once the ticket is locked for this order."""
    order = await purchasing.order_ticket(
        units_of_work,
        read_engine,
        temporal,
        user.id,
        body.ticket_id,
        window_seconds=settings.order_expiration_seconds,
        max_open_orders=settings.max_open_orders_per_buyer,
        temporal_deadline=_temporal_deadline(settings),
        expected_price_cents=None if body.price is None else to_cents(body.price),
        authentication_grace_seconds=settings.payment_authentication_grace_seconds,
        recycling=operations.RecyclingLimits(
            timedelta(seconds=settings.order_cooldown), settings.unpaid_orders_per_buyer_per_day
        ),
    )
    found = await read_order(read_sessions, order.id)
    assert found is not None
    created = representation(*found)
    return Response(
        created,
        status_code=201,
        media_type="application/json",
        headers={"ETag": etag_of(created), "Location": f"{router.prefix}/{order.id}"},
    )


@router.get("", response_model=list[OrderOut])
async def list_mine(
    user: CurrentUserDep, read_sessions: ReadSessionsDep, page: PageDep, response: Response
) -> list[OrderOut]:
    """The caller's orders, newest first, a page at a time (``Link`` names the next)."""
    async with read_sessions() as session:
        mine = await _orders_of(session, user.id, page)
    page.link_next(response, router.prefix, len(mine))
    return [OrderOut.of(order, ticket) for order, ticket in mine[: page.limit]]


async def _orders_of(
    session: AsyncSession, user_id: UUID, page: Page
) -> list[tuple[Order, Ticket]]:
    """The caller's orders that locked their ticket: an attempt refused with 409 (the
    ticket was taken) never became an order the buyer has, so it is not listed."""
    rows = await session.execute(
        select(Order, Ticket)
        .join(Ticket, Order.ticket_id == Ticket.id)
        .where(Order.user_id == user_id, Order.expires_at.is_not(None))
        .order_by(Order.created_at.desc(), Order.id)
        .limit(page.rows_to_read())
        .offset(page.offset)
    )
    return [(order, ticket) for order, ticket in rows.all()]


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    responses={
        200: {"headers": _ETAG},
        304: {
            "description": "Unchanged: the ETag in If-None-Match is current.",
            "headers": _ETAG,
        },
    },
)
async def show(
    order_id: str,
    user: CurrentUserDep,
    read_sessions: ReadSessionsDep,
    hints: ChangeHintsDep,
    waiting: WaitingRequestsDep,
    if_none_match: Annotated[
        str | None, Header(description="The ETag held: 304 while it is current.")
    ] = None,
    prefer: Annotated[
        str | None,
        Header(description="`wait=N`: with If-None-Match, wait up to N s (at most 20)."),
    ] = None,
) -> Response:
    """One of your orders. To follow it, send back its ETag in If-None-Match with
    `Prefer: wait=N`: the answer comes as soon as the order changes, or is a 304 after
    N seconds."""

    order_uuid = id_or_not_found(order_id, OrderNotFound)

    async def represent() -> bytes:
        return representation(*await own_order(read_sessions, order_uuid, user))

    return await conditional_json(
        represent,
        if_none_match=if_none_match,
        prefer=prefer,
        hints=hints,
        key=str(order_uuid),  # as the events spell it
        waiting=waiting,
        waiter=str(user.id),
    )


@router.delete("/{order_id}", status_code=204)
async def cancel(
    order_id: str,
    user: CurrentUserDep,
    read_sessions: ReadSessionsDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """Cancel an order not yet paid: the saga releases the ticket."""
    order, _ticket = await own_order(read_sessions, id_or_not_found(order_id, OrderNotFound), user)

    async def read_again() -> Order | None:
        found = await read_order(read_sessions, order.id)
        return None if found is None else found[0]

    await purchasing.cancel_order(
        read_again, temporal, order, temporal_deadline=_temporal_deadline(settings)
    )
    return Response(status_code=204)


def _temporal_deadline(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.temporal_call_timeout_seconds)

"""What the notifications service hears: each notice is written once per event (a
replayed or redelivered event finds its notice and writes nothing), in the same unit of
work as the ack's commit; sending the e-mail is the sender's business (sender.py), so a
slow or failing mail server never holds a consumer up."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select

from services.common.clock import as_utc
from services.common.data.unit_of_work import UnitOfWork
from services.common.messaging.consumers import Consumer, NotYetApplicable
from services.common.messaging.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderExpired,
    TicketCreated,
    TicketStatus,
    TicketUpdated,
    UserCreated,
    UserUpdated,
)
from services.notifications.models import (
    Notice,
    NoticeKind,
    OrderCopy,
    Recipient,
    TicketCopy,
)


async def on_user(event: UserCreated | UserUpdated, uow: UnitOfWork) -> None:
    known = await uow.session.get(Recipient, event.user_id)
    if known is None:
        uow.session.add(Recipient(user_id=event.user_id, email=event.email, version=event.version))
    elif event.version > known.version:
        known.email, known.version = event.email, event.version


def event_line(event: TicketCreated | TicketUpdated) -> str:
    """The ticket's event as the notices say it: "name, venue, city, start (UTC)"."""
    of = event.event
    if of is None:
        return ""
    return f"{of.name}, {of.venue}, {of.city}, {as_utc(of.starts_at):%Y-%m-%d %H:%M} UTC"


async def on_ticket(event: TicketCreated | TicketUpdated, uow: UnitOfWork) -> None:
    known = await uow.session.get(TicketCopy, event.ticket_id)
    line = event_line(event)
    if known is None:
        uow.session.add(
            TicketCopy(id=event.ticket_id, title=event.title, event=line, version=event.version)
        )
    elif event.version > known.version:
        # A message older than the event field says nothing of it: keep what we know.
        known.title, known.event, known.version = event.title, line or known.event, event.version
    if isinstance(event, TicketUpdated) and event.status == TicketStatus.SOLD:
        # A sold ticket changes again (checked in at the gate, its holder relisting it):
        # the seller hears of the sale once, of its first sold event.
        told = await uow.session.scalar(
            select(Notice.id).where(
                Notice.kind == NoticeKind.SOLD,
                Notice.ticket_id == event.ticket_id,
                Notice.order_id == event.order_id,
            )
        )
        if told is not None:
            return
        await _notice(
            uow,
            event.event_id,
            event.user_id,
            NoticeKind.SOLD,
            order_id=event.order_id,
            ticket_id=event.ticket_id,
            title=event.title,
            event=line,
            price_cents=event.price_cents,
        )


async def on_order_created(event: OrderCreated, uow: UnitOfWork) -> None:
    if await uow.session.get(OrderCopy, event.order_id) is None:
        uow.session.add(
            OrderCopy(
                id=event.order_id,
                user_id=event.user_id,
                ticket_id=event.ticket_id,
                price_cents=event.price_cents,
            )
        )


KINDS = {
    OrderCompleted: NoticeKind.RECEIPT,
    OrderExpired: NoticeKind.HOLD_EXPIRED,
    OrderCancelled: NoticeKind.ORDER_CANCELLED,
}


async def on_order_ended(
    event: OrderCompleted | OrderExpired | OrderCancelled, uow: UnitOfWork
) -> None:
    order = await uow.session.get(OrderCopy, event.order_id)
    if order is None:
        # order.created comes first in the stream; redelivered until it has been applied.
        raise NotYetApplicable(f"order {event.order_id} not known yet")
    ticket = await uow.session.get(TicketCopy, order.ticket_id)
    await _notice(
        uow,
        event.event_id,
        order.user_id,
        KINDS[type(event)],
        order_id=order.id,
        ticket_id=order.ticket_id,
        title=ticket.title if ticket is not None else "",
        event=ticket.event if ticket is not None else "",
        price_cents=order.price_cents,
    )


async def _notice(
    uow: UnitOfWork,
    event_id: UUID,
    user_id: UUID,
    kind: NoticeKind,
    *,
    order_id: UUID | None,
    ticket_id: UUID | None,
    title: str,
    event: str,
    price_cents: int | None,
) -> None:
    written = await uow.session.scalar(select(Notice.id).where(Notice.event_id == event_id))
    if written is not None:
        return
    uow.session.add(
        Notice(
            event_id=event_id,
            user_id=user_id,
            kind=kind,
            order_id=order_id,
            ticket_id=ticket_id,
            title=title,
            event=event,
            price_cents=price_cents,
        )
    )


notices_consumer = Consumer(
    durable="notifications",
    handlers={
        UserCreated: on_user,
        UserUpdated: on_user,
        TicketCreated: on_ticket,
        TicketUpdated: on_ticket,
        OrderCreated: on_order_created,
        OrderCompleted: on_order_ended,
        OrderExpired: on_order_ended,
        OrderCancelled: on_order_ended,
    },
)

"""Every change to a ticket, each with the event it raises in the caller's unit of work
(which the caller commits).

The seller's: list a ticket, edit it. The saga's: reserve, release, mark sold, each one
conditional UPDATE, so that two orders racing for one ticket are decided by the database
(the source of truth for the lock), not by whoever read it first; each is idempotent:
repeated for the same order, it finds the work done and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Final
from uuid import UUID, uuid4

from sqlalchemy import update
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from services.common.clock import utc_now
from services.common.data.unit_of_work import UnitOfWork
from services.common.messaging.events import TicketStatus
from services.tickets.errors import NotTicketOwner, TicketNotFound, TicketReserved, TicketSold
from services.tickets.event_errors import EventStarted
from services.tickets.event_rules import has_started, not_started, refuse_started
from services.tickets.events import ticket_created, ticket_updated
from services.tickets.models import Event, Ticket, TicketHolder
from services.tickets.search import ticket_search_text


class Unchanged(Enum):
    """An edit that leaves a part as it is (the course's client edits title and price)."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


@dataclass(frozen=True)
class Place:
    """Where in the venue a ticket is; each part optional."""

    section: str | None = None
    row: str | None = None
    seat: str | None = None


async def list_ticket(
    uow: UnitOfWork,
    seller_id: UUID,
    title: str,
    price_cents: int,
    *,
    event: Event | None = None,
    place: Place = Place(),
) -> Ticket:
    """EventPassed for an event that has started."""
    refuse_started(event)
    ticket_id = uuid4()
    ticket = Ticket(
        id=ticket_id,
        holder_id=seller_id,
        lineage_id=ticket_id,
        title=title,
        price_cents=price_cents,
        user_id=seller_id,
        event=event,
        section=place.section,
        row=place.row,
        seat=place.seat,
    )
    ticket.search_text = ticket_search_text(ticket, event)
    uow.session.add(ticket)
    await uow.session.flush()
    uow.session.add(
        TicketHolder(ticket_id=ticket.id, generation=ticket.generation, holder_id=seller_id)
    )
    uow.publish(ticket_created(ticket))
    return ticket


async def edit_ticket(
    uow: UnitOfWork,
    ticket_id: UUID,
    editor_id: UUID,
    title: str,
    price_cents: int,
    *,
    event: Event | Unchanged | None = UNCHANGED,
    place: Place | Unchanged = UNCHANGED,
) -> Ticket:
    """The seller's edit; refused while the ticket is reserved (or sold), and for an event
    that has started (the ticket's, or the one it moves to)."""
    ticket = await uow.session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound()
    if ticket.user_id != editor_id:
        raise NotTicketOwner()
    if ticket.status == TicketStatus.SOLD:
        raise TicketSold()
    if ticket.order_id is not None:
        raise TicketReserved()
    refuse_started(ticket.event)
    if not isinstance(event, Unchanged):
        refuse_started(event)
        ticket.event = event
    if not isinstance(place, Unchanged):
        ticket.section, ticket.row, ticket.seat = place.section, place.row, place.seat
    ticket.title = title
    ticket.price_cents = price_cents
    ticket.search_text = ticket_search_text(ticket, ticket.event)
    try:
        await uow.session.flush()
    except StaleDataError:
        # Reserved (or edited) between our read and our write: the lock wins.
        raise TicketReserved() from None
    uow.publish(ticket_updated(ticket))
    return ticket


class Outcome(StrEnum):
    CHANGED = "changed"
    # Already in the wanted state for this order (a retry): nothing changed.
    ALREADY_DONE = "already_done"
    # Not possible: the ticket is missing, or held by another order (or none).
    REFUSED = "refused"


async def _conditional_update(
    uow: UnitOfWork,
    ticket_id: UUID,
    condition: ColumnElement[bool],
    *,
    status: TicketStatus,
    order_id: UUID | None,
    **also: Any,
) -> bool:
    result = await uow.session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, condition)
        .values(
            status=status,
            order_id=order_id,
            version=Ticket.version + 1,
            reserved_until=None,
            **also,
        )
        .execution_options(synchronize_session=False)
    )
    changed = bool(getattr(result, "rowcount", 0))
    if changed:
        ticket = await uow.session.get(Ticket, ticket_id, populate_existing=True)
        assert ticket is not None
        uow.publish(ticket_updated(ticket))
    return changed


async def _current(uow: UnitOfWork, ticket_id: UUID) -> Ticket | None:
    return await uow.session.get(Ticket, ticket_id, populate_existing=True)


async def reserve(uow: UnitOfWork, ticket_id: UUID, order_id: UUID) -> Outcome:
    """Lock an available ticket for the order (not one its seller has already used at
    the gate); EventStarted if its event has started."""
    available = (
        (Ticket.status == TicketStatus.AVAILABLE)
        & Ticket.order_id.is_(None)
        & Ticket.used_at.is_(None)
        & not_started(utc_now())
    )
    if await _conditional_update(
        uow, ticket_id, available, status=TicketStatus.RESERVED, order_id=order_id
    ):
        return Outcome.CHANGED
    ticket = await _current(uow, ticket_id)
    if ticket is not None and ticket.order_id == order_id:
        return Outcome.ALREADY_DONE
    if ticket is not None and has_started(ticket.event):
        raise EventStarted()
    return Outcome.REFUSED


async def locked_price(uow: UnitOfWork, ticket_id: UUID, order_id: UUID) -> int:
    """The price of a ticket this order holds, as the lock fixed it (an edit is refused
    while it is held)."""
    ticket = await _current(uow, ticket_id)
    assert ticket is not None and ticket.order_id == order_id
    return ticket.price_cents


async def note_reservation_deadline(
    uow: UnitOfWork, ticket_id: UUID, order_id: UUID, reserved_until: datetime
) -> None:
    """The holding order's payment window, for the seller to see; ignored once the order
    no longer holds the ticket. Not part of the lock, so no version change."""
    await uow.session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket_id,
            Ticket.order_id == order_id,
            Ticket.status == TicketStatus.RESERVED,
        )
        .values(reserved_until=reserved_until)
        .execution_options(synchronize_session=False)
    )


async def release(uow: UnitOfWork, ticket_id: UUID, order_id: UUID) -> Outcome:
    """Unlock the ticket, only if this order still holds it: a stale release never frees
    a ticket that another order now holds."""
    if await _conditional_update(
        uow, ticket_id, Ticket.order_id == order_id, status=TicketStatus.AVAILABLE, order_id=None
    ):
        return Outcome.CHANGED
    return Outcome.ALREADY_DONE


async def mark_sold(
    uow: UnitOfWork, ticket_id: UUID, order_id: UUID, buyer_id: UUID | None = None
) -> Outcome:
    """Sell the ticket to the order holding it, and re-issue its entry code in the same
    change: the buyer becomes the holder of a new generation, which voids the seller's
    code. (A purchase begun before the saga named its buyer here leaves no holder: the
    seller's code is void all the same.) A ticket checked in at a gate meanwhile is not
    sold: the paid order is refused, and so refunded."""
    held = (
        (Ticket.order_id == order_id)
        & (Ticket.status == TicketStatus.RESERVED)
        & Ticket.used_at.is_(None)
    )
    if await _conditional_update(
        uow,
        ticket_id,
        held,
        status=TicketStatus.SOLD,
        order_id=order_id,
        holder_id=buyer_id,
        generation=Ticket.generation + 1,
    ):
        ticket = await _current(uow, ticket_id)
        assert ticket is not None
        uow.session.add(
            TicketHolder(
                ticket_id=ticket_id,
                generation=ticket.generation,
                holder_id=buyer_id,
                price_cents=ticket.price_cents,
                order_id=order_id,
            )
        )
        await uow.session.flush()
        return Outcome.CHANGED
    ticket = await _current(uow, ticket_id)
    if ticket is not None and ticket.order_id == order_id and ticket.status == TicketStatus.SOLD:
        return Outcome.ALREADY_DONE
    return Outcome.REFUSED

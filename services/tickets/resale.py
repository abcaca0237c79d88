"""The holder sells the ticket on, and the chain of holders.

A resale is a new listing of the same seat (a new row sharing the first listing's
``lineage_id``), so that for the orders service it is a ticket nobody has ordered yet;
the holder's code for the row they bought is re-issued on the new row (the old one is
void from now), valid until the new listing sells like any seller's.

``RESALE_PRICE_CAP_PERCENT`` (unset: no cap) bounds the price above what the holder paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.clock import as_utc
from services.common.data.unit_of_work import UnitOfWork
from services.common.messaging.events import TicketStatus
from services.common.money import from_cents
from services.tickets.errors import (
    NotTicketHolder,
    ResalePriceTooHigh,
    TicketNotFound,
    TicketOnSale,
    TicketUsed,
)
from services.tickets.event_rules import refuse_started
from services.tickets.events import ticket_created, ticket_updated
from services.tickets.models import Ticket, TicketHolder


def price_cap_cents(paid_cents: int, cap_percent: int | None) -> int | None:
    """The most a holder who paid ``paid_cents`` may ask (rounded down to the cent)."""
    if cap_percent is None:
        return None
    return paid_cents * (100 + cap_percent) // 100


async def resell(
    uow: UnitOfWork,
    ticket_id: UUID,
    holder_id: UUID,
    price_cents: int,
    cap_percent: int | None,
) -> Ticket:
    ticket = await uow.session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound()
    if ticket.holder_id != holder_id:
        raise NotTicketHolder()
    if ticket.status != TicketStatus.SOLD:
        # Still its seller's own listing: an edit changes its price.
        raise TicketOnSale()
    if ticket.used_at is not None:
        raise TicketUsed()
    refuse_started(ticket.event)
    cap = price_cap_cents(ticket.price_cents, cap_percent)
    if cap is not None and price_cents > cap:
        raise ResalePriceTooHigh(
            f"Price may be at most {from_cents(cap)} (what you paid plus {cap_percent}%)"
        )
    # The old row's code goes void: its generation moves on, held by nobody.
    voided = await uow.session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket_id,
            Ticket.holder_id == holder_id,
            Ticket.generation == ticket.generation,
            Ticket.used_at.is_(None),
        )
        .values(holder_id=None, generation=Ticket.generation + 1, version=Ticket.version + 1)
        .execution_options(synchronize_session=False)
    )
    if not getattr(voided, "rowcount", 0):
        # Checked in or resold by a request that won the race.
        raise TicketUsed()
    old = await uow.session.get(Ticket, ticket_id, populate_existing=True)
    assert old is not None
    uow.publish(ticket_updated(old))
    uow.session.add(TicketHolder(ticket_id=old.id, generation=old.generation, holder_id=None))
    new_id = uuid4()
    listing = Ticket(
        id=new_id,
        # The same seat of the same event.
        event=old.event,
        section=old.section,
        row=old.row,
        seat=old.seat,
        search_text=old.search_text,
        title=old.title,
        price_cents=price_cents,
        user_id=holder_id,
        holder_id=holder_id,
        lineage_id=old.lineage_id or old.id,
        face_value_cents=face_value_cents(old),
    )
    uow.session.add(listing)
    await uow.session.flush()
    uow.session.add(
        TicketHolder(ticket_id=new_id, generation=listing.generation, holder_id=holder_id)
    )
    uow.publish(ticket_created(listing))
    await uow.session.flush()
    return listing


@dataclass(frozen=True)
class Holding:
    ticket_id: UUID
    holder_id: UUID
    since: datetime
    price_cents: int | None
    order_id: UUID | None


async def chain(session: AsyncSession, ticket_id: UUID) -> list[Holding] | None:
    """Who held this seat (every listing of it), from when and at what price, oldest
    first; None if there is no such ticket."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    lineage = ticket.lineage_id or ticket.id
    rows = await session.execute(
        select(TicketHolder)
        .join(Ticket, Ticket.id == TicketHolder.ticket_id)
        .where((Ticket.lineage_id == lineage) | (Ticket.id == lineage))
        .where(TicketHolder.holder_id.is_not(None))
        .order_by(TicketHolder.since, TicketHolder.generation)
    )
    holdings: list[Holding] = []
    for row in rows.scalars():
        # A resale's own listing repeats its holder: only the first lister and the
        # buyers (who paid) are links of the chain.
        if row.holder_id is None or (holdings and row.price_cents is None):
            continue
        holdings.append(
            Holding(
                ticket_id=row.ticket_id,
                holder_id=row.holder_id,
                since=as_utc(row.since),
                price_cents=row.price_cents,
                order_id=row.order_id,
            )
        )
    return holdings


def face_value_cents(ticket: Ticket) -> int:
    return ticket.face_value_cents if ticket.face_value_cents is not None else ticket.price_cents

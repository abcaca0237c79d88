"""Routes of /api/tickets: list what is for sale, show, create, edit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from services.common.auth import CurrentUserDep
from services.common.deps import ReadSessionDep, UnitOfWorkDep
from services.common.errors import Conflict, Forbidden, NotFound
from services.common.events import TicketStatus
from services.common.ids import id_or_not_found
from services.common.money import to_cents
from services.tickets.events import ticket_created, ticket_updated
from services.tickets.models import Ticket
from services.tickets.schemas import TicketIn, TicketOut

router = APIRouter(prefix="/api/tickets", tags=["tickets"])

MAX_PAGE = 200


@router.get("", response_model=list[TicketOut])
async def list_for_sale(
    session: ReadSessionDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TicketOut]:
    """Tickets for sale (neither reserved nor sold), newest first."""
    tickets = await session.scalars(
        select(Ticket)
        .where(Ticket.status == TicketStatus.AVAILABLE)
        .order_by(Ticket.created_at.desc(), Ticket.id)
        .limit(limit + 1)
        .offset(offset)
    )
    page = list(tickets)
    if len(page) > limit:
        response.headers["Link"] = (
            f'</api/tickets?limit={limit}&offset={offset + limit}>; rel="next"'
        )
    return [TicketOut.of(ticket) for ticket in page[:limit]]


@router.get("/{ticket_id}", response_model=TicketOut)
async def show(ticket_id: str, session: ReadSessionDep) -> TicketOut:
    ticket = await session.get(Ticket, id_or_not_found(ticket_id, "Ticket"))
    if ticket is None:
        raise NotFound("Ticket not found")
    return TicketOut.of(ticket)


@router.post("", status_code=201, response_model=TicketOut)
async def create(body: TicketIn, user: CurrentUserDep, uow: UnitOfWorkDep) -> TicketOut:
    ticket = Ticket(title=body.title, price_cents=to_cents(body.price), user_id=user.id)
    uow.session.add(ticket)
    await uow.session.flush()
    uow.publish(ticket_created(ticket))
    await uow.commit()
    return TicketOut.of(ticket)


@router.put("/{ticket_id}", response_model=TicketOut)
async def edit(
    ticket_id: str, body: TicketIn, user: CurrentUserDep, uow: UnitOfWorkDep
) -> TicketOut:
    ticket = await uow.session.get(Ticket, id_or_not_found(ticket_id, "Ticket"))
    if ticket is None:
        raise NotFound("Ticket not found")
    if ticket.user_id != user.id:
        raise Forbidden("You do not own this ticket")
    if ticket.order_id is not None:
        raise Conflict("Cannot edit a reserved ticket")
    ticket.title = body.title
    ticket.price_cents = to_cents(body.price)
    try:
        await uow.session.flush()
    except StaleDataError:
        # Reserved (or edited) between our read and our write: the lock wins.
        raise Conflict("Cannot edit a reserved ticket") from None
    uow.publish(ticket_updated(ticket))
    await uow.commit()
    return TicketOut.of(ticket)

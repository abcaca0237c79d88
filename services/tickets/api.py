"""Routes of /api/tickets: list what is for sale, the caller's own, show, create, edit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter
from sqlalchemy import select

from services.common.http.current_user import CurrentUserDep
from services.common.http.dependencies import ReadSessionsDep, UnitOfWorkDep
from services.common.http.ids import id_or_not_found
from services.common.messaging.events import TicketStatus
from services.common.money import to_cents
from services.tickets import operations
from services.tickets.errors import TicketNotFound
from services.tickets.models import Ticket
from services.tickets.schemas import MyTicketOut, TicketIn, TicketOut

router = APIRouter(prefix="/api/tickets", tags=["tickets"])

MAX_PAGE = 200
# Beyond any catalogue; keeps the number within what every database can bind.
MAX_OFFSET = 1_000_000_000


# The busiest route: its page is read as plain rows (Core, no ORM entities) and
# serialised once, without FastAPI validating the returned models a second time.
_PAGE = TypeAdapter(list[TicketOut])
_tickets = Ticket.__table__.c
_FOR_SALE = (
    select(
        _tickets.id,
        _tickets.title,
        _tickets.price_cents,
        _tickets.user_id,
        _tickets.version,
        _tickets.order_id,
        _tickets.status,
    )
    .where(_tickets.status == TicketStatus.AVAILABLE)
    .order_by(_tickets.created_at.desc(), _tickets.id)
)


@router.get("", response_model=list[TicketOut])
async def list_for_sale(
    read_sessions: ReadSessionsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """Tickets for sale (neither reserved nor sold), newest first."""
    async with read_sessions() as session:
        rows = (await session.execute(_FOR_SALE.limit(limit + 1).offset(offset))).all()
    headers = {}
    if len(rows) > limit:
        headers["Link"] = f'<{router.prefix}?limit={limit}&offset={offset + limit}>; rel="next"'
    page = [TicketOut.of(row) for row in rows[:limit]]
    return Response(
        _PAGE.dump_json(page, by_alias=True), media_type="application/json", headers=headers
    )


@router.get("/mine", response_model=list[MyTicketOut])
async def list_mine(user: CurrentUserDep, read_sessions: ReadSessionsDep) -> list[MyTicketOut]:
    """The caller's own tickets in every status, newest first; a reserved one says until
    when its buyer may pay."""
    async with read_sessions() as session:
        tickets = await session.scalars(
            select(Ticket)
            .where(Ticket.user_id == user.id)
            .order_by(Ticket.created_at.desc(), Ticket.id)
        )
        return [MyTicketOut.of(ticket) for ticket in tickets]


@router.get("/{ticket_id}", response_model=MyTicketOut)
async def show(ticket_id: str, read_sessions: ReadSessionsDep) -> MyTicketOut:
    """One ticket; a reserved one says until when its buyer may pay, which is when it may
    be for sale again."""
    async with read_sessions() as session:
        ticket = await session.get(Ticket, id_or_not_found(ticket_id, TicketNotFound))
    if ticket is None:
        raise TicketNotFound()
    return MyTicketOut.of(ticket)


@router.post("", status_code=201, response_model=TicketOut)
async def create(body: TicketIn, user: CurrentUserDep, uow: UnitOfWorkDep) -> TicketOut:
    ticket = await operations.list_ticket(uow, user.id, body.title, to_cents(body.price))
    await uow.commit()
    return TicketOut.of(ticket)


@router.put("/{ticket_id}", response_model=TicketOut)
async def edit(
    ticket_id: str, body: TicketIn, user: CurrentUserDep, uow: UnitOfWorkDep
) -> TicketOut:
    ticket = await operations.edit_ticket(
        uow, id_or_not_found(ticket_id, TicketNotFound), user.id, body.title, to_cents(body.price)
    )
    await uow.commit()
    return TicketOut.of(ticket)

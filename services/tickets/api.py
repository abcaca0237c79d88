"""Routes of /api/tickets: list what is for sale, show, create, edit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from services.common.http.current_user import CurrentUserDep
from services.common.http.dependencies import ReadSessionDep, RuntimeDep, UnitOfWorkDep
from services.common.http.errors import Conflict, Forbidden, NotFound
from services.common.http.ids import id_or_not_found
from services.common.messaging.events import TicketStatus
from services.common.money import from_cents, to_cents
from services.tickets.events import ticket_created, ticket_updated
from services.tickets.models import Ticket
from services.tickets.schemas import TicketIn, TicketOut

router = APIRouter(prefix="/api/tickets", tags=["tickets"])

MAX_PAGE = 200
# Beyond any catalogue; keeps the number within what every database can bind.
MAX_OFFSET = 1_000_000_000


# The busiest route: its page is read as plain rows (Core, no ORM session) and serialised
# once, without FastAPI validating the returned models a second time.
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
    )
    .where(_tickets.status == TicketStatus.AVAILABLE)
    .order_by(_tickets.created_at.desc(), _tickets.id)
)


@router.get("", response_model=list[TicketOut])
async def list_for_sale(
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """Tickets for sale (neither reserved nor sold), newest first."""
    async with runtime.database.read_engine.connect() as connection:
        rows = (await connection.execute(_FOR_SALE.limit(limit + 1).offset(offset))).all()
    headers = {}
    if len(rows) > limit:
        headers["Link"] = f'</api/tickets?limit={limit}&offset={offset + limit}>; rel="next"'
    page = [
        TicketOut.model_construct(
            id=row.id,
            title=row.title,
            price=from_cents(row.price_cents),
            user_id=row.user_id,
            version=row.version,
            order_id=row.order_id,
        )
        for row in rows[:limit]
    ]
    return Response(
        _PAGE.dump_json(page, by_alias=True), media_type="application/json", headers=headers
    )


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

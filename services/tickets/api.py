"""Routes of /api/tickets: list what is for sale, the caller's own, show, create, edit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter
from sqlalchemy import bindparam, or_, select

from services.common.clock import utc_now
from services.common.http.current_user import CurrentUserDep
from services.common.http.dependencies import ReadSessionsDep, UnitOfWorkDep
from services.common.http.ids import id_or_not_found
from services.common.http.pages import MAX_OFFSET, MAX_PAGE, PageDep
from services.common.http.throttle import per_user
from services.common.messaging.events import TicketStatus
from services.common.money import to_cents
from services.tickets import operations
from services.tickets.errors import TicketNotFound
from services.tickets.event_operations import event_for_ticket
from services.tickets.models import Event, Ticket
from services.tickets.schemas import MyTicketOut, TicketIn, TicketOut
from services.tickets.search import (
    Sort,
    make_cursor,
    plan_for_these_words,
    search_tickets,
    ticket_sort_key,
)
from services.tickets.search_query import MAX_SEARCH_PAGE, SearchQuery

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


# The busiest route: its page is read as plain rows (Core, no ORM entities) and
# serialised once, without FastAPI validating the returned models a second time.
_PAGE = TypeAdapter(list[TicketOut])
_tickets = Ticket.__table__.c
_events = Event.__table__.c
_FOR_SALE = (
    select(
        _tickets.id,
        _tickets.title,
        _tickets.price_cents,
        _tickets.user_id,
        _tickets.version,
        _tickets.order_id,
        _tickets.status,
        _tickets.event_id,
        _tickets.section,
        _tickets.row,
        _tickets.seat,
        _events.name.label("event_name"),
        _events.venue,
        _events.city,
        _events.starts_at,
        _events.ends_at,
        _events.utc_offset_minutes,
    )
    .outerjoin(Event.__table__, _events.id == _tickets.event_id)
    # Nothing for an event that has started.
    .where(
        _tickets.status == TicketStatus.AVAILABLE,
        or_(_tickets.event_id.is_(None), _events.starts_at > bindparam("now")),
    )
    .order_by(_tickets.created_at.desc(), _tickets.id)
)


@router.get("", response_model=list[TicketOut])
async def list_for_sale(
    read_sessions: ReadSessionsDep,
    search: Annotated[SearchQuery, Query()],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """Tickets for sale (neither reserved nor sold, nor for an event that has started),
    newest first. With any of the search parameters: those that match, in the order
    asked (``sort``, newest first by default), a page at a time by ``cursor`` (the next
    page's link is in the ``Link`` header)."""
    if search.given:
        return await _search(read_sessions, search, limit)
    async with read_sessions() as session:
        rows = (
            await session.execute(_FOR_SALE.limit(limit + 1).offset(offset), {"now": utc_now()})
        ).all()
    headers = {}
    if len(rows) > limit:
        headers["Link"] = f'<{router.prefix}?limit={limit}&offset={offset + limit}>; rel="next"'
    page = [TicketOut.of_row(row) for row in rows[:limit]]
    return Response(
        _PAGE.dump_json(page, by_alias=True), media_type="application/json", headers=headers
    )


async def _search(read_sessions: ReadSessionsDep, search: SearchQuery, limit: int) -> Response:
    filters = search.filters(limit=min(limit, MAX_SEARCH_PAGE), default_sort=Sort.NEWEST)
    async with read_sessions() as session:
        dialect = session.get_bind().dialect.name
        await plan_for_these_words(session)
        found = list((await session.scalars(search_tickets(filters, utc_now(), dialect))).unique())
    page = found[: filters.limit]
    headers = {}
    if len(found) > filters.limit:
        last = page[-1]
        cursor = make_cursor(filters.sort, ticket_sort_key(filters, last), last.id)
        headers["Link"] = f'<{search.next_url(router.prefix, cursor, filters.limit)}>; rel="next"'
    return Response(
        _PAGE.dump_json([TicketOut.of(ticket) for ticket in page], by_alias=True),
        media_type="application/json",
        headers=headers,
    )


@router.get("/mine", response_model=list[MyTicketOut])
async def list_mine(
    user: CurrentUserDep, read_sessions: ReadSessionsDep, page: PageDep, response: Response
) -> list[MyTicketOut]:
    """The caller's own tickets in every status, newest first, a page at a time (``Link``
    names the next); a reserved one says until when its buyer may pay."""
    async with read_sessions() as session:
        tickets = list(
            await session.scalars(
                select(Ticket)
                .where(Ticket.user_id == user.id)
                .order_by(Ticket.created_at.desc(), Ticket.id)
                .limit(page.rows_to_read())
                .offset(page.offset)
            )
        )
    page.link_next(response, f"{router.prefix}/mine", len(tickets))
    return [MyTicketOut.of(ticket) for ticket in tickets[: page.limit]]


@router.get("/{ticket_id}", response_model=MyTicketOut)
async def show(ticket_id: str, read_sessions: ReadSessionsDep) -> MyTicketOut:
    """One ticket; a reserved one says until when its buyer may pay, which is when it may
    be for sale again."""
    async with read_sessions() as session:
        ticket = await session.get(Ticket, id_or_not_found(ticket_id, TicketNotFound))
    if ticket is None:
        raise TicketNotFound()
    return MyTicketOut.of(ticket)


def _place(body: TicketIn) -> operations.Place:
    return operations.Place(section=body.section, row=body.row, seat=body.seat)


@router.post(
    "",
    status_code=201,
    response_model=TicketOut,
    dependencies=[
        per_user(
            lambda settings: settings.listings_per_seller,
            "listings-seller",
            "Too many tickets listed in a short time: try again later",
        )
    ],
)
async def create(body: TicketIn, user: CurrentUserDep, uow: UnitOfWorkDep) -> TicketOut:
    """List a ticket, for an event (``eventId``, not started) or without one."""
    event = None if body.event_id is None else await event_for_ticket(uow, body.event_id)
    ticket = await operations.list_ticket(
        uow, user.id, body.title, to_cents(body.price), event=event, place=_place(body)
    )
    await uow.commit()
    return TicketOut.of(ticket)


@router.put(
    "/{ticket_id}",
    response_model=TicketOut,
    dependencies=[
        per_user(
            lambda settings: settings.ticket_edits_per_seller,
            "edits-seller",
            "Too many ticket edits in a short time: try again later",
        )
    ],
)
async def edit(
    ticket_id: str, body: TicketIn, user: CurrentUserDep, uow: UnitOfWorkDep
) -> TicketOut:
    """Edit a ticket; the parts left out of the body (event, section, row, seat) stay."""
    given = body.model_fields_set
    event: Event | operations.Unchanged | None = operations.UNCHANGED
    if "event_id" in given:
        event = None if body.event_id is None else await event_for_ticket(uow, body.event_id)
    place = _place(body) if given & {"section", "row", "seat"} else operations.UNCHANGED
    ticket = await operations.edit_ticket(
        uow,
        id_or_not_found(ticket_id, TicketNotFound),
        user.id,
        body.title,
        to_cents(body.price),
        event=event,
        place=place,
    )
    await uow.commit()
    return TicketOut.of(ticket)

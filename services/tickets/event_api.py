"""Routes of /api/events: find upcoming events, show one with its tickets for sale, create
one, edit it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, select

from services.common.clock import utc_now
from services.common.http.current_user import CurrentUserDep
from services.common.http.dependencies import ReadEngineDep, ReadSessionsDep, UnitOfWorkDep
from services.common.http.ids import id_or_not_found
from services.common.identity.tokens import Role
from services.common.messaging.events import TicketStatus
from services.tickets import event_operations
from services.tickets.event_errors import EventNotFound
from services.tickets.event_rules import has_started
from services.tickets.event_schemas import EVENT_LISTINGS, EventIn, EventOut, event_listing
from services.tickets.event_search import find_events, sort_key
from services.tickets.models import Event, Ticket
from services.tickets.schemas import TicketOut
from services.tickets.search import Sort, make_cursor
from services.tickets.search_query import MAX_SEARCH_PAGE, SearchQuery

router = APIRouter(prefix="/api/events", tags=["events"])


class EventWithTickets(EventOut):
    tickets: list[TicketOut]


@router.get("", response_model=list[EventOut])
async def find(
    read_engine: ReadEngineDep,
    search: Annotated[SearchQuery, Query()],
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_PAGE)] = 20,
) -> Response:
    """Upcoming events (not started), soonest first unless ``sort`` says otherwise, each
    with how many tickets are for sale and the lowest price (within ``minPrice`` and
    ``maxPrice`` when given: then only events with such a ticket). A page at a time: the
    next page's link is in the ``Link`` header."""
    filters = search.filters(limit=limit, default_sort=Sort.SOONEST)
    async with read_engine.connect() as connection:
        rows = await find_events(connection, filters, utc_now())
    page = rows[:limit]
    headers = {}
    if len(rows) > limit:
        last = page[-1]
        cursor = make_cursor(filters.sort, sort_key(filters, last), last.id)
        headers["Link"] = f'<{search.next_url(router.prefix, cursor, limit)}>; rel="next"'
    return Response(
        EVENT_LISTINGS.dump_json([event_listing(row) for row in page], by_alias=True),
        media_type="application/json",
        headers=headers,
    )


@router.get("/{event_id}", response_model=EventWithTickets)
async def show(event_id: str, read_sessions: ReadSessionsDep) -> EventWithTickets:
    """The event with its tickets for sale, cheapest first (none once it has started)."""
    async with read_sessions() as session:
        event = await session.get(Event, id_or_not_found(event_id, EventNotFound))
        if event is None:
            raise EventNotFound()
        tickets = (
            []
            if has_started(event)
            else list(
                await session.scalars(
                    select(Ticket)
                    .where(Ticket.event_id == event.id, Ticket.status == TicketStatus.AVAILABLE)
                    .order_by(Ticket.price_cents, Ticket.id)
                )
            )
        )
    lowest = min((ticket.price_cents for ticket in tickets), default=None)
    return EventWithTickets.model_construct(
        **EventOut.with_sales(event, len(tickets), lowest).__dict__,
        tickets=[TicketOut.of(ticket) for ticket in tickets],
    )


@router.post("", status_code=201, response_model=EventOut)
async def create(body: EventIn, user: CurrentUserDep, uow: UnitOfWorkDep) -> EventOut:
    event = await event_operations.create_event(uow, user.id, body)
    await uow.commit()
    return EventOut.with_sales(event, 0, None)


@router.put("/{event_id}", response_model=EventOut)
async def edit(event_id: str, body: EventIn, user: CurrentUserDep, uow: UnitOfWorkDep) -> EventOut:
    """Its creator or an admin, while it has not started and none of its tickets is sold;
    its tickets carry the new name, place and start in their ``ticket.updated``."""
    event = await event_operations.edit_event(
        uow,
        id_or_not_found(event_id, EventNotFound),
        user.id,
        is_admin=user.claims.role is Role.ADMIN,
        body=body,
    )
    for_sale, lowest = (
        await uow.session.execute(
            select(func.count(), func.min(Ticket.price_cents)).where(
                Ticket.event_id == event.id, Ticket.status == TicketStatus.AVAILABLE
            )
        )
    ).one()
    await uow.commit()
    return EventOut.with_sales(event, for_sale, lowest)

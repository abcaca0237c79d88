"""Routes of /api/events: find upcoming events, show one with its tickets for sale, create
one, edit it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter
from sqlalchemy import func, select

from services.common.clock import utc_now
from services.common.http.current_user import CurrentUserDep
from services.common.http.dependencies import ReadSessionsDep, UnitOfWorkDep
from services.common.http.ids import id_or_not_found
from services.common.identity.tokens import Role
from services.common.messaging.events import TicketStatus
from services.tickets import event_operations
from services.tickets.event_errors import EventNotFound
from services.tickets.event_rules import has_started
from services.tickets.event_schemas import EventIn, EventOut
from services.tickets.models import Event, Ticket
from services.tickets.schemas import TicketOut
from services.tickets.search import (
    Sort,
    event_sort_key,
    make_cursor,
    plan_for_these_words,
    search_events,
)
from services.tickets.search_query import MAX_SEARCH_PAGE, SearchQuery

router = APIRouter(prefix="/api/events", tags=["events"])

_PAGE = TypeAdapter(list[EventOut])


class EventWithTickets(EventOut):
    tickets: list[TicketOut]


@router.get("", response_model=list[EventOut])
async def find(
    read_sessions: ReadSessionsDep,
    search: Annotated[SearchQuery, Query()],
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_PAGE)] = 20,
) -> Response:
    """Upcoming events (not started), soonest first unless ``sort`` says otherwise, each
    with how many tickets are for sale and the lowest price (within ``minPrice`` and
    ``maxPrice`` when given: then only events with such a ticket). A page at a time: the
    next page's link is in the ``Link`` header."""
    filters = search.filters(limit=limit, default_sort=Sort.SOONEST)
    async with read_sessions() as session:
        dialect = session.get_bind().dialect.name
        await plan_for_these_words(session)
        rows = (await session.execute(search_events(filters, utc_now(), dialect))).all()
    page = rows[:limit]
    headers = {}
    if len(rows) > limit:
        event, _, lowest = page[-1]
        cursor = make_cursor(filters.sort, event_sort_key(filters, event, lowest), event.id)
        headers["Link"] = f'<{search.next_url(router.prefix, cursor, limit)}>; rel="next"'
    events = [EventOut.with_sales(event, for_sale, lowest) for event, for_sale, lowest in page]
    return Response(
        _PAGE.dump_json(events, by_alias=True), media_type="application/json", headers=headers
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

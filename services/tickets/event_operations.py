"""Every change to an event, each with the ticket events it raises in the caller's unit
of work (which the caller commits).

An event's name, place and start travel in its tickets' ``ticket.*`` events, so a change
to them re-announces each of its tickets (a new version, the new event data).
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import exists, select
from sqlalchemy.orm.attributes import flag_modified

from services.common.clock import as_utc
from services.common.data.unit_of_work import UnitOfWork
from services.common.messaging.events import TicketStatus
from services.tickets.event_errors import (
    EventNotFound,
    MergeIntoItself,
    NoSuchEvent,
    NotEventCreator,
    SoldEventEdit,
    StartedEventEdit,
)
from services.tickets.event_rules import has_started
from services.tickets.event_schemas import EventIn
from services.tickets.events import ticket_updated
from services.tickets.models import Event, Ticket
from services.tickets.search import event_search_text, fold, ticket_search_text


def _apply(event: Event, body: EventIn) -> None:
    event.name = body.name
    event.venue = body.venue
    event.city = body.city
    # In UTC: SQLite keeps a datetime's wall time and drops its offset.
    event.starts_at = as_utc(body.starts_at)
    event.ends_at = None if body.ends_at is None else as_utc(body.ends_at)
    event.utc_offset_minutes = body.utc_offset_minutes
    event.description = body.description or None
    event.search_text = event_search_text(event)
    event.city_key = fold(body.city)


async def create_event(uow: UnitOfWork, creator_id: UUID, body: EventIn) -> Event:
    event = Event(user_id=creator_id)
    _apply(event, body)
    uow.session.add(event)
    await uow.session.flush()
    return event


async def event_for_ticket(uow: UnitOfWork, event_id: UUID) -> Event:
    """The event a ticket is listed for: NoSuchEvent if there is none."""
    event = await uow.session.get(Event, event_id)
    if event is None:
        raise NoSuchEvent()
    return event


async def _reannounce_tickets(uow: UnitOfWork, event: Event) -> list[Ticket]:
    """Its tickets carry the event's data in their own events: each gets a new version
    and a ``ticket.updated``."""
    tickets = list(await uow.session.scalars(select(Ticket).where(Ticket.event_id == event.id)))
    for ticket in tickets:
        ticket.event = event
        ticket.search_text = ticket_search_text(ticket, event)
        flag_modified(ticket, "search_text")  # a new version even when the text is the same
    await uow.session.flush()
    for ticket in tickets:
        uow.publish(ticket_updated(ticket))
    return tickets


async def edit_event(
    uow: UnitOfWork, event_id: UUID, editor_id: UUID, *, is_admin: bool, body: EventIn
) -> Event:
    """Its creator's or an admin's edit, while it has not started and none of its tickets
    is sold."""
    event = await uow.session.get(Event, event_id)
    if event is None:
        raise EventNotFound()
    if event.user_id != editor_id and not is_admin:
        raise NotEventCreator()
    if has_started(event):
        raise StartedEventEdit()
    sold = await uow.session.scalar(
        select(exists().where(Ticket.event_id == event.id, Ticket.status == TicketStatus.SOLD))
    )
    if sold:
        raise SoldEventEdit()
    _apply(event, body)
    await uow.session.flush()
    await _reannounce_tickets(uow, event)
    return event


async def merge_events(uow: UnitOfWork, keep_id: UUID, duplicate_id: UUID) -> int:
    """Moves every ticket of ``duplicate_id`` to ``keep_id`` and deletes the duplicate;
    answers how many tickets moved. EventNotFound if either is missing."""
    if keep_id == duplicate_id:
        raise MergeIntoItself()
    keep = await uow.session.get(Event, keep_id)
    duplicate = await uow.session.get(Event, duplicate_id)
    if keep is None or duplicate is None:
        raise EventNotFound(f"Event {keep_id if keep is None else duplicate_id} not found")
    moved = list(await uow.session.scalars(select(Ticket).where(Ticket.event_id == duplicate.id)))
    for ticket in moved:
        ticket.event_id = keep.id
        ticket.event = keep
        ticket.search_text = ticket_search_text(ticket, keep)
    await uow.session.flush()
    for ticket in moved:
        uow.publish(ticket_updated(ticket))
    await uow.session.delete(duplicate)
    await uow.session.flush()
    return len(moved)

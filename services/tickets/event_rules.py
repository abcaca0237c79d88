"""When a ticket's event has started: from then on the ticket sells nothing, and nobody
lists or edits a ticket for it. The tickets service is the authority on this."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_

from services.common.clock import as_utc, utc_now
from services.tickets.event_errors import EventPassed
from services.tickets.models import Event, Ticket


def has_started(event: Event | None, now: datetime | None = None) -> bool:
    return event is not None and as_utc(event.starts_at) <= (now or utc_now())


def not_started(now: datetime) -> ColumnElement[bool]:
    """A ticket's condition: no event (no date given), or one still to start."""
    return or_(
        Ticket.event_id.is_(None),
        exists().where(Event.id == Ticket.event_id, Event.starts_at > now),
    )


def refuse_started(event: Event | None) -> None:
    """Listing or editing a ticket for an event that has started: a field error."""
    if has_started(event):
        raise EventPassed()

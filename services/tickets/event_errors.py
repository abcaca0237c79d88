"""How the tickets service refuses about events (services.common.errors says how each kind
is answered)."""

from __future__ import annotations

from services.common.errors import InvalidInput, Missing, NotPermitted, StateConflict


class EventNotFound(Missing):
    default_message = "Event not found"


class NoSuchEvent(InvalidInput):
    """A ticket listed for an event that does not exist."""

    default_message = "No such event"
    default_field = "eventId"


class EventPassed(InvalidInput):
    """Listing or editing a ticket for an event that has started."""

    default_message = "Event has already started"
    default_field = "eventId"


class EventStarted(StateConflict):
    """Reserving a ticket whose event has started: a business refusal, like a ticket
    another order holds."""

    default_message = "Event has started"


class NotEventCreator(NotPermitted):
    default_message = "You did not create this event"


class StartedEventEdit(StateConflict):
    default_message = "Cannot edit an event that has started"


class SoldEventEdit(StateConflict):
    default_message = "Cannot edit an event with sold tickets"


class MergeIntoItself(InvalidInput):
    default_message = "Cannot merge an event into itself"


class BadSearch(InvalidInput):
    """A search parameter that is not one the search takes."""

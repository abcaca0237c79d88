"""The event catalogue: the typed contract between services.

Every event carries its own id (``event_id``, also the ``Nats-Msg-Id`` that lets the
stream drop a republished copy) and the version of the entity it describes, so that a
consumer can apply events in order and ignore ones it has already applied.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from services.common.clock import utc_now


class Subject(StrEnum):
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_BANNED = "user.banned"
    USER_SESSIONS_REVOKED = "user.sessions_revoked"
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    ORDER_CREATED = "order.created"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_EXPIRED = "order.expired"
    ORDER_COMPLETED = "order.completed"
    CHARGE_CREATED = "charge.created"


# The stream holds every subject of the catalogue.
STREAM_SUBJECTS = ["user.*", "ticket.*", "order.*", "charge.*"]


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    subject: ClassVar[Subject]
    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=utc_now)
    version: int


class UserCreated(Event):
    subject = Subject.USER_CREATED
    user_id: UUID
    email: str


class UserUpdated(Event):
    subject = Subject.USER_UPDATED
    user_id: UUID
    email: str


class UserBanned(Event):
    subject = Subject.USER_BANNED
    user_id: UUID
    # Every token of this user that could still be valid expires before this instant,
    # so a service may forget the ban after it.
    banned_until: datetime


class UserSessionsRevoked(Event):
    """Sign-out (one session), sign-out everywhere or a password change (several): every
    service refuses these sessions' tokens. ``version`` is the user's, unchanged by a
    sign-out; revocations commute, so they apply in any order."""

    subject = Subject.USER_SESSIONS_REVOKED
    user_id: UUID
    session_ids: list[UUID]
    # Every token of these sessions expires before this instant, so a service may forget
    # them after it.
    revoked_until: datetime


class TicketStatus(StrEnum):
    AVAILABLE = "available"
    RESERVED = "reserved"
    SOLD = "sold"


class EventOfTicket(BaseModel):
    """The dated event a ticket is for (an event at a venue, not a message)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID
    name: str
    venue: str
    city: str
    # The instant it starts (UTC): from then on the ticket is not for sale.
    starts_at: datetime


class TicketOfEvent(Event):
    """Added after the first release: older messages lack it (None), older consumers
    ignore it. None also for a ticket listed without an event (no date given)."""

    event: EventOfTicket | None = None


class TicketCreated(TicketOfEvent):
    subject = Subject.TICKET_CREATED
    ticket_id: UUID
    title: str
    price_cents: int
    user_id: UUID
    status: TicketStatus = TicketStatus.AVAILABLE
    order_id: UUID | None = None


class TicketUpdated(TicketOfEvent):
    subject = Subject.TICKET_UPDATED
    ticket_id: UUID
    title: str
    price_cents: int
    user_id: UUID
    status: TicketStatus
    order_id: UUID | None


class OrderCreated(Event):
    subject = Subject.ORDER_CREATED
    order_id: UUID
    user_id: UUID
    ticket_id: UUID
    price_cents: int
    # An order status (``workflows.contracts.OrderStatus``): the shared library names no
    # saga, so the consumer reads it into the enum.
    status: str
    expires_at: datetime


class OrderCancelled(Event):
    subject = Subject.ORDER_CANCELLED
    order_id: UUID
    ticket_id: UUID


class OrderExpired(Event):
    subject = Subject.ORDER_EXPIRED
    order_id: UUID
    ticket_id: UUID


class OrderCompleted(Event):
    subject = Subject.ORDER_COMPLETED
    order_id: UUID
    ticket_id: UUID


class ChargeCreated(Event):
    subject = Subject.CHARGE_CREATED
    charge_id: UUID
    order_id: UUID
    amount_cents: int
    stripe_id: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.subject.value: cls
    for cls in (
        UserCreated,
        UserUpdated,
        UserBanned,
        UserSessionsRevoked,
        TicketCreated,
        TicketUpdated,
        OrderCreated,
        OrderCancelled,
        OrderExpired,
        OrderCompleted,
        ChargeCreated,
    )
}


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()


def decode(subject: str, data: bytes) -> Event:
    """Parse a message of the stream; raises KeyError or ValidationError on poison."""
    return EVENT_TYPES[subject].model_validate_json(data)

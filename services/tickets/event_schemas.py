"""Request and response bodies of /api/events, and the event as a ticket's answer shows it.

An event's times travel with their UTC offset (ISO 8601, ``2027-03-14T20:00:00+01:00``):
the instant is stored in UTC, the offset the start was given with is kept, and every
answer gives the times in the event's own local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Annotated, Any, overload
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    with_config,
)
from pydantic.alias_generators import to_camel
from sqlalchemy import Row

from services.common.clock import as_utc, utc_now
from services.common.http.schemas import ApiModel
from services.common.money import PriceOutput, from_cents
from services.tickets.models import Event

STARTS_IN_THE_PAST = "Event must start in the future"
ENDS_BEFORE_START = "Event must end after it starts"


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("Must not be blank")
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_not_blank)
]
City = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_not_blank)
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


def _in_the_future(moment: datetime) -> datetime:
    if moment <= utc_now():
        raise ValueError(STARTS_IN_THE_PAST)
    return moment


class EventIn(ApiModel):
    name: Name = Field(description="What the event is, e.g. the artist or the match.")
    venue: Name = Field(description="Where it takes place.")
    city: City
    starts_at: Annotated[AwareDatetime, AfterValidator(_in_the_future)] = Field(
        description="ISO 8601 with the UTC offset of the event's local time; in the future."
    )
    ends_at: AwareDatetime | None = Field(default=None, description="After startsAt.")
    description: Description | None = None

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime | None, info: ValidationInfo) -> datetime | None:
        starts_at = info.data.get("starts_at")  # absent when it was invalid itself
        if ends_at is not None and starts_at is not None and ends_at <= starts_at:
            raise ValueError(ENDS_BEFORE_START)
        return ends_at

    @property
    def utc_offset_minutes(self) -> int:
        offset = self.starts_at.utcoffset()
        return 0 if offset is None else int(offset.total_seconds() // 60)


@overload
def local_time(moment: datetime, offset_minutes: int) -> datetime: ...
@overload
def local_time(moment: None, offset_minutes: int) -> None: ...
@overload
def local_time(moment: datetime | None, offset_minutes: int) -> datetime | None: ...
def local_time(moment: datetime | None, offset_minutes: int) -> datetime | None:
    """A stored instant in the event's local time (SQLite hands it back without a zone:
    it was stored in UTC)."""
    if moment is None:
        return None
    return as_utc(moment).astimezone(_zone(offset_minutes))


@cache
def _zone(offset_minutes: int) -> timezone:
    # A listing converts two times per event: the zone is made once per offset.
    return timezone(timedelta(minutes=offset_minutes))


class EventSummary(ApiModel):
    """The event as a ticket's answer carries it."""

    id: UUID
    name: str
    venue: str
    city: str
    starts_at: datetime
    ends_at: datetime | None

    @classmethod
    def of(cls, event: Event) -> EventSummary:
        return cls.model_construct(
            id=event.id,
            name=event.name,
            venue=event.venue,
            city=event.city,
            starts_at=local_time(event.starts_at, event.utc_offset_minutes),
            ends_at=local_time(event.ends_at, event.utc_offset_minutes),
        )


class EventOut(EventSummary):
    description: str | None
    user_id: UUID = Field(description="Who created it.")
    version: int
    tickets_for_sale: int = Field(description="How many of its tickets are for sale.")
    lowest_price: PriceOutput | None = Field(description="The cheapest ticket for sale.")

    @classmethod
    def with_sales(  # the listing's row: the event and its tickets for sale
        cls, event: Event, for_sale: int, lowest_cents: int | None
    ) -> EventOut:
        return cls.model_construct(
            **EventSummary.of(event).__dict__,
            description=event.description,
            user_id=event.user_id,
            version=event.version,
            tickets_for_sale=for_sale,
            lowest_price=None if lowest_cents is None else from_cents(lowest_cents),
        )


@with_config(ConfigDict(alias_generator=to_camel))
@dataclass(slots=True)
class EventListing:
    """``EventOut`` as the search's page serialises it, from a row of plain columns: the
    same fields in the same order, of the same types, so the same JSON, without the cost
    of a model instance per event (``test_event_listing`` holds the two together)."""

    id: UUID
    name: str
    venue: str
    city: str
    starts_at: datetime
    ends_at: datetime | None
    description: str | None
    user_id: UUID
    version: int
    tickets_for_sale: int
    lowest_price: PriceOutput | None


EVENT_LISTINGS = TypeAdapter(list[EventListing])


def event_listing(row: Row[Any]) -> EventListing:
    """A row with the event's columns, ``for_sale`` and ``lowest`` (cents)."""
    offset = row.utc_offset_minutes
    return EventListing(
        id=row.id,
        name=row.name,
        venue=row.venue,
        city=row.city,
        starts_at=local_time(row.starts_at, offset),
        ends_at=local_time(row.ends_at, offset),
        description=row.description,
        user_id=row.user_id,
        version=row.version,
        tickets_for_sale=row.for_sale,
        lowest_price=None if row.lowest is None else from_cents(row.lowest),
    )

"""Finding events and tickets: full-text words, city, dates, price, in one of three orders,
a page at a time.

Words are matched by the database's own full-text index over folded text (lower case, no
accents): on PostgreSQL a GIN index over ``to_tsvector('simple', search_text)``, on SQLite
an FTS5 table (see migration 0005). Each word of the query matches as a prefix, so a
seller typing "berl" already finds Berlin. The query is folded and cut into words here,
each word made only of letters and digits, and bound as a parameter: nothing the visitor
types reaches the SQL text, and its length is bounded (``MAX_QUERY``, ``MAX_WORDS``).

Pages are cut by keyset (``cursor``: the last row's sort key and id), so a page costs the
same however deep it is. The tickets' search is built here per request; the events' search,
the busier one, is built once per shape of query (``event_search``).
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import contains_eager
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from services.common.clock import as_utc
from services.common.messaging.events import TicketStatus
from services.tickets.event_errors import BadSearch
from services.tickets.models import Event, Ticket

MAX_QUERY = 100
MAX_WORDS = 8
MAX_PAGE = 100


def fold(*texts: str | None) -> str:
    """Lower case, accents removed, only letters and digits, one space between words:
    the text every full-text index reads and every query is compared in."""
    joined = " ".join(part for part in texts if part)
    decomposed = unicodedata.normalize("NFKD", joined.casefold())
    kept = "".join(
        char if char.isalnum() else " " for char in decomposed if not unicodedata.combining(char)
    )
    return " ".join(kept.split())


def words(query: str) -> list[str]:
    return fold(query).split()[:MAX_WORDS]


def event_search_text(event: Event) -> str:
    return fold(event.name, event.venue, event.city)[:600]


def ticket_search_text(ticket: Ticket, event: Event | None) -> str:
    if event is None:
        return fold(ticket.title)[:800]
    return fold(ticket.title, event.name, event.venue, event.city)[:800]


class Sort(StrEnum):
    SOONEST = "soonest"
    CHEAPEST = "cheapest"
    NEWEST = "newest"


@dataclass(frozen=True)
class Filters:
    """What a visitor asked for, validated (``Filters.parse``)."""

    words: tuple[str, ...] = ()
    city: str | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None
    min_cents: int | None = None
    max_cents: int | None = None
    sort: Sort = Sort.SOONEST
    after: tuple[Any, UUID] | None = None
    limit: int = 20

    @classmethod
    def parse(
        cls,
        *,
        q: str | None = None,
        city: str | None = None,
        start_from: datetime | None = None,
        start_to: datetime | None = None,
        min_price: Decimal | None = None,
        max_price: Decimal | None = None,
        sort: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> Filters:
        """BadSearch naming the field at fault."""
        if q is not None and len(q) > MAX_QUERY:
            raise BadSearch(f"Search is at most {MAX_QUERY} characters", field="q")
        if city is not None and len(city) > 100:
            raise BadSearch("City is at most 100 characters", field="city")
        try:
            order = Sort(sort or Sort.SOONEST)
        except ValueError:
            raise BadSearch("Sort is one of soonest, cheapest, newest", field="sort") from None
        for name, moment in (("from", start_from), ("to", start_to)):
            if moment is not None and moment.tzinfo is None:
                raise BadSearch(f"{name} must give its UTC offset", field=name)
        if start_from is not None and start_to is not None and start_from > start_to:
            raise BadSearch("from must not be after to", field="from")
        for name, price in (("minPrice", min_price), ("maxPrice", max_price)):
            if price is not None and (not price.is_finite() or price < 0 or price > 10**6):
                raise BadSearch(f"{name} must be between 0 and 1000000", field=name)
        if min_price is not None and max_price is not None and min_price > max_price:
            raise BadSearch("minPrice must not be above maxPrice", field="minPrice")
        return cls(
            words=tuple(words(q or "")),
            city=fold(city) or None if city else None,
            start_from=as_utc(start_from) if start_from else None,
            start_to=as_utc(start_to) if start_to else None,
            min_cents=None if min_price is None else int(min_price * 100),
            max_cents=None if max_price is None else int(max_price * 100),
            sort=order,
            after=None if cursor is None else _read_cursor(cursor, order),
            limit=limit,
        )


_PLAN_FOR_THESE_WORDS = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def plan_for_these_words(reader: AsyncSession | AsyncConnection) -> None:
    """On PostgreSQL, plan this transaction's searches for their own values: after a few
    runs a prepared statement gets one plan for any value, and a plan made without
    knowing the words reads the events in date order testing each one, which is slow for
    a word that matches nothing (50 ms instead of 1.5 ms over 5,000 events)."""
    dialect = reader.get_bind().dialect if isinstance(reader, AsyncSession) else reader.dialect
    if dialect.name == "postgresql":
        await reader.execute(_PLAN_FOR_THESE_WORDS)


# --- cursors ---------------------------------------------------------------------------

BAD_CURSOR = "Cursor is not one this search gave"


def _read_cursor(cursor: str, order: Sort) -> tuple[Any, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort, key, row_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if sort != order:
            raise ValueError(sort)
        value: Any = int(key) if order is Sort.CHEAPEST else as_utc(datetime.fromisoformat(key))
        return value, UUID(row_id)
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise BadSearch(BAD_CURSOR, field="cursor") from None


def make_cursor(order: Sort, key: Any, row_id: UUID) -> str:
    value = key if order is Sort.CHEAPEST else as_utc(key).isoformat()
    raw = json.dumps([order.value, value, str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


# --- matching --------------------------------------------------------------------------


def word_match(found: list[str] | tuple[str, ...], dialect: str) -> str:
    """The query's words as the dialect's full-text index reads them, each a prefix; the
    words hold only letters and digits (``fold``), so nothing else reaches the index."""
    if dialect == "postgresql":
        return " & ".join(f"{word}:*" for word in found)
    return " ".join(f'"{word}"*' for word in found)


def matches(
    table_name: str, id_column: Any, search_text: Any, dialect: str, match: BindParameter[str]
) -> ColumnElement[bool]:
    """The full-text condition in the dialect's own index, for ``match`` (a bound
    ``word_match``: given now, or at each execution of a statement built once)."""
    if dialect == "postgresql":
        if table_name == "tickets":
            # Nothing else orders tickets by an index: the planner reads the GIN index.
            direct: ColumnElement[bool] = func.to_tsvector(
                literal_column("'simple'::regconfig"), search_text
            ).bool_op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), match))
            return direct
        # Events are ordered by an index of their own; their matches as a set of their
        # own keeps the planner reading the GIN index once, instead of testing each row
        # of a date-ordered scan (slow when few or no rows match).
        index = text(
            f"SELECT id FROM {table_name} WHERE to_tsvector('simple'::regconfig, search_text)"
            f" @@ to_tsquery('simple'::regconfig, :{match.key})"
        )
        matched: ColumnElement[bool] = id_column.in_(index.bindparams(match).columns(column("id")))
        return matched
    key = "event_id" if table_name == "events" else "ticket_id"
    fts = text(f"SELECT {key} FROM {table_name}_fts WHERE {table_name}_fts MATCH :{match.key}")
    found_ids: ColumnElement[bool] = id_column.in_(fts.bindparams(match).columns(column(key)))
    return found_ids


def _not_started(now: datetime) -> ColumnElement[bool]:
    return Event.starts_at > now


def _for_sale(filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Ticket.status == TicketStatus.AVAILABLE]
    if filters.min_cents is not None:
        conditions.append(Ticket.price_cents >= filters.min_cents)
    if filters.max_cents is not None:
        conditions.append(Ticket.price_cents <= filters.max_cents)
    return conditions


def after_row(
    key: Any, row_id: Any, after: tuple[Any, Any], *, descending: bool = False
) -> ColumnElement[bool]:
    """Rows past the cursor's (``after``: its sort key and id, values or bound
    parameters) in the order of ``key`` then ``row_id``."""
    value, last_id = after
    if descending:
        return or_(key < value, and_(key == value, row_id < last_id))
    return or_(key > value, and_(key == value, row_id > last_id))


def search_tickets(filters: Filters, now: datetime, dialect: str) -> Select[Any]:
    """Tickets for sale matching the filters, none for an event that has started; a ticket
    without an event has no date, so a date filter or the soonest order leaves it last
    (or out). One more row than a page."""
    conditions: list[ColumnElement[bool]] = [
        *_for_sale(filters),
        or_(Ticket.event_id.is_(None), _not_started(now)),
    ]
    if filters.city is not None:
        conditions.append(Event.city_key == filters.city)
    if filters.start_from is not None:
        conditions.append(Event.starts_at >= filters.start_from)
    if filters.start_to is not None:
        conditions.append(Event.starts_at <= filters.start_to)
    if filters.words:
        match: BindParameter[str] = bindparam("words_match", word_match(filters.words, dialect))
        conditions.append(matches("tickets", Ticket.id, Ticket.search_text, dialect, match))
    statement = (
        select(Ticket)
        .outerjoin(Event, Ticket.event_id == Event.id)
        .options(contains_eager(Ticket.event))
    )
    if filters.sort is Sort.SOONEST:
        # Tickets without a date come after every dated one: only dated ones are ordered
        # by date here, so undated ones have no place in this order.
        conditions.append(Ticket.event_id.is_not(None))
        if filters.after is not None:
            conditions.append(after_row(Event.starts_at, Ticket.id, filters.after))
        statement = statement.order_by(Event.starts_at, Ticket.id)
    elif filters.sort is Sort.NEWEST:
        if filters.after is not None:
            conditions.append(
                after_row(Ticket.created_at, Ticket.id, filters.after, descending=True)
            )
        statement = statement.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    else:
        if filters.after is not None:
            conditions.append(after_row(Ticket.price_cents, Ticket.id, filters.after))
        statement = statement.order_by(Ticket.price_cents, Ticket.id)
    return statement.where(*conditions).limit(filters.limit + 1)


def ticket_sort_key(filters: Filters, ticket: Ticket) -> Any:
    if filters.sort is Sort.SOONEST:
        assert ticket.event is not None
        return ticket.event.starts_at
    if filters.sort is Sort.NEWEST:
        return ticket.created_at
    return ticket.price_cents

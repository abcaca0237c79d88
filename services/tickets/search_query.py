"""The search parameters of GET /api/events and GET /api/tickets, as one query model."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from pydantic import Field

from services.common.http.schemas import ApiModel
from services.tickets.event_errors import BadSearch
from services.tickets.search import MAX_QUERY, Filters, Sort

MAX_SEARCH_PAGE = 100


def _moment(raw: str | None, field: str, *, next_day: bool = False) -> datetime | None:
    """ISO 8601 with its offset, or a bare date: its whole day in UTC (from its start, to
    its last instant). BadSearch naming the field otherwise."""
    if raw is None:
        return None
    try:
        if len(raw) == len("2027-03-14"):
            day = datetime.combine(date.fromisoformat(raw), time(), tzinfo=UTC)
            return day + timedelta(days=1, microseconds=-1) if next_day else day
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadSearch(f"{field} is not a date or an ISO 8601 time", field=field) from None
    if moment.tzinfo is None:
        raise BadSearch(f"{field} must give its UTC offset", field=field)
    return moment


class SearchQuery(ApiModel):
    q: str | None = Field(
        default=None,
        description=f"Words to find in the event's name, venue and city (and the ticket's "
        f"title); case and accents do not matter, each word matches as a prefix. At most "
        f"{MAX_QUERY} characters.",
    )
    city: str | None = Field(default=None, description="The event's city, exactly (any case).")
    start_from: str | None = Field(
        default=None,
        max_length=40,
        alias="from",
        description="Events starting at or after this (ISO 8601 with offset, or a date).",
    )
    start_to: str | None = Field(
        default=None,
        max_length=40,
        alias="to",
        description="Events starting at or before this (ISO 8601 with offset, or a date: "
        "its whole day).",
    )
    min_price: Decimal | None = Field(default=None, description="Tickets at this price or more.")
    max_price: Decimal | None = Field(default=None, description="Tickets at this price or less.")
    sort: str | None = Field(
        default=None, description="soonest (events' default), cheapest, or newest."
    )
    cursor: str | None = Field(
        default=None, max_length=400, description="The next page, from the Link header."
    )

    @property
    def given(self) -> bool:
        return bool(self.model_fields_set)

    def filters(self, *, limit: int, default_sort: Sort) -> Filters:
        return Filters.parse(
            q=self.q,
            city=self.city,
            start_from=_moment(self.start_from, "from"),
            start_to=_moment(self.start_to, "to", next_day=True),
            min_price=self.min_price,
            max_price=self.max_price,
            sort=self.sort or default_sort,
            cursor=self.cursor,
            limit=limit,
        )

    def next_url(self, path: str, cursor: str, limit: int) -> str:
        params = {
            key: value
            for key, value in self.model_dump(by_alias=True, mode="json", exclude_none=True).items()
            if key != "cursor"
        }
        return f"{path}?{urlencode({**params, 'limit': limit, 'cursor': cursor})}"

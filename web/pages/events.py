"""Events in the shop: the search on the front page, an event's page (its tickets cheapest
first), creating an event, and the events a seller picks from while typing (htmx).

Every page works without JavaScript: the search is a GET form, the sell form offers the
upcoming events in a plain select; htmx only narrows that select as the seller types.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from web.api_client import Api, api_error
from web.dependencies import ApiDep
from web.rendering import ENVIRONMENT, fragment, page, parse_time, redirect, safe_next, signin_url

router = APIRouter()

# What the front page's search form sends on to GET /api/events.
SEARCH_FIELDS = ("q", "city", "from", "to", "minPrice", "maxPrice", "sort", "cursor")
SORTS = {"soonest": "Soonest", "cheapest": "Cheapest", "newest": "Newly added"}
PICKER_SIZE = 50


def when(event: dict[str, Any] | None, *, city: bool = True) -> str:
    """An event's start as a person reads it, in the event's own local time:
    ``Sat 14 Mar 2027, 20:00, Berlin``; "Date not given" for a ticket without an event."""
    if not event:
        return "Date not given"
    starts = parse_time(event.get("startsAt"))
    if starts is None:
        return "Date not given"
    text = f"{starts:%a} {starts.day} {starts:%b %Y, %H:%M}"
    return f"{text}, {event.get('city', '')}" if city else text


ENVIRONMENT.filters["when"] = when


def this_weekend(today: date) -> tuple[date, date]:
    """The coming Saturday and Sunday (this one, from Saturday or Sunday)."""
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    if today.weekday() == 6:
        saturday = today - timedelta(days=1)
    return saturday, saturday + timedelta(days=1)


def _next_cursor(link: str) -> str | None:
    if 'rel="next"' not in link:
        return None
    url = link[link.index("<") + 1 : link.index(">")]
    return parse_qs(urlsplit(url).query).get("cursor", [None])[0]


async def front_page_events(api: Api, query: QueryParams) -> dict[str, Any]:
    """The front page's events: the visitor's search, the API's answer, and the errors it
    named by field."""
    search = {name: query.get(name, "").strip() for name in SEARCH_FIELDS}
    if query.get("when") == "weekend":
        saturday, sunday = this_weekend(datetime.now(UTC).date())
        search["from"], search["to"] = saturday.isoformat(), sunday.isoformat()
    params = {name: value for name, value in search.items() if value}
    found = await api.call("GET", "/api/events", params=params)
    errors: dict[str, str] = {}
    events: list[dict[str, Any]] = []
    if found.status_code == 200:
        events = found.json()
    elif found.status_code == 400:
        errors = api_error(found).fields
    cursor = _next_cursor(found.headers.get("link", ""))
    more = None
    if cursor is not None:
        more = "/?" + urlencode(
            {**{k: v for k, v in params.items() if k != "cursor"}, "cursor": cursor}
        )
    return {
        "events": events,
        "search": search,
        "search_errors": errors,
        "searching": any(search[name] for name in SEARCH_FIELDS if name != "cursor"),
        "sorts": SORTS,
        "more_events": more,
        "weekend": query.get("when") == "weekend",
    }


async def event_choices(api: Api, q: str = "") -> list[dict[str, Any]]:
    """Upcoming events a seller may list a ticket for, matching what they typed."""
    params: dict[str, Any] = {"limit": PICKER_SIZE}
    if q.strip():
        params["q"] = q.strip()[:100]
    found = await api.call("GET", "/api/events", params=params)
    return found.json() if found.status_code == 200 else []


@router.get("/events/choices")
async def choices(
    api: ApiDep,
    event_query: Annotated[str, Query(alias="eventQuery", max_length=200)] = "",
    selected: Annotated[str, Query(alias="eventId", max_length=64)] = "",
) -> Response:
    """The sell form's event select, narrowed to what the seller typed (htmx)."""
    return fragment(
        api,
        "_event_choices.html",
        events=await event_choices(api, event_query),
        selected=selected,
        event_query=event_query,
    )


@router.get("/events/new")
async def new_event_form(
    request: Request, api: ApiDep, next_path: Annotated[str, Query(alias="next")] = ""
) -> Response:
    user = await api.current_user()
    if user is None:
        return redirect(api, signin_url("/events/new"))
    return page(
        request,
        api,
        "event_new.html",
        user=user,
        values={},
        errors={},
        messages=[],
        next_path=safe_next(next_path, ""),
        offsets=UTC_OFFSETS,
    )


def _with_offset(local: str, offset: str) -> str:
    """The form's local date and time (``2027-03-14T20:00``) with the chosen UTC offset."""
    return f"{local}:00{offset}" if local and len(local) == len("2027-03-14T20:00") else local


@router.post("/events/new")
async def create_event(
    request: Request,
    api: ApiDep,
    name: Annotated[str, Form()] = "",
    venue: Annotated[str, Form()] = "",
    city: Annotated[str, Form()] = "",
    starts_at: Annotated[str, Form(alias="startsAt")] = "",
    utc_offset: Annotated[str, Form(alias="utcOffset")] = "+00:00",
    next_path: Annotated[str, Form(alias="next")] = "",
) -> Response:
    if not api.signed_in:
        return redirect(api, signin_url("/events/new"))
    offset = utc_offset if utc_offset in UTC_OFFSETS else "+00:00"
    created = await api.call(
        "POST",
        "/api/events",
        json={
            "name": name,
            "venue": venue,
            "city": city,
            "startsAt": _with_offset(starts_at, offset),
        },
    )
    if created.status_code == 201:
        event_id = created.json()["id"]
        target = safe_next(next_path, "")
        if target:
            joiner = "&" if "?" in target else "?"
            return redirect(api, f"{target}{joiner}eventId={quote(event_id, safe='')}")
        return redirect(api, f"/events/{quote(event_id, safe='')}")
    if created.status_code == 401:
        return redirect(api, signin_url("/events/new"))
    error = api_error(created)
    return page(
        request,
        api,
        "event_new.html",
        user=await api.current_user(),
        status_code=400 if created.status_code < 500 else created.status_code,
        values={
            "name": name,
            "venue": venue,
            "city": city,
            "startsAt": starts_at,
            "utcOffset": offset,
        },
        errors=error.fields,
        messages=error.messages,
        next_path=safe_next(next_path, ""),
        offsets=UTC_OFFSETS,
    )


@router.get("/events/{event_id}")
async def show_event(request: Request, api: ApiDep, event_id: str) -> Response:
    user, shown = await _user_and(api, api.call("GET", f"/api/events/{quote(event_id, safe='')}"))
    if shown.status_code != 200:
        raise HTTPException(404)
    return page(request, api, "event.html", user=user, event=shown.json())


async def _user_and(api: Api, call: Any) -> tuple[dict[str, Any] | None, Any]:
    user, answered = await asyncio.gather(api.current_user(), call)
    return user, answered


# The offsets the create form offers (the event's local time), west to east.
UTC_OFFSETS = tuple(
    f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    for minutes in sorted({*range(-12 * 60, 14 * 60 + 1, 60), 330, 345, 570, 630})
)

"""Tickets: the list for sale (``/``), selling one, a ticket's page, its edit and Buy."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from web.api_client import Api, ApiError, api_error
from web.dependencies import ApiDep
from web.messages import field_sentences, parse_price, refused_for_now, said_better, title_problem
from web.pages.events import event_choices, front_page_events
from web.rendering import (
    AWAITING_PAYMENT,
    COMPLETE,
    clock,
    page,
    price_text,
    redirect,
    signin_url,
    with_notice,
)

router = APIRouter()

# A ticket form's fields in page order: focus goes to the first one in error.
FIELDS = ("title", "price")
# The API's words when a ticket someone is paying for is bought.
TICKET_RESERVED = "Ticket is already reserved"


def _first_in_error(errors: dict[str, str]) -> str:
    return next((name for name in FIELDS if name in errors), FIELDS[0])


def _form_check(title: str, price: str) -> tuple[dict[str, str], dict[str, str]]:
    """(the body for the API, the plain mistakes found before asking it)."""
    problems = {}
    if problem := title_problem(title):
        problems["title"] = problem
    amount, problem = parse_price(price)
    if problem:
        problems["price"] = problem
    return {"title": title.strip(), "price": amount}, problems


def _refusal(response: httpx.Response, error: ApiError) -> tuple[dict[str, str], list[str]]:
    """(field errors, other messages) of a refused form, as the shop says them."""
    if response.status_code in (429, 503):
        return {}, [refused_for_now(response, error.message)]
    fields = error.fields
    return field_sentences(fields) if response.status_code == 400 else fields, [
        said_better(message) for message in error.messages
    ]


PAGE_SIZE = 20
MAX_PAGE = 500


@router.get("/")
async def for_sale(
    request: Request, api: ApiDep, page_number: Annotated[int, Query(alias="page", ge=1)] = 1
) -> Response:
    page_number = min(page_number, MAX_PAGE)
    user, listed, found = await asyncio.gather(
        api.current_user(),
        api.call(
            "GET",
            "/api/tickets",
            params={"limit": PAGE_SIZE, "offset": (page_number - 1) * PAGE_SIZE},
        ),
        front_page_events(api, request.query_params),
    )
    tickets = listed.json() if listed.status_code == 200 else []
    return page(
        request,
        api,
        "index.html",
        user=user,
        tickets=tickets,
        page_number=page_number,
        has_next='rel="next"' in listed.headers.get("link", ""),
        **found,
    )


@router.get("/tickets/new")
async def new_form(
    request: Request,
    api: ApiDep,
    event_id: Annotated[str, Query(alias="eventId", max_length=64)] = "",
) -> Response:
    user, events = await asyncio.gather(api.current_user(), event_choices(api))
    if user is None:
        return redirect(api, signin_url("/tickets/new"))
    return page(
        request,
        api,
        "ticket_new.html",
        user=user,
        values={"eventId": event_id},
        errors={},
        messages=[],
        events=events,
        focus="title",
    )


@router.post("/tickets/new")
async def create(
    request: Request,
    api: ApiDep,
    title: Annotated[str, Form()] = "",
    price: Annotated[str, Form()] = "",
    event_id: Annotated[str, Form(alias="eventId")] = "",
    section: Annotated[str, Form()] = "",
    row: Annotated[str, Form()] = "",
    seat: Annotated[str, Form()] = "",
) -> Response:
    if not api.signed_in:
        return redirect(api, signin_url("/tickets/new"))
    body, errors = _form_check(title, price)
    place = {"section": section, "row": row, "seat": seat}
    listing: dict[str, Any] = {**body, **{k: v.strip() for k, v in place.items() if v.strip()}}
    if event_id:
        listing["eventId"] = event_id
    messages: list[str] = []
    status_code = 400
    if not errors:
        created = await api.call("POST", "/api/tickets", json=listing)
        if created.status_code == 201:
            return redirect(api, with_notice(f"/tickets/{created.json()['id']}", "listed"))
        if created.status_code == 401:
            return redirect(api, signin_url("/tickets/new"))
        errors, messages = _refusal(created, api_error(created))
        status_code = created.status_code
    return page(
        request,
        api,
        "ticket_new.html",
        user=await api.current_user(),
        status_code=status_code,
        values={"title": title, "price": price, "eventId": event_id, **place},
        errors=errors,
        messages=messages,
        focus=_first_in_error(errors),
        events=await event_choices(api),
    )


async def _ticket(api: Api, ticket_id: str) -> dict[str, Any]:
    shown = await api.call("GET", f"/api/tickets/{quote(ticket_id, safe='')}")
    if shown.status_code != 200:
        raise HTTPException(404)
    ticket: dict[str, Any] = shown.json()
    return ticket


async def ticket_status(
    api: Api, ticket: dict[str, Any], user: dict[str, Any] | None
) -> tuple[str, str | None, dict[str, Any] | None]:
    """(status, reserved until, the viewer's own order for it).

    Status is ``available``, ``reserved``, ``sold``, or ``unavailable`` (reserved or
    sold, when the API does not tell this viewer which)."""
    if ticket.get("status"):
        return str(ticket["status"]), ticket.get("reservedUntil"), None
    if ticket.get("orderId") is None:
        return "available", None, None
    if user is None:
        return "unavailable", None, None
    if user.get("id") == ticket.get("userId"):
        mine = await api.call("GET", "/api/tickets/mine")
        if mine.status_code == 200:
            for own in mine.json():
                if own.get("id") == ticket.get("id") and own.get("status"):
                    return str(own["status"]), own.get("reservedUntil"), None
        return "unavailable", None, None
    orders = await api.call("GET", "/api/orders")
    if orders.status_code == 200:
        for order in orders.json():
            if order.get("id") == ticket.get("orderId"):
                if order.get("status") == COMPLETE:
                    return "sold", None, order
                if order.get("status") == AWAITING_PAYMENT:
                    return "reserved", order.get("expiresAt"), order
    return "unavailable", None, None


async def _ticket_page(
    request: Request,
    api: Api,
    ticket: dict[str, Any],
    *,
    status_code: int = 200,
    edit_values: dict[str, str] | None = None,
    edit_errors: dict[str, str] | None = None,
    edit_messages: list[str] | None = None,
    buy_messages: list[str] | None = None,
    buy_refused: bool = False,
    saved: bool = False,
) -> Response:
    user = await api.current_user()
    status, reserved_until, own_order = await ticket_status(api, ticket, user)
    edit_errors = edit_errors or {}
    return page(
        request,
        api,
        "ticket.html",
        user=user,
        status_code=status_code,
        ticket=ticket,
        status=status,
        reserved_until=reserved_until,
        own_order=own_order,
        is_seller=user is not None and user.get("id") == ticket.get("userId"),
        edit_values=edit_values
        or {"title": str(ticket.get("title", "")), "price": price_text(ticket.get("price"))},
        edit_errors=edit_errors,
        edit_messages=edit_messages or [],
        edit_focus=_first_in_error(edit_errors) if edit_errors else "",
        buy_messages=buy_messages or [],
        buy_refused=buy_refused,
        saved=saved,
    )


@router.get("/tickets/{ticket_id}")
async def show(
    request: Request, api: ApiDep, ticket_id: str, saved: Annotated[bool, Query()] = False
) -> Response:
    return await _ticket_page(request, api, await _ticket(api, ticket_id), saved=saved)


@router.post("/tickets/{ticket_id}/edit")
async def edit(
    request: Request,
    api: ApiDep,
    ticket_id: str,
    title: Annotated[str, Form()] = "",
    price: Annotated[str, Form()] = "",
) -> Response:
    here = f"/tickets/{quote(ticket_id, safe='')}"
    if not api.signed_in:
        return redirect(api, signin_url(here))
    body, errors = _form_check(title, price)
    if errors:
        return await _ticket_page(
            request,
            api,
            await _ticket(api, ticket_id),
            status_code=400,
            edit_values={"title": title, "price": price},
            edit_errors=errors,
        )
    edited = await api.call("PUT", f"/api/tickets/{quote(ticket_id, safe='')}", json=body)
    if edited.status_code == 200:
        return redirect(api, here + "?saved=true")
    if edited.status_code == 404:
        raise HTTPException(404)
    if edited.status_code == 401:
        return redirect(api, signin_url(here))
    error = api_error(edited)
    if edited.status_code == 409:
        # Reserved (or sold) meanwhile: the page says why editing waits, and the form
        # shows the ticket as it is, not the refused values.
        return await _ticket_page(request, api, await _ticket(api, ticket_id), status_code=409)
    errors, messages = _refusal(edited, error)
    return await _ticket_page(
        request,
        api,
        await _ticket(api, ticket_id),
        status_code=edited.status_code,
        edit_values={"title": title, "price": price},
        edit_errors=errors,
        edit_messages=messages,
    )


@router.post("/tickets/{ticket_id}/buy")
async def buy(request: Request, api: ApiDep, ticket_id: str) -> Response:
    here = f"/tickets/{quote(ticket_id, safe='')}"
    if not api.signed_in:
        return redirect(api, signin_url(here))
    ticket = await _ticket(api, ticket_id)
    ordered = await api.call("POST", "/api/orders", json={"ticketId": ticket["id"]})
    if ordered.status_code == 201:
        return redirect(api, f"/orders/{ordered.json()['id']}")
    if ordered.status_code == 401:
        return redirect(api, signin_url(here))
    error = api_error(ordered)
    ticket = await _ticket(api, ticket_id)
    if ordered.status_code in (429, 503):
        message = refused_for_now(ordered, error.message)
    elif error.message == TICKET_RESERVED:
        until = ticket.get("reservedUntil")
        message = (
            f"Someone else is paying for this ticket. If they have not paid by "
            f"{clock(until)}, it goes back on sale."
            if until
            else "Someone else is paying for this ticket right now. If they do not pay in "
            "time, it goes back on sale."
        )
    else:
        message = said_better(error.message)
    return await _ticket_page(
        request,
        api,
        ticket,
        status_code=ordered.status_code,
        buy_messages=[message],
        buy_refused=True,
    )

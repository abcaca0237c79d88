"""Tickets: the list for sale (``/``), selling one, a ticket's page, its edit and Buy."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from web.api_client import Api, api_error
from web.dependencies import ApiDep
from web.pages.events import event_choices, front_page_events
from web.rendering import AWAITING_PAYMENT, COMPLETE, page, price_text, redirect, signin_url

router = APIRouter()

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
    place = {"section": section, "row": row, "seat": seat}
    listing: dict[str, Any] = {"title": title, "price": price.strip()}
    listing.update({name: value.strip() for name, value in place.items() if value.strip()})
    if event_id:
        listing["eventId"] = event_id
    created = await api.call("POST", "/api/tickets", json=listing)
    if created.status_code == 201:
        return redirect(api, f"/tickets/{created.json()['id']}")
    if created.status_code == 401:
        return redirect(api, signin_url("/tickets/new"))
    error = api_error(created)
    return page(
        request,
        api,
        "ticket_new.html",
        user=await api.current_user(),
        status_code=400 if created.status_code < 500 else created.status_code,
        values={"title": title, "price": price, "eventId": event_id, **place},
        errors=error.fields,
        messages=error.messages,
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
    saved: bool = False,
) -> Response:
    user = await api.current_user()
    status, reserved_until, own_order = await ticket_status(api, ticket, user)
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
        edit_errors=edit_errors or {},
        edit_messages=edit_messages or [],
        buy_messages=buy_messages or [],
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
    edited = await api.call(
        "PUT", f"/api/tickets/{quote(ticket_id, safe='')}", json={"title": title, "price": price}
    )
    if edited.status_code == 200:
        return redirect(api, here + "?saved=true")
    if edited.status_code == 404:
        raise HTTPException(404)
    if edited.status_code == 401:
        return redirect(api, signin_url(here))
    error = api_error(edited)
    return await _ticket_page(
        request,
        api,
        await _ticket(api, ticket_id),
        status_code=edited.status_code,
        edit_values={"title": title, "price": price},
        edit_errors=error.fields,
        edit_messages=error.messages,
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
    return await _ticket_page(
        request,
        api,
        await _ticket(api, ticket_id),
        status_code=ordered.status_code,
        buy_messages=[error.message],
    )
